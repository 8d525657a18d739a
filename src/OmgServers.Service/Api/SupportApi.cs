using OmgServers.Actors;
using OmgServers.Contracts;
using OmgServers.Domain.Aliases;
using OmgServers.Domain.Tenants;
using OmgServers.Domain.Users;
using OmgServers.Security;
using OmgServers.Service.ControlPlane;
using OmgServers.Service.Identity;
using C = OmgServers.Domain.Tenants.TenantCommands;

namespace OmgServers.Service.Api;

/// <summary>
/// Support API (contract 2.4), role `support`: tenants and their aliases, projects, developers and the permissions of
/// tenants, projects and stages. Support acts without permission checks inside tenants. create-token is in <see cref="IdentityApi"/>.
/// </summary>
public static class SupportApi
{
    private const string Role = OmgRoles.Support;

    public static IEndpointRouteBuilder MapSupportApi(this IEndpointRouteBuilder app)
    {
        var support = app.MapGroup("/service/v1/entrypoint/support/request").WithTags("support");

        support.MapOmgPost<EmptyRequest, CreateTenantResponse>("/create-tenant", Role, async (_, _, http) =>
        {
            var tenants = Tenants(http);
            var tenantId = tenants.NextId();
            return await tenants.AskAsync<CreateTenantResponse>(tenantId, new C.Create(tenantId, Users.Now()), http.RequestAborted);
        });

        support.MapOmgPost<CreateTenantAliasRequest, EmptyResponse>("/create-tenant-alias", Role, async (r, _, http) =>
        {
            var tenantId = r.TenantId!.Value;
            await Tenants(http).CreateAliasAsync(tenantId, AliasQualifier.TENANT, tenantId, r.Alias!, developer: null, http.RequestAborted);
            return new EmptyResponse();
        });

        support.MapOmgPost<DeleteTenantRequest, DeletedResponse>("/delete-tenant", Role, async (r, _, http) =>
        {
            var tenants = Tenants(http);
            var tenantId = await tenants.ResolveTenantAsync(r.Tenant!, http.RequestAborted);
            var deletion = await tenants.AskAsync<TenantDeletion>(tenantId, new C.Delete(Users.Now()), http.RequestAborted);
            return new DeletedResponse(deletion.Deleted);
        });

        support.MapOmgPost<CreateProjectRequest, CreateProjectResponse>("/create-project", Role, async (r, _, http) =>
        {
            var tenants = Tenants(http);
            var tenantId = await tenants.ResolveTenantAsync(r.Tenant!, http.RequestAborted);
            return await tenants.CreateProjectAsync(tenantId, developer: null, http.RequestAborted);
        });

        support.MapOmgPost<CreateProjectAliasRequest, EmptyResponse>("/create-project-alias", Role, async (r, _, http) =>
        {
            var tenants = Tenants(http);
            var tenantId = await tenants.ResolveTenantAsync(r.Tenant!, http.RequestAborted);
            await tenants.CreateAliasAsync(tenantId, AliasQualifier.PROJECT, r.ProjectId!.Value, r.Alias!, developer: null, http.RequestAborted);
            return new EmptyResponse();
        });

        support.MapOmgPost<DeleteProjectRequest, DeletedResponse>("/delete-project", Role, async (r, _, http) =>
        {
            var tenants = Tenants(http);
            var (tenantId, projectId) = await tenants.ResolveAsync(r.Tenant!, r.Project!, http.RequestAborted);
            var deletion = await tenants.AskAsync<TenantDeletion>(tenantId, new C.DeleteProject(projectId, null, Users.Now()), http.RequestAborted);
            return new DeletedResponse(deletion.Deleted);
        });

        support.MapOmgPost<EmptyRequest, CreateDeveloperResponse>("/create-developer", Role, async (_, _, http) =>
        {
            var (userId, password) = await Service<Users>(http).CreateGeneratedAsync(OmgRoles.Developer, http.RequestAborted);
            return new CreateDeveloperResponse(userId, password);
        });

        // Only developer users: support must not be able to delete the admin or itself through this call.
        support.MapOmgPost<DeleteDeveloperRequest, DeletedResponse>("/delete-developer", Role, async (r, _, http) =>
        {
            var users = Service<Users>(http);
            var user = await users.GetAsync(r.UserId!.Value, http.RequestAborted);
            if (!user.Exists || user.Deleted || user.Role != OmgRoles.Developer) return new DeletedResponse(false);
            var runtime = Service<ActorRuntime>(http);
            return new DeletedResponse(await runtime.AskAsync<bool>(UserEntity.Address(user.Id), new UserCommands.Delete(), ct: http.RequestAborted));
        });

        support.MapOmgPost<CreateTenantPermissionsRequest, CreateTenantPermissionsResponse>("/create-tenant-permissions", Role, async (r, _, http) =>
        {
            var tenants = Tenants(http);
            var tenantId = await tenants.ResolveTenantAsync(r.Tenant!, http.RequestAborted);
            var permissions = r.PermissionsToCreate!.Distinct().ToList();
            return await tenants.AskAsync<CreateTenantPermissionsResponse>(tenantId,
                new C.GrantTenantPermissions(r.UserId!.Value, permissions, tenants.NextIds(permissions.Count), Users.Now()), http.RequestAborted);
        });

        support.MapOmgPost<DeleteTenantPermissionsRequest, DeleteTenantPermissionsResponse>("/delete-tenant-permissions", Role, async (r, _, http) =>
        {
            var tenants = Tenants(http);
            var tenantId = await tenants.ResolveTenantAsync(r.Tenant!, http.RequestAborted);
            return await tenants.AskAsync<DeleteTenantPermissionsResponse>(tenantId,
                new C.RevokeTenantPermissions(r.UserId!.Value, r.PermissionsToDelete!, Users.Now()), http.RequestAborted);
        });

        support.MapOmgPost<CreateProjectPermissionsRequest, CreateProjectPermissionsResponse>("/create-project-permissions", Role, async (r, _, http) =>
        {
            var tenants = Tenants(http);
            var (tenantId, projectId) = await tenants.ResolveAsync(r.Tenant!, r.Project!, http.RequestAborted);
            var permissions = r.PermissionsToCreate!.Distinct().ToList();
            return await tenants.AskAsync<CreateProjectPermissionsResponse>(tenantId,
                new C.GrantProjectPermissions(projectId, r.UserId!.Value, permissions, tenants.NextIds(permissions.Count), Users.Now()), http.RequestAborted);
        });

        support.MapOmgPost<DeleteProjectPermissionsRequest, DeleteProjectPermissionsResponse>("/delete-project-permissions", Role, async (r, _, http) =>
        {
            var tenants = Tenants(http);
            var (tenantId, projectId) = await tenants.ResolveAsync(r.Tenant!, r.Project!, http.RequestAborted);
            return await tenants.AskAsync<DeleteProjectPermissionsResponse>(tenantId,
                new C.RevokeProjectPermissions(projectId, r.UserId!.Value, r.PermissionsToDelete!, Users.Now()), http.RequestAborted);
        });

        support.MapOmgPost<CreateStagePermissionsRequest, CreateStagePermissionsResponse>("/create-stage-permissions", Role, async (r, _, http) =>
        {
            var tenants = Tenants(http);
            var (tenantId, projectId, stageId) = await tenants.ResolveAsync(r.Tenant!, r.Project!, r.Stage!, http.RequestAborted);
            var permissions = r.PermissionsToCreate!.Distinct().ToList();
            return await tenants.AskAsync<CreateStagePermissionsResponse>(tenantId,
                new C.GrantStagePermissions(projectId, stageId, r.UserId!.Value, permissions, tenants.NextIds(permissions.Count), Users.Now()), http.RequestAborted);
        });

        support.MapOmgPost<DeleteStagePermissionsRequest, DeleteStagePermissionsResponse>("/delete-stage-permissions", Role, async (r, _, http) =>
        {
            var tenants = Tenants(http);
            var (tenantId, projectId, stageId) = await tenants.ResolveAsync(r.Tenant!, r.Project!, r.Stage!, http.RequestAborted);
            return await tenants.AskAsync<DeleteStagePermissionsResponse>(tenantId,
                new C.RevokeStagePermissions(projectId, stageId, r.UserId!.Value, r.PermissionsToDelete!, Users.Now()), http.RequestAborted);
        });

        return app;
    }

    private static Tenants Tenants(HttpContext http) => Service<Tenants>(http);

    private static T Service<T>(HttpContext http) where T : notnull => http.RequestServices.GetRequiredService<T>();
}
