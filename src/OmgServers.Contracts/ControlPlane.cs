using System.Text.Json;
using System.Text.Json.Serialization;

namespace OmgServers.Contracts;

// Contract 2.4 (support) and 2.5 (developer): tenants, projects, stages, versions, images, deployments, permissions.
// Every string field of a request is at most 64 characters (contract 11), except image_id and free-form JSON.
// The enums carry a string converter so that the journal and node-to-node hops store names, not ordinals; on the
// wire WireJson's own enum converter (exact names, no integers) takes precedence.

/// <summary>Tenant-level permissions (TenantPermissionQualifierEnum, contract 6.5).</summary>
[JsonConverter(typeof(ExactEnumConverterFactory))]
public enum TenantPermissionQualifier { PROJECT_MANAGER, TENANT_VIEWER }

/// <summary>Project-level permissions (TenantProjectPermissionQualifierEnum, contract 6.5).</summary>
[JsonConverter(typeof(ExactEnumConverterFactory))]
public enum ProjectPermissionQualifier { STAGE_MANAGER, VERSION_MANAGER, PROJECT_VIEWER }

/// <summary>Stage-level permissions (TenantStagePermissionQualifierEnum, contract 6.5); STAGE_VIEWER is never checked.</summary>
[JsonConverter(typeof(ExactEnumConverterFactory))]
public enum StagePermissionQualifier { DEPLOYMENT_MANAGER, STAGE_VIEWER }

/// <summary>Which runtimes an image serves: both kinds, lobbies only or matches only.</summary>
[JsonConverter(typeof(ExactEnumConverterFactory))]
public enum ImageQualifier { UNIVERSAL, LOBBY, MATCH }

public sealed record DeletedResponse(bool Deleted);

// ---------------------------------------------------------------- support (2.4)

public sealed record CreateTenantResponse(long Id);

public sealed record CreateTenantAliasRequest([Required] long? TenantId, [NotBlank, MaxSize(64)] string? Alias);

public sealed record DeleteTenantRequest([NotBlank, MaxSize(64)] string? Tenant);

/// <summary>create-project of support and developer.</summary>
public sealed record CreateProjectRequest([NotBlank, MaxSize(64)] string? Tenant);

public sealed record CreateProjectResponse(long ProjectId, long StageId);

/// <summary>create-project-alias of support and developer.</summary>
public sealed record CreateProjectAliasRequest([NotBlank, MaxSize(64)] string? Tenant, [Required] long? ProjectId, [NotBlank, MaxSize(64)] string? Alias);

/// <summary>delete-project of support and developer.</summary>
public sealed record DeleteProjectRequest([NotBlank, MaxSize(64)] string? Tenant, [NotBlank, MaxSize(64)] string? Project);

public sealed record CreateDeveloperResponse(long UserId, string Password);

public sealed record DeleteDeveloperRequest([Required] long? UserId);

public sealed record CreateTenantPermissionsRequest(
    [NotBlank, MaxSize(64)] string? Tenant,
    [Required] long? UserId,
    [NotEmpty] IReadOnlyList<TenantPermissionQualifier>? PermissionsToCreate);

public sealed record CreateTenantPermissionsResponse(IReadOnlyList<TenantPermissionQualifier> CreatedPermissions);

public sealed record DeleteTenantPermissionsRequest(
    [NotBlank, MaxSize(64)] string? Tenant,
    [Required] long? UserId,
    [NotEmpty] IReadOnlyList<TenantPermissionQualifier>? PermissionsToDelete);

public sealed record DeleteTenantPermissionsResponse(IReadOnlyList<TenantPermissionQualifier> DeletedPermissions);

public sealed record CreateProjectPermissionsRequest(
    [NotBlank, MaxSize(64)] string? Tenant,
    [NotBlank, MaxSize(64)] string? Project,
    [Required] long? UserId,
    [NotEmpty] IReadOnlyList<ProjectPermissionQualifier>? PermissionsToCreate);

public sealed record CreateProjectPermissionsResponse(IReadOnlyList<ProjectPermissionQualifier> CreatedPermissions);

public sealed record DeleteProjectPermissionsRequest(
    [NotBlank, MaxSize(64)] string? Tenant,
    [NotBlank, MaxSize(64)] string? Project,
    [Required] long? UserId,
    [NotEmpty] IReadOnlyList<ProjectPermissionQualifier>? PermissionsToDelete);

public sealed record DeleteProjectPermissionsResponse(IReadOnlyList<ProjectPermissionQualifier> DeletedPermissions);

public sealed record CreateStagePermissionsRequest(
    [NotBlank, MaxSize(64)] string? Tenant,
    [NotBlank, MaxSize(64)] string? Project,
    [NotBlank, MaxSize(64)] string? Stage,
    [Required] long? UserId,
    [NotEmpty] IReadOnlyList<StagePermissionQualifier>? PermissionsToCreate);

public sealed record CreateStagePermissionsResponse(IReadOnlyList<StagePermissionQualifier> CreatedPermissions);

public sealed record DeleteStagePermissionsRequest(
    [NotBlank, MaxSize(64)] string? Tenant,
    [NotBlank, MaxSize(64)] string? Project,
    [NotBlank, MaxSize(64)] string? Stage,
    [Required] long? UserId,
    [NotEmpty] IReadOnlyList<StagePermissionQualifier>? PermissionsToDelete);

public sealed record DeleteStagePermissionsResponse(IReadOnlyList<StagePermissionQualifier> DeletedPermissions);

// ---------------------------------------------------------------- developer (2.5)

public sealed record TenantRequest([NotBlank, MaxSize(64)] string? Tenant);

public sealed record ProjectRequest([NotBlank, MaxSize(64)] string? Tenant, [NotBlank, MaxSize(64)] string? Project);

/// <summary>get-stage-details and delete-stage.</summary>
public sealed record StageRequest([NotBlank, MaxSize(64)] string? Tenant, [NotBlank, MaxSize(64)] string? Project, [NotBlank, MaxSize(64)] string? Stage);

public sealed record CreateStageResponse(long StageId);

public sealed record CreateStageAliasRequest([NotBlank, MaxSize(64)] string? Tenant, [Required] long? StageId, [NotBlank, MaxSize(64)] string? Alias);

public sealed record CreateVersionRequest([NotBlank, MaxSize(64)] string? Tenant, [NotBlank, MaxSize(64)] string? Project, [Required] VersionConfig? Config);

public sealed record CreateVersionResponse(long VersionId);

public sealed record GetVersionDetailsRequest([NotBlank, MaxSize(64)] string? Tenant, [Required] long? VersionId);

/// <summary>delete-version and delete-deployment: the field is `id` (the CLI's `version_id` is upstream defect 12.7).</summary>
public sealed record DeleteByIdRequest([NotBlank, MaxSize(64)] string? Tenant, [Required] long? Id);

public sealed record DeployVersionRequest(
    [NotBlank, MaxSize(64)] string? Tenant,
    [NotBlank, MaxSize(64)] string? Project,
    [NotBlank, MaxSize(64)] string? Stage,
    [Required] long? VersionId);

public sealed record DeployVersionResponse(long DeploymentId);

/// <summary>get-deployment-details, create-lobby-request and create-matchmaker-request.</summary>
public sealed record DeploymentRequest([NotBlank, MaxSize(64)] string? Tenant, [Required] long? DeploymentId);

public sealed record DeleteLobbyRequest([Required] long? LobbyId);

public sealed record DeleteMatchmakerRequest([Required] long? MatchmakerId);

/// <summary>Ours: a developer's view of a matchmaker (queues per mode, matches, latest refused requests).</summary>
public sealed record GetMatchmakerDetailsRequest([Required] long? MatchmakerId);

public sealed record GetMatchmakerDetailsResponse(MatchmakerDetailsDto Details);

public sealed record MatchmakerDetailsDto(long Id, long DeploymentId, IReadOnlyList<MatchmakerQueueDto> Queues, IReadOnlyList<MatchmakerMatchDto> Matches, IReadOnlyList<MatchmakerRefusalDto> Refused);

/// <summary><paramref name="Unsatisfiable"/>: why no match of the mode can ever form, when that is so.</summary>
public sealed record MatchmakerQueueDto(string Mode, int Waiting, string? Unsatisfiable);

/// <summary><paramref name="Status"/>: OPENED (takes newcomers) or CLOSED (after STOP_MATCHMAKING).</summary>
public sealed record MatchmakerMatchDto(long Id, long RuntimeId, string Mode, string Status, DateTimeOffset Created, int Players, IReadOnlyDictionary<string, int> Groups);

public sealed record MatchmakerRefusalDto(long ClientId, string Mode, string Reason, DateTimeOffset At);

/// <summary>
/// create-image (later upstream): records a runtime image for a version. image_id is a Docker image reference or one
/// of our own runtime references (e.g. `process:&lt;name&gt;`), so it is only required to be not blank and at most 1024
/// characters.
/// </summary>
public sealed record CreateImageRequest(
    [NotBlank, MaxSize(64)] string? Tenant,
    [Required] long? VersionId,
    [Required] ImageQualifier? Qualifier,
    [NotBlank, MaxSize(CreateImageRequest.MaxImageIdLength)] string? ImageId)
{
    public const int MaxImageIdLength = 1024;
}

/// <summary>The `image_id` of the response is the id of the image record, not the image reference.</summary>
public sealed record CreateImageResponse(long ImageId);

// ---------------------------------------------------------------- version config

/// <summary>
/// A version's configuration (contract 2.5): the game modes and free-form user data handed to runtimes.
/// Upstream validates none of it; we refuse what the matchmaker could not use (see <see cref="FirstViolation"/>).
/// </summary>
public sealed record VersionConfig(IReadOnlyList<VersionModeConfig?>? Modes, JsonElement? UserData)
{
    /// <summary>Most modes per version: far above any real game, low enough to keep matchmaking scans cheap.</summary>
    public const int MaxModes = 64;

    /// <summary>Most groups (teams) per mode.</summary>
    public const int MaxGroupsPerMode = 64;

    /// <summary>Longest mode or group name (contract 11's string limit).</summary>
    public const int MaxNameLength = 64;

    /// <summary>
    /// Null when usable, else what is wrong: `modes` is required (may be empty) with at most <see cref="MaxModes"/>
    /// entries; every mode and group has a name that is not blank, at most <see cref="MaxNameLength"/> characters and
    /// unique among its siblings, and player counts with 0 &lt;= min_players &lt;= max_players and max_players &gt;= 1;
    /// `groups` may be absent or empty and has at most <see cref="MaxGroupsPerMode"/> entries.
    /// </summary>
    public string? FirstViolation()
    {
        if (Modes is null) return "modes is required";
        if (Modes.Count > MaxModes) return $"at most {MaxModes} modes";
        var modeNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var mode in Modes)
        {
            if (mode is null) return "a mode is null";
            if (NameViolation(mode.Name, "mode") is { } bad) return bad;
            if (!modeNames.Add(mode.Name!)) return $"mode {mode.Name} is defined twice";
            if (CountViolation(mode.MinPlayers, mode.MaxPlayers) is { } counts) return $"mode {mode.Name}: {counts}";
            if (mode.Groups is null) continue;
            if (mode.Groups.Count > MaxGroupsPerMode) return $"mode {mode.Name}: at most {MaxGroupsPerMode} groups";
            var groupNames = new HashSet<string>(StringComparer.Ordinal);
            foreach (var group in mode.Groups)
            {
                if (group is null) return $"mode {mode.Name}: a group is null";
                if (NameViolation(group.Name, "group") is { } badGroup) return $"mode {mode.Name}: {badGroup}";
                if (!groupNames.Add(group.Name!)) return $"mode {mode.Name}: group {group.Name} is defined twice";
                if (CountViolation(group.MinPlayers, group.MaxPlayers) is { } groupCounts) return $"mode {mode.Name}, group {group.Name}: {groupCounts}";
            }
        }
        return null;
    }

    private static string? NameViolation(string? name, string what) =>
        string.IsNullOrWhiteSpace(name) ? $"a {what} name is blank"
        : name.Length > MaxNameLength ? $"{what} name longer than {MaxNameLength} characters"
        : null;

    private static string? CountViolation(int? min, int? max) =>
        min is null || max is null ? "min_players and max_players are required"
        : min < 0 ? "min_players is negative"
        : max < 1 ? "max_players is below 1"
        : min > max ? "min_players is greater than max_players"
        : null;
}

public sealed record VersionModeConfig(string? Name, int? MinPlayers, int? MaxPlayers, IReadOnlyList<VersionGroupConfig?>? Groups);

public sealed record VersionGroupConfig(string? Name, int? MinPlayers, int? MaxPlayers);

// ---------------------------------------------------------------- details payloads (2.5)

/// <summary>An alias as details show it; `qualifier` is TENANT, PROJECT or STAGE.</summary>
public sealed record AliasDto(long Id, DateTimeOffset Created, string Qualifier, long EntityId, string Value);

public sealed record TenantDto(long Id, DateTimeOffset Created, IReadOnlyList<AliasDto> Aliases);

public sealed record TenantPermissionDto(long Id, long TenantId, DateTimeOffset Created, long UserId, TenantPermissionQualifier Permission);

public sealed record ProjectDto(long Id, long TenantId, DateTimeOffset Created, IReadOnlyList<AliasDto> Aliases);

public sealed record TenantDetails(TenantDto Tenant, IReadOnlyList<TenantPermissionDto> Permissions, IReadOnlyList<ProjectDto> Projects);

public sealed record GetTenantDetailsResponse(TenantDetails Details);

public sealed record ProjectPermissionDto(long Id, long TenantId, long ProjectId, DateTimeOffset Created, long UserId, ProjectPermissionQualifier Permission);

public sealed record StageDto(long Id, long TenantId, long ProjectId, DateTimeOffset Created, IReadOnlyList<AliasDto> Aliases);

/// <summary>A version in project details: {id, created, project_id} (no tenant_id, as upstream).</summary>
public sealed record ProjectVersionDto(long Id, DateTimeOffset Created, long ProjectId);

public sealed record ProjectDetails(ProjectDto Project, IReadOnlyList<ProjectPermissionDto> Permissions, IReadOnlyList<StageDto> Stages, IReadOnlyList<ProjectVersionDto> Versions);

public sealed record GetProjectDetailsResponse(ProjectDetails Details);

public sealed record StagePermissionDto(long Id, long TenantId, long StageId, DateTimeOffset Created, long UserId, StagePermissionQualifier Permission);

public sealed record DeploymentDto(long Id, long TenantId, long StageId, long VersionId, DateTimeOffset Created);

public sealed record StageDetails(StageDto Stage, IReadOnlyList<StagePermissionDto> Permissions, IReadOnlyList<DeploymentDto> Deployments);

public sealed record GetStageDetailsResponse(StageDetails Details);

public sealed record VersionDto(long Id, long TenantId, long ProjectId, DateTimeOffset Created);

/// <summary>A builder request (the optional Jenkins builder is not part of this product: always an empty list).</summary>
public sealed record BuildRequestDto(long Id, long TenantId, long VersionId, DateTimeOffset Created, string Qualifier, int BuildNumber);

public sealed record ImageDto(long Id, long TenantId, long VersionId, DateTimeOffset Created, ImageQualifier Qualifier, string ImageId);

public sealed record VersionDetails(VersionDto Version, IReadOnlyList<BuildRequestDto> BuildRequests, IReadOnlyList<ImageDto> Images);

public sealed record GetVersionDetailsResponse(VersionDetails Details);

public sealed record LobbyRefDto(long Id, DateTimeOffset Created, long LobbyId);

public sealed record MatchmakerRefDto(long Id, DateTimeOffset Created, long MatchmakerId);

public sealed record DeploymentDetails(DeploymentDto Deployment, IReadOnlyList<LobbyRefDto> LobbyRefs, IReadOnlyList<MatchmakerRefDto> MatchmakerRefs);

public sealed record GetDeploymentDetailsResponse(DeploymentDetails Details);
