using OmgServers.Contracts;
using OmgServers.Domain.Aliases;
using C = OmgServers.Domain.Tenants.TenantCommands;
using E = OmgServers.Domain.Tenants.TenantEvents;
using Q = OmgServers.Domain.Tenants.TenantQueries;

namespace OmgServers.Domain.Tenants;

/// <summary>The outcome of one command: the reply, the events to persist first, and the aliases to release afterwards.</summary>
public sealed record TenantDecision(object Reply, IReadOnlyList<object> Events, IReadOnlyList<AliasRecord> Releases)
{
    public static TenantDecision Answer(object reply) => new(reply, [], []);

    public static TenantDecision Persist(object reply, params object[] events) => new(reply, events, []);

    public static implicit operator TenantDecision(TenantRejected rejected) => Answer(rejected);
}

/// <summary>
/// Pure decisions of the tenant entity: state and command in, reply and events out. Order of checks per call:
/// the tenant and the named objects exist (404 OBJECT_NOT_FOUND), a stage or version belongs to the named project
/// (403 WRONG_REQUEST), then the developer's permission (403 PERMISSION_NOT_FOUND); deploy-version checks the image
/// first (contract 2.5). Deleting something already deleted answers false, as upstream's soft delete does; an id the
/// tenant never had answers 404.
/// </summary>
public static class TenantDecider
{
    public static TenantDecision Decide(TenantState s, ITenantMessage command) => command switch
    {
        C.Create c => s.Exists
            ? s.Deleted ? TenantRejected.NotFound : TenantDecision.Answer(new CreateTenantResponse(s.TenantId))
            : TenantDecision.Persist(new CreateTenantResponse(c.TenantId), new E.Created(c.TenantId, c.At)),
        _ when !s.Exists => TenantRejected.NotFound,
        C.Delete c => DeleteTenant(s, c),
        C.RecordAlias c => RecordAlias(s, c), // before the deleted check: it may have to give a claim back
        _ when s.Deleted => TenantRejected.NotFound,

        C.GrantTenantPermissions c => GrantTenantPermissions(s, c),
        C.RevokeTenantPermissions c => RevokeTenantPermissions(s, c),
        C.GrantProjectPermissions c => GrantProjectPermissions(s, c),
        C.RevokeProjectPermissions c => RevokeProjectPermissions(s, c),
        C.GrantStagePermissions c => GrantStagePermissions(s, c),
        C.RevokeStagePermissions c => RevokeStagePermissions(s, c),

        C.CreateProject c => CreateProject(s, c),
        C.DeleteProject c => DeleteProject(s, c),
        C.CreateStage c => CreateStage(s, c),
        C.DeleteStage c => DeleteStage(s, c),
        C.CheckAliasTarget c => CheckAliasTarget(s, c.Qualifier, c.EntityId, c.Developer),

        C.CreateVersion c => CreateVersion(s, c),
        C.DeleteVersion c => DeleteVersion(s, c),
        C.CreateImage c => CreateImage(s, c),
        C.DeployVersion c => DeployVersion(s, c),
        C.DeleteDeployment c => DeleteDeployment(s, c),
        C.RequestLobby c => RequestLobby(s, c),
        C.RequestMatchmaker c => RequestMatchmaker(s, c),

        Q.GetTenantDetails q => Allowed(q.Developer, d => s.HasTenantPermission(d, TenantPermissionQualifier.TENANT_VIEWER))
            ? TenantDecision.Answer(s.TenantDetails()) : TenantRejected.PermissionNotFound,
        Q.GetProjectDetails q => GetProjectDetails(s, q),
        Q.GetStageDetails q => GetStageDetails(s, q),
        Q.GetVersionDetails q => GetVersionDetails(s, q),
        Q.GetDeploymentDetails q => GetDeploymentDetails(s, q),
        _ => throw new ArgumentException($"the tenant entity does not handle {command.GetType().Name}", nameof(command)),
    };

    /// <summary>Support (no developer) may do anything; a developer needs <paramref name="holds"/>.</summary>
    private static bool Allowed(long? developer, Func<long, bool> holds) => developer is not { } d || holds(d);

    private static bool ProjectAllows(ProjectRecord project, long? developer, ProjectPermissionQualifier permission) =>
        Allowed(developer, d => TenantState.Has(project.Permissions, d, permission));

    private static bool StageAllows(StageRecord stage, long? developer, StagePermissionQualifier permission) =>
        Allowed(developer, d => TenantState.Has(stage.Permissions, d, permission));

    /// <summary>The live project and its live stage, or why not.</summary>
    private static (ProjectRecord? Project, StageRecord? Stage, TenantRejected? Rejected) ProjectAndStage(TenantState s, long projectId, long stageId)
    {
        var project = s.LiveProject(projectId);
        var stage = s.LiveStage(stageId);
        if (project is null || stage is null) return (null, null, TenantRejected.NotFound);
        if (stage.ProjectId != projectId) return (null, null, TenantRejected.OtherProject);
        return (project, stage, null);
    }

    // ------------------------------------------------------------------ tenant

    private static TenantDecision DeleteTenant(TenantState s, C.Delete c) => s.Deleted
        ? TenantDecision.Answer(new TenantDeletion(false))
        : new TenantDecision(new TenantDeletion(true), [new E.Deleted(c.At)], s.Aliases);

    // ------------------------------------------------------------------ permissions

    /// <summary>Grants the permissions the user does not hold yet (each once), using the spare ids in order.</summary>
    private static (List<TQ> Created, List<object> Events) Grant<TQ>(IReadOnlyList<TQ> requested, IReadOnlyList<long> ids, Func<TQ, bool> held, Func<long, TQ, object> granted)
        where TQ : struct, Enum
    {
        var created = new List<TQ>();
        var events = new List<object>();
        foreach (var permission in requested.Distinct())
        {
            if (held(permission)) continue;
            if (events.Count >= ids.Count) throw new ArgumentException("not enough spare ids for the permissions to grant");
            events.Add(granted(ids[events.Count], permission));
            created.Add(permission);
        }
        return (created, events);
    }

    private static (List<TQ> Deleted, List<object> Events) Revoke<TQ>(IReadOnlyList<TQ> requested, IEnumerable<PermissionRecord<TQ>> held, long userId, Func<PermissionRecord<TQ>, object> revoked)
        where TQ : struct, Enum
    {
        var deleted = new List<TQ>();
        var events = new List<object>();
        var wanted = requested.ToHashSet();
        foreach (var record in held.Where(p => p.UserId == userId && wanted.Contains(p.Permission)))
        {
            events.Add(revoked(record));
            if (!deleted.Contains(record.Permission)) deleted.Add(record.Permission);
        }
        return (deleted, events);
    }

    private static TenantDecision GrantTenantPermissions(TenantState s, C.GrantTenantPermissions c)
    {
        var (created, events) = Grant(c.Permissions, c.Ids, p => s.HasTenantPermission(c.UserId, p),
            (id, p) => new E.TenantPermissionGranted(id, c.UserId, p, c.At));
        return new TenantDecision(new CreateTenantPermissionsResponse(created), events, []);
    }

    private static TenantDecision RevokeTenantPermissions(TenantState s, C.RevokeTenantPermissions c)
    {
        var (deleted, events) = Revoke(c.Permissions, s.Permissions, c.UserId, r => new E.TenantPermissionRevoked(r.Id, c.At));
        return new TenantDecision(new DeleteTenantPermissionsResponse(deleted), events, []);
    }

    private static TenantDecision GrantProjectPermissions(TenantState s, C.GrantProjectPermissions c)
    {
        if (s.LiveProject(c.ProjectId) is not { } project) return TenantRejected.NotFound;
        var (created, events) = Grant(c.Permissions, c.Ids, p => TenantState.Has(project.Permissions, c.UserId, p),
            (id, p) => new E.ProjectPermissionGranted(id, project.Id, c.UserId, p, c.At));
        return new TenantDecision(new CreateProjectPermissionsResponse(created), events, []);
    }

    private static TenantDecision RevokeProjectPermissions(TenantState s, C.RevokeProjectPermissions c)
    {
        if (s.LiveProject(c.ProjectId) is not { } project) return TenantRejected.NotFound;
        var (deleted, events) = Revoke(c.Permissions, project.Permissions, c.UserId, r => new E.ProjectPermissionRevoked(r.Id, project.Id, c.At));
        return new TenantDecision(new DeleteProjectPermissionsResponse(deleted), events, []);
    }

    private static TenantDecision GrantStagePermissions(TenantState s, C.GrantStagePermissions c)
    {
        var (_, stage, rejected) = ProjectAndStage(s, c.ProjectId, c.StageId);
        if (rejected is not null) return rejected;
        var (created, events) = Grant(c.Permissions, c.Ids, p => TenantState.Has(stage!.Permissions, c.UserId, p),
            (id, p) => new E.StagePermissionGranted(id, stage!.Id, c.UserId, p, c.At));
        return new TenantDecision(new CreateStagePermissionsResponse(created), events, []);
    }

    private static TenantDecision RevokeStagePermissions(TenantState s, C.RevokeStagePermissions c)
    {
        var (_, stage, rejected) = ProjectAndStage(s, c.ProjectId, c.StageId);
        if (rejected is not null) return rejected;
        var (deleted, events) = Revoke(c.Permissions, stage!.Permissions, c.UserId, r => new E.StagePermissionRevoked(r.Id, stage.Id, c.At));
        return new TenantDecision(new DeleteStagePermissionsResponse(deleted), events, []);
    }

    // ------------------------------------------------------------------ projects and stages

    private static TenantDecision CreateProject(TenantState s, C.CreateProject c)
    {
        if (!Allowed(c.Developer, d => s.HasTenantPermission(d, TenantPermissionQualifier.PROJECT_MANAGER))) return TenantRejected.PermissionNotFound;
        var reply = new CreateProjectResponse(c.ProjectId, c.StageId);
        if (s.Projects.ContainsKey(c.ProjectId)) return s.LiveProject(c.ProjectId) is null ? TenantRejected.NotFound : TenantDecision.Answer(reply);

        var ids = new Queue<long>(c.PermissionIds);
        long NextId() => ids.TryDequeue(out var id) ? id : throw new ArgumentException("not enough permission ids for create-project");
        var events = new List<object> { new E.ProjectCreated(c.ProjectId, c.At), new E.StageCreated(c.StageId, c.ProjectId, c.At) };
        var projectGrants = new HashSet<(long, ProjectPermissionQualifier)>();
        void GrantProject(long user, ProjectPermissionQualifier permission)
        {
            if (projectGrants.Add((user, permission))) events.Add(new E.ProjectPermissionGranted(NextId(), c.ProjectId, user, permission, c.At));
        }
        if (c.Developer is { } developer)
        {
            GrantProject(developer, ProjectPermissionQualifier.STAGE_MANAGER);
            GrantProject(developer, ProjectPermissionQualifier.VERSION_MANAGER);
            GrantProject(developer, ProjectPermissionQualifier.PROJECT_VIEWER);
            events.Add(new E.StagePermissionGranted(NextId(), c.StageId, developer, StagePermissionQualifier.DEPLOYMENT_MANAGER, c.At));
        }
        foreach (var user in c.VersionManagers) GrantProject(user, ProjectPermissionQualifier.VERSION_MANAGER);
        return new TenantDecision(reply, events, []);
    }

    private static TenantDecision DeleteProject(TenantState s, C.DeleteProject c)
    {
        if (!s.Projects.TryGetValue(c.ProjectId, out var project)) return TenantRejected.NotFound;
        if (!Allowed(c.Developer, d => s.HasTenantPermission(d, TenantPermissionQualifier.PROJECT_MANAGER))) return TenantRejected.PermissionNotFound;
        if (project.Deleted) return TenantDecision.Answer(new TenantDeletion(false));
        var stageIds = s.Stages.Values.Where(x => x.ProjectId == project.Id).Select(x => x.Id).ToHashSet();
        var releases = s.Aliases.Where(a => (a.Qualifier == AliasQualifier.PROJECT && a.EntityId == project.Id)
                                            || (a.Qualifier == AliasQualifier.STAGE && stageIds.Contains(a.EntityId))).ToList();
        return new TenantDecision(new TenantDeletion(true), [new E.ProjectDeleted(project.Id, c.At)], releases);
    }

    private static TenantDecision CreateStage(TenantState s, C.CreateStage c)
    {
        if (s.LiveProject(c.ProjectId) is not { } project) return TenantRejected.NotFound;
        if (!ProjectAllows(project, c.Developer, ProjectPermissionQualifier.STAGE_MANAGER)) return TenantRejected.PermissionNotFound;
        var reply = new CreateStageResponse(c.StageId);
        if (s.Stages.TryGetValue(c.StageId, out var existing))
            return existing.ProjectId == project.Id && !existing.Deleted ? TenantDecision.Answer(reply) : TenantRejected.NotFound;
        var events = new List<object> { new E.StageCreated(c.StageId, project.Id, c.At) };
        if (c.Developer is { } developer)
            events.Add(new E.StagePermissionGranted(c.PermissionId, c.StageId, developer, StagePermissionQualifier.DEPLOYMENT_MANAGER, c.At));
        return new TenantDecision(reply, events, []);
    }

    private static TenantDecision DeleteStage(TenantState s, C.DeleteStage c)
    {
        if (s.LiveProject(c.ProjectId) is not { } project || !s.Stages.TryGetValue(c.StageId, out var stage)) return TenantRejected.NotFound;
        if (stage.ProjectId != project.Id) return TenantRejected.OtherProject;
        if (!ProjectAllows(project, c.Developer, ProjectPermissionQualifier.STAGE_MANAGER)) return TenantRejected.PermissionNotFound;
        if (stage.Deleted) return TenantDecision.Answer(new TenantDeletion(false));
        // Fix of upstream defect 12.9: the stage's aliases are released too.
        var releases = s.AliasesOf(AliasQualifier.STAGE, stage.Id).ToList();
        return new TenantDecision(new TenantDeletion(true), [new E.StageDeleted(stage.Id, c.At)], releases);
    }

    // ------------------------------------------------------------------ aliases

    private static TenantDecision CheckAliasTarget(TenantState s, AliasQualifier qualifier, long entityId, long? developer)
    {
        if (!s.IsLive) return TenantRejected.NotFound;
        switch (qualifier)
        {
            case AliasQualifier.TENANT:
                if (entityId != s.TenantId) return TenantRejected.NotFound;
                return developer is null ? TenantDecision.Answer(AliasNamespace.Of(qualifier, s.TenantId, 0)) : TenantRejected.PermissionNotFound;
            case AliasQualifier.PROJECT:
                if (s.LiveProject(entityId) is null) return TenantRejected.NotFound;
                if (!Allowed(developer, d => s.HasTenantPermission(d, TenantPermissionQualifier.PROJECT_MANAGER))) return TenantRejected.PermissionNotFound;
                return TenantDecision.Answer(AliasNamespace.Of(qualifier, s.TenantId, 0));
            case AliasQualifier.STAGE:
                if (s.LiveStage(entityId) is not { } stage || s.LiveProject(stage.ProjectId) is not { } project) return TenantRejected.NotFound;
                if (!ProjectAllows(project, developer, ProjectPermissionQualifier.STAGE_MANAGER)) return TenantRejected.PermissionNotFound;
                return TenantDecision.Answer(AliasNamespace.Of(qualifier, s.TenantId, project.Id));
            default:
                return TenantRejected.NotFound;
        }
    }

    private static TenantDecision RecordAlias(TenantState s, C.RecordAlias c)
    {
        var check = CheckAliasTarget(s, c.Qualifier, c.EntityId, c.Developer);
        var alias = new AliasRecord(c.AliasId, c.Qualifier, c.EntityId, c.Value, c.Created);
        var recorded = s.AliasesOf(c.Qualifier, c.EntityId).Any(a => a.Value == c.Value);
        if (check.Reply is TenantRejected rejected)
            // The target went away (or the permission was revoked) between the check and now: give the fresh claim
            // back. An alias recorded before stays; it is released with its target.
            return recorded ? check : new TenantDecision(rejected, [], [alias]);
        if (recorded) return TenantDecision.Answer(TenantAck.Instance);
        return TenantDecision.Persist(TenantAck.Instance, new E.AliasRecorded(c.AliasId, c.Qualifier, c.EntityId, c.Value, c.Created));
    }

    // ------------------------------------------------------------------ versions and images

    private static TenantDecision CreateVersion(TenantState s, C.CreateVersion c)
    {
        if (s.LiveProject(c.ProjectId) is not { } project) return TenantRejected.NotFound;
        if (!ProjectAllows(project, c.Developer, ProjectPermissionQualifier.VERSION_MANAGER)) return TenantRejected.PermissionNotFound;
        var reply = new CreateVersionResponse(c.VersionId);
        if (s.Versions.ContainsKey(c.VersionId)) return s.LiveVersion(c.VersionId) is null ? TenantRejected.NotFound : TenantDecision.Answer(reply);
        return TenantDecision.Persist(reply, new E.VersionCreated(c.VersionId, project.Id, c.Config.Clone(), c.At));
    }

    private static TenantDecision DeleteVersion(TenantState s, C.DeleteVersion c)
    {
        if (!s.Versions.TryGetValue(c.VersionId, out var version) || s.LiveProject(version.ProjectId) is not { } project) return TenantRejected.NotFound;
        if (!ProjectAllows(project, c.Developer, ProjectPermissionQualifier.VERSION_MANAGER)) return TenantRejected.PermissionNotFound;
        if (version.Deleted) return TenantDecision.Answer(new TenantDeletion(false));
        return TenantDecision.Persist(new TenantDeletion(true), new E.VersionDeleted(version.Id, c.At));
    }

    private static TenantDecision CreateImage(TenantState s, C.CreateImage c)
    {
        if (s.LiveVersion(c.VersionId) is not { } version || s.LiveProject(version.ProjectId) is not { } project) return TenantRejected.NotFound;
        if (!ProjectAllows(project, c.Developer, ProjectPermissionQualifier.VERSION_MANAGER)) return TenantRejected.PermissionNotFound;
        if (version.Images.FirstOrDefault(i => i.Qualifier == c.Qualifier && i.ImageId == c.ImageId) is { } existing)
            return TenantDecision.Answer(new CreateImageResponse(existing.Id));
        return TenantDecision.Persist(new CreateImageResponse(c.ImageRecordId), new E.ImageCreated(c.ImageRecordId, version.Id, c.Qualifier, c.ImageId, c.At));
    }

    // ------------------------------------------------------------------ deployments

    private static TenantDecision DeployVersion(TenantState s, C.DeployVersion c)
    {
        var (_, stage, rejected) = ProjectAndStage(s, c.ProjectId, c.StageId);
        if (rejected is not null) return rejected;
        if (s.LiveVersion(c.VersionId) is not { } version) return TenantRejected.NotFound;
        if (version.Images.Count == 0) return TenantRejected.Conflict(Qualifier.WRONG_VERSION_STATE);
        if (version.ProjectId != stage!.ProjectId) return TenantRejected.OtherProject;
        if (!StageAllows(stage, c.Developer, StagePermissionQualifier.DEPLOYMENT_MANAGER)) return TenantRejected.PermissionNotFound;
        var reply = new DeployVersionResponse(c.DeploymentId);
        if (s.Deployments.ContainsKey(c.DeploymentId)) return TenantDecision.Answer(reply);
        // A newer deployment replaces the stage's older ones (contract 5.8: upstream's stage task does it within a tick).
        var replaced = s.Deployments.Values.Where(d => d.StageId == stage.Id && !d.Deleted)
            .Select(d => (object)new E.DeploymentDeleted(d.Id, c.At));
        return TenantDecision.Persist(reply, [
            .. replaced,
            new E.DeploymentCreated(c.DeploymentId, stage.Id, version.Id, c.QueueId, c.At),
            new E.LobbyRequested(c.DeploymentId, c.LobbyRequestId, c.LobbyId, c.At),
            new E.MatchmakerRequested(c.DeploymentId, c.MatchmakerRequestId, c.MatchmakerId, c.At)]);
    }

    /// <summary>A deployment with its live stage and project, for the calls that address a deployment by id.</summary>
    private static (DeploymentRecord? Deployment, StageRecord? Stage, ProjectRecord? Project) DeploymentScope(TenantState s, long deploymentId, bool includeDeleted)
    {
        if (!s.Deployments.TryGetValue(deploymentId, out var deployment) || (deployment.Deleted && !includeDeleted)) return (null, null, null);
        if (s.LiveStage(deployment.StageId) is not { } stage || s.LiveProject(stage.ProjectId) is not { } project) return (null, null, null);
        return (deployment, stage, project);
    }

    private static TenantDecision DeleteDeployment(TenantState s, C.DeleteDeployment c)
    {
        var (deployment, stage, _) = DeploymentScope(s, c.DeploymentId, includeDeleted: true);
        if (deployment is null) return TenantRejected.NotFound;
        if (!StageAllows(stage!, c.Developer, StagePermissionQualifier.DEPLOYMENT_MANAGER)) return TenantRejected.PermissionNotFound;
        if (deployment.Deleted) return TenantDecision.Answer(new TenantDeletion(false));
        return TenantDecision.Persist(new TenantDeletion(true), new E.DeploymentDeleted(deployment.Id, c.At));
    }

    private static TenantDecision RequestLobby(TenantState s, C.RequestLobby c)
    {
        var (deployment, stage, _) = DeploymentScope(s, c.DeploymentId, includeDeleted: false);
        if (deployment is null) return TenantRejected.NotFound;
        if (!StageAllows(stage!, c.Developer, StagePermissionQualifier.DEPLOYMENT_MANAGER)) return TenantRejected.PermissionNotFound;
        if (deployment.LobbyRequests.Any(r => r.Id == c.RequestId)) return TenantDecision.Answer(TenantAck.Instance);
        return TenantDecision.Persist(TenantAck.Instance, new E.LobbyRequested(deployment.Id, c.RequestId, c.LobbyId, c.At));
    }

    private static TenantDecision RequestMatchmaker(TenantState s, C.RequestMatchmaker c)
    {
        var (deployment, stage, _) = DeploymentScope(s, c.DeploymentId, includeDeleted: false);
        if (deployment is null) return TenantRejected.NotFound;
        if (!StageAllows(stage!, c.Developer, StagePermissionQualifier.DEPLOYMENT_MANAGER)) return TenantRejected.PermissionNotFound;
        if (deployment.MatchmakerRequests.Any(r => r.Id == c.RequestId)) return TenantDecision.Answer(TenantAck.Instance);
        return TenantDecision.Persist(TenantAck.Instance, new E.MatchmakerRequested(deployment.Id, c.RequestId, c.MatchmakerId, c.At));
    }

    // ------------------------------------------------------------------ details

    private static TenantDecision GetProjectDetails(TenantState s, Q.GetProjectDetails q)
    {
        if (s.LiveProject(q.ProjectId) is not { } project) return TenantRejected.NotFound;
        return ProjectAllows(project, q.Developer, ProjectPermissionQualifier.PROJECT_VIEWER)
            ? TenantDecision.Answer(s.ProjectDetails(project)) : TenantRejected.PermissionNotFound;
    }

    private static TenantDecision GetStageDetails(TenantState s, Q.GetStageDetails q)
    {
        var (project, stage, rejected) = ProjectAndStage(s, q.ProjectId, q.StageId);
        if (rejected is not null) return rejected;
        return ProjectAllows(project!, q.Developer, ProjectPermissionQualifier.PROJECT_VIEWER)
            ? TenantDecision.Answer(s.StageDetails(stage!)) : TenantRejected.PermissionNotFound;
    }

    private static TenantDecision GetVersionDetails(TenantState s, Q.GetVersionDetails q)
    {
        if (s.LiveVersion(q.VersionId) is not { } version || s.LiveProject(version.ProjectId) is not { } project) return TenantRejected.NotFound;
        return ProjectAllows(project, q.Developer, ProjectPermissionQualifier.PROJECT_VIEWER)
            ? TenantDecision.Answer(s.VersionDetails(version)) : TenantRejected.PermissionNotFound;
    }

    private static TenantDecision GetDeploymentDetails(TenantState s, Q.GetDeploymentDetails q)
    {
        var (deployment, _, project) = DeploymentScope(s, q.DeploymentId, includeDeleted: false);
        if (deployment is null) return TenantRejected.NotFound;
        return ProjectAllows(project!, q.Developer, ProjectPermissionQualifier.PROJECT_VIEWER)
            ? TenantDecision.Answer(s.DeploymentDetails(deployment)) : TenantRejected.PermissionNotFound;
    }
}
