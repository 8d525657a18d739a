using System.Collections.Immutable;
using System.Text.Json;
using System.Text.Json.Serialization;
using OmgServers.Contracts;
using OmgServers.Domain.Aliases;

namespace OmgServers.Domain.Tenants;

/// <summary>A granted permission of a tenant, project or stage.</summary>
public sealed record PermissionRecord<TQualifier>(long Id, long UserId, TQualifier Permission, DateTimeOffset Created) where TQualifier : struct, Enum;

public sealed record ProjectRecord(long Id, DateTimeOffset Created, bool Deleted, ImmutableList<PermissionRecord<ProjectPermissionQualifier>> Permissions);

public sealed record StageRecord(long Id, long ProjectId, DateTimeOffset Created, bool Deleted, ImmutableList<PermissionRecord<StagePermissionQualifier>> Permissions);

public sealed record ImageRecord(long Id, ImageQualifier Qualifier, string ImageId, DateTimeOffset Created);

/// <summary>A version; <see cref="Config"/> is its VersionConfig in wire JSON.</summary>
public sealed record VersionRecord(long Id, long ProjectId, DateTimeOffset Created, bool Deleted, JsonElement Config, ImmutableList<ImageRecord> Images);

/// <summary>A lobby or matchmaker asked for on a deployment (contract 5.2/5.9), with its pre-generated id.</summary>
public sealed record RuntimeRequestRecord(long Id, long TargetId, DateTimeOffset Created);

/// <summary>
/// A deployment: its queue id, the lobby and matchmaker requests made for it, and the refs to the lobbies and
/// matchmakers that exist for it (filled in when lobbies and matchmakers are created; not in this version).
/// </summary>
public sealed record DeploymentRecord(
    long Id, long StageId, long VersionId, long QueueId, DateTimeOffset Created, bool Deleted,
    ImmutableList<RuntimeRequestRecord> LobbyRequests, ImmutableList<RuntimeRequestRecord> MatchmakerRequests,
    ImmutableList<RuntimeRequestRecord> LobbyRefs, ImmutableList<RuntimeRequestRecord> MatchmakerRefs);

public sealed record AliasRecord(
    long Id,
    [property: JsonConverter(typeof(JsonStringEnumConverter<AliasQualifier>))] AliasQualifier Qualifier,
    long EntityId, string Value, DateTimeOffset Created);

/// <summary>
/// Everything of one tenant (contract 6.1 shards all of it by tenant id): permissions, projects, stages, versions
/// with their images, deployments, and the aliases of the tenant, its projects and stages. Deletion is soft and
/// cascades downwards; deleted records stay (so a second delete answers false) but are invisible to every other call.
/// Revoked permissions and released aliases are removed. <see cref="Apply"/> is pure.
/// </summary>
public sealed record TenantState(
    long TenantId,
    bool Exists,
    bool Deleted,
    DateTimeOffset Created,
    ImmutableList<PermissionRecord<TenantPermissionQualifier>> Permissions,
    ImmutableSortedDictionary<long, ProjectRecord> Projects,
    ImmutableSortedDictionary<long, StageRecord> Stages,
    ImmutableSortedDictionary<long, VersionRecord> Versions,
    ImmutableSortedDictionary<long, DeploymentRecord> Deployments,
    ImmutableList<AliasRecord> Aliases)
{
    public static readonly TenantState Empty = new(0, false, false, default, [],
        ImmutableSortedDictionary<long, ProjectRecord>.Empty, ImmutableSortedDictionary<long, StageRecord>.Empty,
        ImmutableSortedDictionary<long, VersionRecord>.Empty, ImmutableSortedDictionary<long, DeploymentRecord>.Empty, []);

    /// <summary>The tenant exists and is not deleted.</summary>
    [JsonIgnore] public bool IsLive => Exists && !Deleted;

    public ProjectRecord? LiveProject(long id) => IsLive && Projects.TryGetValue(id, out var p) && !p.Deleted ? p : null;

    public StageRecord? LiveStage(long id) => IsLive && Stages.TryGetValue(id, out var s) && !s.Deleted ? s : null;

    public VersionRecord? LiveVersion(long id) => IsLive && Versions.TryGetValue(id, out var v) && !v.Deleted ? v : null;

    public DeploymentRecord? LiveDeployment(long id) => IsLive && Deployments.TryGetValue(id, out var d) && !d.Deleted ? d : null;

    public bool HasTenantPermission(long userId, TenantPermissionQualifier permission) =>
        Permissions.Any(p => p.UserId == userId && p.Permission == permission);

    public static bool Has<TQ>(ImmutableList<PermissionRecord<TQ>> permissions, long userId, TQ permission) where TQ : struct, Enum =>
        permissions.Any(p => p.UserId == userId && EqualityComparer<TQ>.Default.Equals(p.Permission, permission));

    public IEnumerable<AliasRecord> AliasesOf(AliasQualifier qualifier, long entityId) =>
        Aliases.Where(a => a.Qualifier == qualifier && a.EntityId == entityId);

    // ------------------------------------------------------------------ apply

    public TenantState Apply(object @event) => @event switch
    {
        TenantEvents.Created e => this with { TenantId = e.TenantId, Exists = true, Created = e.At },
        TenantEvents.Deleted => DeleteTenant(),

        TenantEvents.TenantPermissionGranted e => this with { Permissions = Permissions.Add(new(e.Id, e.UserId, e.Permission, e.At)) },
        TenantEvents.TenantPermissionRevoked e => this with { Permissions = Permissions.RemoveAll(p => p.Id == e.Id) },
        TenantEvents.ProjectPermissionGranted e => WithProject(e.ProjectId, p => p with { Permissions = p.Permissions.Add(new(e.Id, e.UserId, e.Permission, e.At)) }),
        TenantEvents.ProjectPermissionRevoked e => WithProject(e.ProjectId, p => p with { Permissions = p.Permissions.RemoveAll(x => x.Id == e.Id) }),
        TenantEvents.StagePermissionGranted e => WithStage(e.StageId, s => s with { Permissions = s.Permissions.Add(new(e.Id, e.UserId, e.Permission, e.At)) }),
        TenantEvents.StagePermissionRevoked e => WithStage(e.StageId, s => s with { Permissions = s.Permissions.RemoveAll(x => x.Id == e.Id) }),

        TenantEvents.ProjectCreated e => this with { Projects = Projects.SetItem(e.ProjectId, new ProjectRecord(e.ProjectId, e.At, false, [])) },
        TenantEvents.ProjectDeleted e => DeleteProject(e.ProjectId),
        TenantEvents.StageCreated e => this with { Stages = Stages.SetItem(e.StageId, new StageRecord(e.StageId, e.ProjectId, e.At, false, [])) },
        TenantEvents.StageDeleted e => DeleteStage(e.StageId),

        TenantEvents.AliasRecorded e => this with { Aliases = Aliases.Add(new AliasRecord(e.AliasId, e.Qualifier, e.EntityId, e.Value, e.At)) },

        TenantEvents.VersionCreated e => this with { Versions = Versions.SetItem(e.VersionId, new VersionRecord(e.VersionId, e.ProjectId, e.At, false, e.Config, [])) },
        TenantEvents.VersionDeleted e => WithVersion(e.VersionId, v => v with { Deleted = true }),
        TenantEvents.ImageCreated e => WithVersion(e.VersionId, v => v with { Images = v.Images.Add(new ImageRecord(e.Id, e.Qualifier, e.ImageId, e.At)) }),

        TenantEvents.DeploymentCreated e => this with
        {
            Deployments = Deployments.SetItem(e.DeploymentId, new DeploymentRecord(e.DeploymentId, e.StageId, e.VersionId, e.QueueId, e.At, false, [], [], [], [])),
        },
        TenantEvents.DeploymentDeleted e => WithDeployment(e.DeploymentId, d => d with { Deleted = true }),
        TenantEvents.LobbyRequested e => WithDeployment(e.DeploymentId, d => d with { LobbyRequests = d.LobbyRequests.Add(new(e.RequestId, e.LobbyId, e.At)) }),
        TenantEvents.MatchmakerRequested e => WithDeployment(e.DeploymentId, d => d with { MatchmakerRequests = d.MatchmakerRequests.Add(new(e.RequestId, e.MatchmakerId, e.At)) }),
        _ => this,
    };

    private TenantState WithProject(long id, Func<ProjectRecord, ProjectRecord> change) =>
        Projects.TryGetValue(id, out var p) ? this with { Projects = Projects.SetItem(id, change(p)) } : this;

    private TenantState WithStage(long id, Func<StageRecord, StageRecord> change) =>
        Stages.TryGetValue(id, out var s) ? this with { Stages = Stages.SetItem(id, change(s)) } : this;

    private TenantState WithVersion(long id, Func<VersionRecord, VersionRecord> change) =>
        Versions.TryGetValue(id, out var v) ? this with { Versions = Versions.SetItem(id, change(v)) } : this;

    private TenantState WithDeployment(long id, Func<DeploymentRecord, DeploymentRecord> change) =>
        Deployments.TryGetValue(id, out var d) ? this with { Deployments = Deployments.SetItem(id, change(d)) } : this;

    private TenantState DeleteTenant() => this with
    {
        Deleted = true,
        Projects = MarkDeleted(Projects, _ => true, p => p with { Deleted = true }),
        Stages = MarkDeleted(Stages, _ => true, s => s with { Deleted = true }),
        Versions = MarkDeleted(Versions, _ => true, v => v with { Deleted = true }),
        Deployments = MarkDeleted(Deployments, _ => true, d => d with { Deleted = true }),
        Aliases = [],
    };

    private TenantState DeleteProject(long projectId)
    {
        if (!Projects.TryGetValue(projectId, out var project)) return this;
        var stageIds = Stages.Values.Where(s => s.ProjectId == projectId).Select(s => s.Id).ToHashSet();
        return this with
        {
            Projects = Projects.SetItem(projectId, project with { Deleted = true }),
            Stages = MarkDeleted(Stages, s => stageIds.Contains(s.Id), s => s with { Deleted = true }),
            Versions = MarkDeleted(Versions, v => v.ProjectId == projectId, v => v with { Deleted = true }),
            Deployments = MarkDeleted(Deployments, d => stageIds.Contains(d.StageId), d => d with { Deleted = true }),
            Aliases = Aliases.RemoveAll(a => (a.Qualifier == AliasQualifier.PROJECT && a.EntityId == projectId)
                                             || (a.Qualifier == AliasQualifier.STAGE && stageIds.Contains(a.EntityId))),
        };
    }

    private TenantState DeleteStage(long stageId)
    {
        if (!Stages.TryGetValue(stageId, out var stage)) return this;
        return this with
        {
            Stages = Stages.SetItem(stageId, stage with { Deleted = true }),
            Deployments = MarkDeleted(Deployments, d => d.StageId == stageId, d => d with { Deleted = true }),
            Aliases = Aliases.RemoveAll(a => a.Qualifier == AliasQualifier.STAGE && a.EntityId == stageId),
        };
    }

    private static ImmutableSortedDictionary<long, T> MarkDeleted<T>(ImmutableSortedDictionary<long, T> items, Func<T, bool> which, Func<T, T> delete)
    {
        var builder = items.ToBuilder();
        foreach (var (id, item) in items)
            if (which(item)) builder[id] = delete(item);
        return builder.ToImmutable();
    }

    // ------------------------------------------------------------------ details (contract 2.5)

    private IReadOnlyList<AliasDto> AliasDtos(AliasQualifier qualifier, long entityId) =>
        AliasesOf(qualifier, entityId).Select(a => new AliasDto(a.Id, a.Created, a.Qualifier.ToString(), a.EntityId, a.Value)).ToList();

    private ProjectDto ProjectDto(ProjectRecord p) => new(p.Id, TenantId, p.Created, AliasDtos(AliasQualifier.PROJECT, p.Id));

    private StageDto StageDto(StageRecord s) => new(s.Id, TenantId, s.ProjectId, s.Created, AliasDtos(AliasQualifier.STAGE, s.Id));

    private DeploymentDto DeploymentDto(DeploymentRecord d) => new(d.Id, TenantId, d.StageId, d.VersionId, d.Created);

    public TenantDetails TenantDetails() => new(
        new TenantDto(TenantId, Created, AliasDtos(AliasQualifier.TENANT, TenantId)),
        Permissions.Select(p => new TenantPermissionDto(p.Id, TenantId, p.Created, p.UserId, p.Permission)).ToList(),
        Projects.Values.Where(p => !p.Deleted).Select(ProjectDto).ToList());

    public ProjectDetails ProjectDetails(ProjectRecord project) => new(
        ProjectDto(project),
        project.Permissions.Select(p => new ProjectPermissionDto(p.Id, TenantId, project.Id, p.Created, p.UserId, p.Permission)).ToList(),
        Stages.Values.Where(s => s.ProjectId == project.Id && !s.Deleted).Select(StageDto).ToList(),
        Versions.Values.Where(v => v.ProjectId == project.Id && !v.Deleted).Select(v => new ProjectVersionDto(v.Id, v.Created, v.ProjectId)).ToList());

    public StageDetails StageDetails(StageRecord stage) => new(
        StageDto(stage),
        stage.Permissions.Select(p => new StagePermissionDto(p.Id, TenantId, stage.Id, p.Created, p.UserId, p.Permission)).ToList(),
        Deployments.Values.Where(d => d.StageId == stage.Id && !d.Deleted).Select(DeploymentDto).ToList());

    public VersionDetails VersionDetails(VersionRecord version) => new(
        new VersionDto(version.Id, TenantId, version.ProjectId, version.Created),
        [],
        version.Images.Select(i => new ImageDto(i.Id, TenantId, version.Id, i.Created, i.Qualifier, i.ImageId)).ToList());

    public DeploymentDetails DeploymentDetails(DeploymentRecord deployment) => new(
        DeploymentDto(deployment),
        deployment.LobbyRefs.Select(r => new LobbyRefDto(r.Id, r.Created, r.TargetId)).ToList(),
        deployment.MatchmakerRefs.Select(r => new MatchmakerRefDto(r.Id, r.Created, r.TargetId)).ToList());
}
