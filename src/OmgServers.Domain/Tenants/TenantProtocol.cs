using System.Text.Json;
using System.Text.Json.Serialization;
using OmgServers.Contracts;
using OmgServers.Domain.Aliases;

namespace OmgServers.Domain.Tenants;

// The tenant entity's protocol. Every id and timestamp a command needs is chosen by the caller (the edge takes ids
// from SnowflakeIds and the time from the clock), so deciding is deterministic.
//
// `Developer` is the calling developer's user id: the entity checks that user's permissions (contract 2.5's Perm
// column) against its own state. Null means the support API, which needs no permission inside the tenant.
//
// Replies: the payload (mostly a contract response or details record) on success, a TenantRejected otherwise.

/// <summary>Every command and query the tenant entity handles.</summary>
public interface ITenantMessage;

public static class TenantCommands
{
    /// <summary>Creates the tenant; idempotent. Replies <see cref="CreateTenantResponse"/>.</summary>
    public sealed record Create(long TenantId, DateTimeOffset At) : ITenantMessage;

    /// <summary>Soft-deletes the tenant with its projects, stages, versions and deployments, releasing every alias. Replies <see cref="TenantDeletion"/>.</summary>
    public sealed record Delete(DateTimeOffset At) : ITenantMessage;

    /// <summary>Replies <see cref="CreateTenantPermissionsResponse"/> (only the new ones). <see cref="Ids"/>: one spare id per requested permission.</summary>
    public sealed record GrantTenantPermissions(long UserId, IReadOnlyList<TenantPermissionQualifier> Permissions, IReadOnlyList<long> Ids, DateTimeOffset At) : ITenantMessage;

    /// <summary>Replies <see cref="DeleteTenantPermissionsResponse"/> (only those that were held).</summary>
    public sealed record RevokeTenantPermissions(long UserId, IReadOnlyList<TenantPermissionQualifier> Permissions, DateTimeOffset At) : ITenantMessage;

    public sealed record GrantProjectPermissions(long ProjectId, long UserId, IReadOnlyList<ProjectPermissionQualifier> Permissions, IReadOnlyList<long> Ids, DateTimeOffset At) : ITenantMessage;

    public sealed record RevokeProjectPermissions(long ProjectId, long UserId, IReadOnlyList<ProjectPermissionQualifier> Permissions, DateTimeOffset At) : ITenantMessage;

    public sealed record GrantStagePermissions(long ProjectId, long StageId, long UserId, IReadOnlyList<StagePermissionQualifier> Permissions, IReadOnlyList<long> Ids, DateTimeOffset At) : ITenantMessage;

    public sealed record RevokeStagePermissions(long ProjectId, long StageId, long UserId, IReadOnlyList<StagePermissionQualifier> Permissions, DateTimeOffset At) : ITenantMessage;

    /// <summary>
    /// Creates a project and its first stage (contract 2.4/2.5). A developer caller needs tenant PROJECT_MANAGER and
    /// receives STAGE_MANAGER, VERSION_MANAGER, PROJECT_VIEWER on the project and DEPLOYMENT_MANAGER on the stage;
    /// every user of <see cref="VersionManagers"/> (the builder and service users, 6.5) receives VERSION_MANAGER.
    /// <see cref="PermissionIds"/> needs 4 + VersionManagers.Count ids. Replies <see cref="CreateProjectResponse"/>.
    /// </summary>
    public sealed record CreateProject(long ProjectId, long StageId, long? Developer, IReadOnlyList<long> VersionManagers, IReadOnlyList<long> PermissionIds, DateTimeOffset At) : ITenantMessage;

    /// <summary>Developer: tenant PROJECT_MANAGER. Cascades to stages, versions and deployments. Replies <see cref="TenantDeletion"/>.</summary>
    public sealed record DeleteProject(long ProjectId, long? Developer, DateTimeOffset At) : ITenantMessage;

    /// <summary>Developer: project STAGE_MANAGER; the developer receives DEPLOYMENT_MANAGER on the stage. Replies <see cref="CreateStageResponse"/>.</summary>
    public sealed record CreateStage(long ProjectId, long StageId, long PermissionId, long? Developer, DateTimeOffset At) : ITenantMessage;

    /// <summary>Developer: project STAGE_MANAGER. Cascades to the stage's deployments. Replies <see cref="TenantDeletion"/>.</summary>
    public sealed record DeleteStage(long ProjectId, long StageId, long? Developer, DateTimeOffset At) : ITenantMessage;

    /// <summary>
    /// First step of create-*-alias: the target exists and the developer may name it (PROJECT: tenant PROJECT_MANAGER;
    /// STAGE: project STAGE_MANAGER; TENANT: support only). Replies the alias namespace, <see cref="AliasNamespace"/>.
    /// </summary>
    public sealed record CheckAliasTarget(AliasQualifier Qualifier, long EntityId, long? Developer) : ITenantMessage;

    /// <summary>
    /// Last step of create-*-alias, after the alias entity accepted the claim: remember the alias so details show it
    /// and a delete releases it. Idempotent. If the target is gone by now, the claim is released again. Replies <see cref="TenantAck"/>.
    /// </summary>
    public sealed record RecordAlias(AliasQualifier Qualifier, long EntityId, long AliasId, string Value, DateTimeOffset Created, long? Developer) : ITenantMessage;

    /// <summary>Developer: project VERSION_MANAGER. <see cref="Config"/> is the validated VersionConfig in wire JSON. Replies <see cref="CreateVersionResponse"/>.</summary>
    public sealed record CreateVersion(long ProjectId, long VersionId, JsonElement Config, long? Developer, DateTimeOffset At) : ITenantMessage;

    /// <summary>Developer: project VERSION_MANAGER. Deployments of the version stay. Replies <see cref="TenantDeletion"/>.</summary>
    public sealed record DeleteVersion(long VersionId, long? Developer, DateTimeOffset At) : ITenantMessage;

    /// <summary>Developer: project VERSION_MANAGER. Idempotent for the same qualifier and image id. Replies <see cref="CreateImageResponse"/>.</summary>
    public sealed record CreateImage(long VersionId, long ImageRecordId, ImageQualifier Qualifier, string ImageId, long? Developer, DateTimeOffset At) : ITenantMessage;

    /// <summary>
    /// Deploys a version to a stage of the same project (contract 2.5 order: the version has an image, else 409
    /// WRONG_VERSION_STATE; same project, else 403 WRONG_REQUEST; then stage DEPLOYMENT_MANAGER). Records the
    /// deployment with its queue id and its first lobby and matchmaker requests (5.2). Replies <see cref="DeployVersionResponse"/>.
    /// </summary>
    public sealed record DeployVersion(
        long ProjectId, long StageId, long VersionId, long DeploymentId, long QueueId,
        long LobbyRequestId, long LobbyId, long MatchmakerRequestId, long MatchmakerId,
        long? Developer, DateTimeOffset At) : ITenantMessage;

    /// <summary>Developer: stage DEPLOYMENT_MANAGER. Replies <see cref="TenantDeletion"/>.</summary>
    public sealed record DeleteDeployment(long DeploymentId, long? Developer, DateTimeOffset At) : ITenantMessage;

    /// <summary>Developer: stage DEPLOYMENT_MANAGER. Records one more lobby request (5.9). Replies <see cref="TenantAck"/>.</summary>
    public sealed record RequestLobby(long DeploymentId, long RequestId, long LobbyId, long? Developer, DateTimeOffset At) : ITenantMessage;

    /// <summary>Developer: stage DEPLOYMENT_MANAGER. Records one more matchmaker request (5.9). Replies <see cref="TenantAck"/>.</summary>
    public sealed record RequestMatchmaker(long DeploymentId, long RequestId, long MatchmakerId, long? Developer, DateTimeOffset At) : ITenantMessage;
}

public static class TenantQueries
{
    /// <summary>Developer: tenant TENANT_VIEWER. Replies <see cref="TenantDetails"/>.</summary>
    public sealed record GetTenantDetails(long? Developer) : ITenantMessage;

    /// <summary>Developer: project PROJECT_VIEWER. Replies <see cref="ProjectDetails"/>.</summary>
    public sealed record GetProjectDetails(long ProjectId, long? Developer) : ITenantMessage;

    /// <summary>Developer: project PROJECT_VIEWER. Replies <see cref="StageDetails"/>.</summary>
    public sealed record GetStageDetails(long ProjectId, long StageId, long? Developer) : ITenantMessage;

    /// <summary>Developer: PROJECT_VIEWER on the version's project. Replies <see cref="VersionDetails"/>.</summary>
    public sealed record GetVersionDetails(long VersionId, long? Developer) : ITenantMessage;

    /// <summary>Developer: PROJECT_VIEWER of the deployment's project. Replies <see cref="DeploymentDetails"/>.</summary>
    public sealed record GetDeploymentDetails(long DeploymentId, long? Developer) : ITenantMessage;
}

public static class TenantEvents
{
    public sealed record Created(long TenantId, DateTimeOffset At);
    public sealed record Deleted(DateTimeOffset At);

    public sealed record TenantPermissionGranted(long Id, long UserId, TenantPermissionQualifier Permission, DateTimeOffset At);
    public sealed record TenantPermissionRevoked(long Id, DateTimeOffset At);
    public sealed record ProjectPermissionGranted(long Id, long ProjectId, long UserId, ProjectPermissionQualifier Permission, DateTimeOffset At);
    public sealed record ProjectPermissionRevoked(long Id, long ProjectId, DateTimeOffset At);
    public sealed record StagePermissionGranted(long Id, long StageId, long UserId, StagePermissionQualifier Permission, DateTimeOffset At);
    public sealed record StagePermissionRevoked(long Id, long StageId, DateTimeOffset At);

    public sealed record ProjectCreated(long ProjectId, DateTimeOffset At);
    public sealed record ProjectDeleted(long ProjectId, DateTimeOffset At);
    public sealed record StageCreated(long StageId, long ProjectId, DateTimeOffset At);
    public sealed record StageDeleted(long StageId, DateTimeOffset At);

    public sealed record AliasRecorded(
        long AliasId,
        [property: JsonConverter(typeof(JsonStringEnumConverter<AliasQualifier>))] AliasQualifier Qualifier,
        long EntityId, string Value, DateTimeOffset At);

    /// <summary><see cref="Config"/>: the VersionConfig in wire JSON (contract 2.5), exactly what runtimes will receive.</summary>
    public sealed record VersionCreated(long VersionId, long ProjectId, JsonElement Config, DateTimeOffset At);
    public sealed record VersionDeleted(long VersionId, DateTimeOffset At);
    public sealed record ImageCreated(long Id, long VersionId, ImageQualifier Qualifier, string ImageId, DateTimeOffset At);

    public sealed record DeploymentCreated(long DeploymentId, long StageId, long VersionId, long QueueId, DateTimeOffset At);
    public sealed record DeploymentDeleted(long DeploymentId, DateTimeOffset At);
    public sealed record LobbyRequested(long DeploymentId, long RequestId, long LobbyId, DateTimeOffset At);
    public sealed record MatchmakerRequested(long DeploymentId, long RequestId, long MatchmakerId, DateTimeOffset At);
}

/// <summary>Done, nothing to report (the edge answers {}).</summary>
public sealed record TenantAck
{
    public static readonly TenantAck Instance = new();
}

/// <summary>The answer of a delete: false when it was deleted before.</summary>
public sealed record TenantDeletion(bool Deleted);

/// <summary>Where an alias of a tenant, project or stage lives (contract 6.4): its shard key and uniqueness group.</summary>
public sealed record AliasNamespace(long ShardKey, long UniquenessGroup)
{
    public static AliasNamespace Of(AliasQualifier qualifier, long tenantId, long projectId) => qualifier switch
    {
        AliasQualifier.TENANT => new(0, 0),
        AliasQualifier.PROJECT => new(tenantId, tenantId),
        AliasQualifier.STAGE => new(tenantId, projectId),
        _ => throw new ArgumentOutOfRangeException(nameof(qualifier), qualifier, "not an alias of a tenant entity"),
    };
}

/// <summary>What kind of expected failure a rejection is; the edge maps it to the HTTP status.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<RejectionKind>))]
public enum RejectionKind { NotFound, Forbidden, Conflict }

/// <summary>An expected failure: 404 OBJECT_NOT_FOUND, 403 PERMISSION_NOT_FOUND or WRONG_REQUEST, 409 WRONG_VERSION_STATE.</summary>
public sealed record TenantRejected(RejectionKind Kind, Qualifier Qualifier)
{
    public static readonly TenantRejected NotFound = new(RejectionKind.NotFound, Qualifier.OBJECT_NOT_FOUND);
    public static readonly TenantRejected PermissionNotFound = new(RejectionKind.Forbidden, Qualifier.PERMISSION_NOT_FOUND);

    /// <summary>A stage or version of another project than the one the request names (403 WRONG_REQUEST, contract 2.5).</summary>
    public static readonly TenantRejected OtherProject = new(RejectionKind.Forbidden, Qualifier.WRONG_REQUEST);

    public static TenantRejected Conflict(Qualifier qualifier) => new(RejectionKind.Conflict, qualifier);
}
