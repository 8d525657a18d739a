using System.Globalization;
using OmgServers.Actors;
using OmgServers.Contracts;
using OmgServers.Domain.Aliases;
using OmgServers.Domain.Deployments;
using C = OmgServers.Domain.Tenants.TenantCommands;
using E = OmgServers.Domain.Tenants.TenantEvents;
using Q = OmgServers.Domain.Tenants.TenantQueries;

namespace OmgServers.Domain.Tenants;

/// <summary>
/// One tenant and everything in it (type "tenant", id = the decimal tenant id, which is also the shard key as in
/// contract 6.1). A thin shell around <see cref="TenantDecider"/>: decide, persist the events, hand the aliases to
/// release to reliable delivery (stored atomically with the events, redelivered until the alias entity confirms),
/// then reply. An unknown tenant id answers not found and passivates, so probing ids keeps nothing in memory.
/// </summary>
public sealed class TenantEntity : PersistentEntity<TenantState>
{
    public const string TypeName = "tenant";

    public static EntityAddress Address(long tenantId) => new(TypeName, tenantId.ToString(CultureInfo.InvariantCulture));

    protected override TenantState CreateInitialState() => TenantState.Empty;

    protected override TenantState Apply(TenantState state, object @event) => state.Apply(@event);

    protected override async ValueTask<object?> HandleAsync(object message)
    {
        if (message is not ITenantMessage command) return null;

        var decision = TenantDecider.Decide(State, command);
        foreach (var alias in decision.Releases)
            Deliver(AliasAddress(alias), new AliasCommands.Release(alias.EntityId));
        if (decision.Events.Count > 0)
        {
            TellDeployments(decision.Events);
            await PersistAsync(decision.Events);
        }
        if (!State.Exists) Context.Passivate();
        return decision.Reply;
    }

    /// <summary>
    /// What the deployments must learn from these events, delivered atomically with them: a new deployment starts, a
    /// requested lobby is created, and every deployment that stops being live (deleted, replaced, or under a deleted
    /// stage, project or tenant) is deleted with its lobbies.
    /// </summary>
    private void TellDeployments(IReadOnlyList<object> events)
    {
        var before = State;
        var after = events.Aggregate(before, (s, e) => s.Apply(e));
        foreach (var evt in events)
        {
            switch (evt)
            {
                case E.DeploymentCreated created when after.Versions.TryGetValue(created.VersionId, out var version) && after.Stages.TryGetValue(created.StageId, out var stage):
                    var matchmaker = events.OfType<E.MatchmakerRequested>().FirstOrDefault(m => m.DeploymentId == created.DeploymentId)?.MatchmakerId ?? 0;
                    var firstLobby = events.OfType<E.LobbyRequested>().FirstOrDefault(l => l.DeploymentId == created.DeploymentId)?.LobbyId;
                    Deliver(DeploymentEntity.Address(created.DeploymentId), new DeploymentCommands.Start(after.TenantId, stage.ProjectId, stage.Id, version.Id,
                        version.Config, version.Images.Select(i => new DeploymentImage(i.Qualifier, i.ImageId)).ToList(), matchmaker, created.At, firstLobby));
                    break;
                case E.LobbyRequested lobby:
                    Deliver(DeploymentEntity.Address(lobby.DeploymentId), new DeploymentCommands.RequestLobby(lobby.LobbyId));
                    break;
                case E.MatchmakerRequested extra when !events.OfType<E.DeploymentCreated>().Any(d => d.DeploymentId == extra.DeploymentId):
                    // The first matchmaker comes with the deployment's start; this is a developer's extra one.
                    Deliver(DeploymentEntity.Address(extra.DeploymentId), new DeploymentCommands.RequestMatchmaker(extra.MatchmakerId));
                    break;
            }
        }
        foreach (var deployment in before.Deployments.Values)
            if (IsLive(before, deployment.Id) && !IsLive(after, deployment.Id))
                Deliver(DeploymentEntity.Address(deployment.Id), new DeploymentCommands.Delete());
    }

    private static bool IsLive(TenantState s, long deploymentId) =>
        s.LiveDeployment(deploymentId) is { } d && s.LiveStage(d.StageId) is { } stage && s.LiveProject(stage.ProjectId) is not null;

    private EntityAddress AliasAddress(AliasRecord alias)
    {
        var projectId = alias.Qualifier == AliasQualifier.STAGE && State.Stages.TryGetValue(alias.EntityId, out var stage) ? stage.ProjectId : 0;
        var ns = AliasNamespace.Of(alias.Qualifier, State.TenantId, projectId);
        return AliasEntity.Address(alias.Qualifier, ns.ShardKey, ns.UniquenessGroup, alias.Value);
    }

    public static void Register(EntityRegistryBuilder r) => r.Entity<TenantEntity>(TypeName)
        .Event<E.Created>("tenant.created")
        .Event<E.Deleted>("tenant.deleted")
        .Event<E.TenantPermissionGranted>("tenant.tenant-permission-granted")
        .Event<E.TenantPermissionRevoked>("tenant.tenant-permission-revoked")
        .Event<E.ProjectPermissionGranted>("tenant.project-permission-granted")
        .Event<E.ProjectPermissionRevoked>("tenant.project-permission-revoked")
        .Event<E.StagePermissionGranted>("tenant.stage-permission-granted")
        .Event<E.StagePermissionRevoked>("tenant.stage-permission-revoked")
        .Event<E.ProjectCreated>("tenant.project-created")
        .Event<E.ProjectDeleted>("tenant.project-deleted")
        .Event<E.StageCreated>("tenant.stage-created")
        .Event<E.StageDeleted>("tenant.stage-deleted")
        .Event<E.AliasRecorded>("tenant.alias-recorded")
        .Event<E.VersionCreated>("tenant.version-created")
        .Event<E.VersionDeleted>("tenant.version-deleted")
        .Event<E.ImageCreated>("tenant.image-created")
        .Event<E.DeploymentCreated>("tenant.deployment-created")
        .Event<E.DeploymentDeleted>("tenant.deployment-deleted")
        .Event<E.LobbyRequested>("tenant.lobby-requested")
        .Event<E.MatchmakerRequested>("tenant.matchmaker-requested")
        .Message<C.Create>("tenant.create")
        .Message<C.Delete>("tenant.delete")
        .Message<C.GrantTenantPermissions>("tenant.grant-tenant-permissions")
        .Message<C.RevokeTenantPermissions>("tenant.revoke-tenant-permissions")
        .Message<C.GrantProjectPermissions>("tenant.grant-project-permissions")
        .Message<C.RevokeProjectPermissions>("tenant.revoke-project-permissions")
        .Message<C.GrantStagePermissions>("tenant.grant-stage-permissions")
        .Message<C.RevokeStagePermissions>("tenant.revoke-stage-permissions")
        .Message<C.CreateProject>("tenant.create-project")
        .Message<C.DeleteProject>("tenant.delete-project")
        .Message<C.CreateStage>("tenant.create-stage")
        .Message<C.DeleteStage>("tenant.delete-stage")
        .Message<C.CheckAliasTarget>("tenant.check-alias-target")
        .Message<C.RecordAlias>("tenant.record-alias")
        .Message<C.CreateVersion>("tenant.create-version")
        .Message<C.DeleteVersion>("tenant.delete-version")
        .Message<C.CreateImage>("tenant.create-image")
        .Message<C.DeployVersion>("tenant.deploy-version")
        .Message<C.DeleteDeployment>("tenant.delete-deployment")
        .Message<C.RequestLobby>("tenant.request-lobby")
        .Message<C.RequestMatchmaker>("tenant.request-matchmaker")
        .Message<Q.GetTenantDetails>("tenant.get-tenant-details")
        .Message<Q.GetProjectDetails>("tenant.get-project-details")
        .Message<Q.GetStageDetails>("tenant.get-stage-details")
        .Message<Q.GetVersionDetails>("tenant.get-version-details")
        .Message<Q.GetDeploymentDetails>("tenant.get-deployment-details")
        .Message<TenantRejected>("tenant.rejected")
        .Message<AliasNamespace>("tenant.alias-namespace")
        .Message<TenantAck>("tenant.reply.ack")
        .Message<TenantDeletion>("tenant.reply.deletion")
        .Message<CreateTenantResponse>("tenant.reply.tenant-created")
        .Message<CreateProjectResponse>("tenant.reply.project-created")
        .Message<CreateStageResponse>("tenant.reply.stage-created")
        .Message<CreateVersionResponse>("tenant.reply.version-created")
        .Message<CreateImageResponse>("tenant.reply.image-created")
        .Message<DeployVersionResponse>("tenant.reply.deployment-created")
        .Message<CreateTenantPermissionsResponse>("tenant.reply.tenant-permissions-created")
        .Message<DeleteTenantPermissionsResponse>("tenant.reply.tenant-permissions-deleted")
        .Message<CreateProjectPermissionsResponse>("tenant.reply.project-permissions-created")
        .Message<DeleteProjectPermissionsResponse>("tenant.reply.project-permissions-deleted")
        .Message<CreateStagePermissionsResponse>("tenant.reply.stage-permissions-created")
        .Message<DeleteStagePermissionsResponse>("tenant.reply.stage-permissions-deleted")
        .Message<TenantDetails>("tenant.reply.tenant-details")
        .Message<ProjectDetails>("tenant.reply.project-details")
        .Message<StageDetails>("tenant.reply.stage-details")
        .Message<VersionDetails>("tenant.reply.version-details")
        .Message<DeploymentDetails>("tenant.reply.deployment-details");
}
