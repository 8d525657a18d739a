using System.Text.Json;
using OmgServers.Actors;
using OmgServers.Contracts;
using OmgServers.Domain.Deployments;
using OmgServers.Domain.Lobbies;
using OmgServers.Domain.Matchmaking;
using OmgServers.Domain.Aliases;
using OmgServers.Domain.Tenants;
using OmgServers.Security;
using OmgServers.Service.ControlPlane;
using OmgServers.Service.Identity;
using C = OmgServers.Domain.Tenants.TenantCommands;
using Q = OmgServers.Domain.Tenants.TenantQueries;

namespace OmgServers.Service.Api;

/// <summary>
/// Developer API (contract 2.5), role `developer`: details, projects, stages, versions, images, deployments. Each call
/// passes the caller's user id to the tenant entity, which checks the permission of 2.5's Perm column against its own
/// state. create-token is in <see cref="IdentityApi"/>.
///
/// Not in this product: upload-files-archive (the Jenkins builder) answers 409 FEATURE_DISABLED, as upstream does
/// from 2025-01-26 with the builder off. create-lobby-request adds a lobby to the deployment and delete-lobby removes one
/// (its players are disconnected); create-matchmaker-request adds a matchmaker
/// to the deployment, delete-matchmaker removes one, get-matchmaker-details (ours) shows its queues and matches.
/// </summary>
public static class DeveloperApi
{
    private const string Role = OmgRoles.Developer;

    public static IEndpointRouteBuilder MapDeveloperApi(this IEndpointRouteBuilder app)
    {
        var developer = app.MapGroup("/service/v1/entrypoint/developer/request").WithTags("developer");

        developer.MapOmgPost<TenantRequest, GetTenantDetailsResponse>("/get-tenant-details", Role, async (r, caller, http) =>
        {
            var tenants = Tenants(http);
            var tenantId = await tenants.ResolveTenantAsync(r.Tenant!, http.RequestAborted);
            return new GetTenantDetailsResponse(await tenants.AskAsync<TenantDetails>(tenantId, new Q.GetTenantDetails(caller!.UserId), http.RequestAborted));
        });

        developer.MapOmgPost<CreateProjectRequest, CreateProjectResponse>("/create-project", Role, async (r, caller, http) =>
        {
            var tenants = Tenants(http);
            var tenantId = await tenants.ResolveTenantAsync(r.Tenant!, http.RequestAborted);
            return await tenants.CreateProjectAsync(tenantId, caller!.UserId, http.RequestAborted);
        });

        developer.MapOmgPost<CreateProjectAliasRequest, EmptyResponse>("/create-project-alias", Role, async (r, caller, http) =>
        {
            var tenants = Tenants(http);
            var tenantId = await tenants.ResolveTenantAsync(r.Tenant!, http.RequestAborted);
            await tenants.CreateAliasAsync(tenantId, AliasQualifier.PROJECT, r.ProjectId!.Value, r.Alias!, caller!.UserId, http.RequestAborted);
            return new EmptyResponse();
        });

        developer.MapOmgPost<ProjectRequest, GetProjectDetailsResponse>("/get-project-details", Role, async (r, caller, http) =>
        {
            var tenants = Tenants(http);
            var (tenantId, projectId) = await tenants.ResolveAsync(r.Tenant!, r.Project!, http.RequestAborted);
            return new GetProjectDetailsResponse(await tenants.AskAsync<ProjectDetails>(tenantId, new Q.GetProjectDetails(projectId, caller!.UserId), http.RequestAborted));
        });

        developer.MapOmgPost<DeleteProjectRequest, DeletedResponse>("/delete-project", Role, async (r, caller, http) =>
        {
            var tenants = Tenants(http);
            var (tenantId, projectId) = await tenants.ResolveAsync(r.Tenant!, r.Project!, http.RequestAborted);
            var deletion = await tenants.AskAsync<TenantDeletion>(tenantId, new C.DeleteProject(projectId, caller!.UserId, Users.Now()), http.RequestAborted);
            return new DeletedResponse(deletion.Deleted);
        });

        developer.MapOmgPost<ProjectRequest, CreateStageResponse>("/create-stage", Role, async (r, caller, http) =>
        {
            var tenants = Tenants(http);
            var (tenantId, projectId) = await tenants.ResolveAsync(r.Tenant!, r.Project!, http.RequestAborted);
            return await tenants.AskAsync<CreateStageResponse>(tenantId,
                new C.CreateStage(projectId, tenants.NextId(), tenants.NextId(), caller!.UserId, Users.Now()), http.RequestAborted);
        });

        developer.MapOmgPost<CreateStageAliasRequest, EmptyResponse>("/create-stage-alias", Role, async (r, caller, http) =>
        {
            var tenants = Tenants(http);
            var tenantId = await tenants.ResolveTenantAsync(r.Tenant!, http.RequestAborted);
            await tenants.CreateAliasAsync(tenantId, AliasQualifier.STAGE, r.StageId!.Value, r.Alias!, caller!.UserId, http.RequestAborted);
            return new EmptyResponse();
        });

        developer.MapOmgPost<StageRequest, GetStageDetailsResponse>("/get-stage-details", Role, async (r, caller, http) =>
        {
            var tenants = Tenants(http);
            var (tenantId, projectId, stageId) = await tenants.ResolveAsync(r.Tenant!, r.Project!, r.Stage!, http.RequestAborted);
            return new GetStageDetailsResponse(await tenants.AskAsync<StageDetails>(tenantId, new Q.GetStageDetails(projectId, stageId, caller!.UserId), http.RequestAborted));
        });

        developer.MapOmgPost<StageRequest, DeletedResponse>("/delete-stage", Role, async (r, caller, http) =>
        {
            var tenants = Tenants(http);
            var (tenantId, projectId, stageId) = await tenants.ResolveAsync(r.Tenant!, r.Project!, r.Stage!, http.RequestAborted);
            var deletion = await tenants.AskAsync<TenantDeletion>(tenantId, new C.DeleteStage(projectId, stageId, caller!.UserId, Users.Now()), http.RequestAborted);
            return new DeletedResponse(deletion.Deleted);
        });

        developer.MapOmgPost<CreateVersionRequest, CreateVersionResponse>("/create-version", Role, async (r, caller, http) =>
        {
            if (r.Config!.FirstViolation() is { } violation)
                throw ApiException.BadRequest(Qualifier.VALIDATION_CONSTRAINT_VIOLATED, "config: " + violation);
            var tenants = Tenants(http);
            var (tenantId, projectId) = await tenants.ResolveAsync(r.Tenant!, r.Project!, http.RequestAborted);
            // Stored as the contract's JSON (what runtimes receive later), without fields the contract does not know.
            var config = JsonSerializer.SerializeToElement(r.Config, WireJson.Options);
            return await tenants.AskAsync<CreateVersionResponse>(tenantId,
                new C.CreateVersion(projectId, tenants.NextId(), config, caller!.UserId, Users.Now()), http.RequestAborted);
        });

        developer.MapFeatureDisabled("/upload-files-archive", Role);

        developer.MapOmgPost<GetVersionDetailsRequest, GetVersionDetailsResponse>("/get-version-details", Role, async (r, caller, http) =>
        {
            var tenants = Tenants(http);
            var tenantId = await tenants.ResolveTenantAsync(r.Tenant!, http.RequestAborted);
            return new GetVersionDetailsResponse(await tenants.AskAsync<VersionDetails>(tenantId, new Q.GetVersionDetails(r.VersionId!.Value, caller!.UserId), http.RequestAborted));
        });

        developer.MapOmgPost<DeleteByIdRequest, DeletedResponse>("/delete-version", Role, async (r, caller, http) =>
        {
            var tenants = Tenants(http);
            var tenantId = await tenants.ResolveTenantAsync(r.Tenant!, http.RequestAborted);
            var deletion = await tenants.AskAsync<TenantDeletion>(tenantId, new C.DeleteVersion(r.Id!.Value, caller!.UserId, Users.Now()), http.RequestAborted);
            return new DeletedResponse(deletion.Deleted);
        });

        // Later upstream's create-image: how an image (a Docker image or one of our process runtimes) joins a version.
        developer.MapOmgPost<CreateImageRequest, CreateImageResponse>("/create-image", Role, async (r, caller, http) =>
        {
            var tenants = Tenants(http);
            var tenantId = await tenants.ResolveTenantAsync(r.Tenant!, http.RequestAborted);
            return await tenants.AskAsync<CreateImageResponse>(tenantId,
                new C.CreateImage(r.VersionId!.Value, tenants.NextId(), r.Qualifier!.Value, r.ImageId!, caller!.UserId, Users.Now()), http.RequestAborted);
        });

        developer.MapOmgPost<DeployVersionRequest, DeployVersionResponse>("/deploy-version", Role, async (r, caller, http) =>
        {
            var tenants = Tenants(http);
            var (tenantId, projectId, stageId) = await tenants.ResolveAsync(r.Tenant!, r.Project!, r.Stage!, http.RequestAborted);
            var ids = tenants.NextIds(6);
            return await tenants.AskAsync<DeployVersionResponse>(tenantId,
                new C.DeployVersion(projectId, stageId, r.VersionId!.Value, DeploymentId: ids[0], QueueId: ids[1],
                    LobbyRequestId: ids[2], LobbyId: ids[3], MatchmakerRequestId: ids[4], MatchmakerId: ids[5], caller!.UserId, Users.Now()),
                http.RequestAborted);
        });

        developer.MapOmgPost<DeploymentRequest, GetDeploymentDetailsResponse>("/get-deployment-details", Role, async (r, caller, http) =>
        {
            var tenants = Tenants(http);
            var tenantId = await tenants.ResolveTenantAsync(r.Tenant!, http.RequestAborted);
            var details = await tenants.AskAsync<DeploymentDetails>(tenantId, new Q.GetDeploymentDetails(r.DeploymentId!.Value, caller!.UserId), http.RequestAborted);
            // The lobbies and the matchmaker live in the deployment entity: its view gives the refs (ref id = target id).
            var view = await http.RequestServices.GetRequiredService<ActorRuntime>().AskAsync<DeploymentView>(
                DeploymentEntity.Address(r.DeploymentId.Value), new DeploymentCommands.GetView(), ct: http.RequestAborted);
            if (!view.Started) return new GetDeploymentDetailsResponse(details);
            return new GetDeploymentDetailsResponse(details with
            {
                LobbyRefs = view.Lobbies.Select(l => new LobbyRefDto(l.LobbyId, l.Created, l.LobbyId)).ToList(),
                MatchmakerRefs = view.MatchmakerId == 0 ? [] : [new MatchmakerRefDto(view.MatchmakerId, view.Started ? view.StartedAt : details.Deployment.Created, view.MatchmakerId)],
            });
        });

        developer.MapOmgPost<DeleteByIdRequest, DeletedResponse>("/delete-deployment", Role, async (r, caller, http) =>
        {
            var tenants = Tenants(http);
            var tenantId = await tenants.ResolveTenantAsync(r.Tenant!, http.RequestAborted);
            var deletion = await tenants.AskAsync<TenantDeletion>(tenantId, new C.DeleteDeployment(r.Id!.Value, caller!.UserId, Users.Now()), http.RequestAborted);
            return new DeletedResponse(deletion.Deleted);
        });

        developer.MapOmgPost<DeploymentRequest, EmptyResponse>("/create-lobby-request", Role, async (r, caller, http) =>
        {
            var tenants = Tenants(http);
            var tenantId = await tenants.ResolveTenantAsync(r.Tenant!, http.RequestAborted);
            await tenants.AskAsync<TenantAck>(tenantId,
                new C.RequestLobby(r.DeploymentId!.Value, tenants.NextId(), tenants.NextId(), caller!.UserId, Users.Now()), http.RequestAborted);
            return new EmptyResponse();
        });

        developer.MapOmgPost<DeploymentRequest, EmptyResponse>("/create-matchmaker-request", Role, async (r, caller, http) =>
        {
            var tenants = Tenants(http);
            var tenantId = await tenants.ResolveTenantAsync(r.Tenant!, http.RequestAborted);
            await tenants.AskAsync<TenantAck>(tenantId,
                new C.RequestMatchmaker(r.DeploymentId!.Value, tenants.NextId(), tenants.NextId(), caller!.UserId, Users.Now()), http.RequestAborted);
            return new EmptyResponse();
        });

        // Contract 5.9: like an inactive lobby, its clients are disconnected with INTERNAL_FAILURE. An unknown or already
        // deleted lobby answers deleted: false; the developer needs to see the lobby's deployment.
        developer.MapOmgPost<DeleteLobbyRequest, DeletedResponse>("/delete-lobby", Role, async (r, caller, http) =>
        {
            var actors = http.RequestServices.GetRequiredService<ActorRuntime>();
            var lobby = await actors.AskAsync<LobbyInfo>(LobbyEntity.Address(r.LobbyId!.Value), new LobbyCommands.Get(), ct: http.RequestAborted);
            if (!lobby.Exists) return new DeletedResponse(false);
            await Tenants(http).AskAsync<DeploymentDetails>(lobby.TenantId, new Q.GetDeploymentDetails(lobby.DeploymentId, caller!.UserId), http.RequestAborted);
            return await actors.AskAsync<DeletedResponse>(DeploymentEntity.Address(lobby.DeploymentId), new DeploymentCommands.DeleteLobby(r.LobbyId.Value), ct: http.RequestAborted);
        });
        // Contract 5.9: its requests, matches and match runtimes go; players of its matches go back to a lobby.
        developer.MapOmgPost<DeleteMatchmakerRequest, DeletedResponse>("/delete-matchmaker", Role, async (r, caller, http) =>
        {
            var actors = http.RequestServices.GetRequiredService<ActorRuntime>();
            var view = await actors.AskAsync<MatchmakerView>(MatchmakerEntity.Address(r.MatchmakerId!.Value), new MatchmakerCommands.GetView(), ct: http.RequestAborted);
            if (!view.Started || view.Deleted) return new DeletedResponse(false);
            await Tenants(http).AskAsync<DeploymentDetails>(view.TenantId, new Q.GetDeploymentDetails(view.DeploymentId, caller!.UserId), http.RequestAborted);
            return await actors.AskAsync<DeletedResponse>(MatchmakerEntity.Address(r.MatchmakerId.Value), new MatchmakerCommands.Delete(null), ct: http.RequestAborted);
        });

        // Ours: a matchmaker's queue per mode, its matches and its latest refused requests (a developer's view of 5.5).
        developer.MapOmgPost<GetMatchmakerDetailsRequest, GetMatchmakerDetailsResponse>("/get-matchmaker-details", Role, async (r, caller, http) =>
        {
            var actors = http.RequestServices.GetRequiredService<ActorRuntime>();
            var view = await actors.AskAsync<MatchmakerView>(MatchmakerEntity.Address(r.MatchmakerId!.Value), new MatchmakerCommands.GetView(), ct: http.RequestAborted);
            if (!view.Started || view.Deleted) throw ApiException.NotFound(Qualifier.OBJECT_NOT_FOUND);
            await Tenants(http).AskAsync<DeploymentDetails>(view.TenantId, new Q.GetDeploymentDetails(view.DeploymentId, caller!.UserId), http.RequestAborted);
            return new GetMatchmakerDetailsResponse(new MatchmakerDetailsDto(view.MatchmakerId, view.DeploymentId,
                view.Queues.Select(q => new MatchmakerQueueDto(q.Mode, q.Waiting, q.Unsatisfiable)).ToList(),
                view.Matches.Select(m => new MatchmakerMatchDto(m.MatchId, m.RuntimeId, m.Mode, m.Open ? "OPENED" : "CLOSED", m.Created, m.Players, m.Groups)).ToList(),
                view.Refused.Select(x => new MatchmakerRefusalDto(x.ClientId, x.Mode, x.Reason, x.At)).ToList()));
        });

        return app;
    }

    private static Tenants Tenants(HttpContext http) => http.RequestServices.GetRequiredService<Tenants>();
}
