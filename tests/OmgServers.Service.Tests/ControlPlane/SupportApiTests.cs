using System.Net;
using System.Text.Json;
using FluentAssertions;
using Xunit;

namespace OmgServers.Service.Tests.ControlPlane;

/// <summary>Support API (contract 2.4) over real HTTP: tenants, aliases, projects, developers, permissions, and refusals.</summary>
public sealed class SupportApiTests(ControlPlaneFixture f) : IClassFixture<ControlPlaneFixture>
{
    private static string Unique(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..12];

    /// <summary>Tenant details as a viewer sees them: the raw JSON, to compare before and after a refused call.</summary>
    private async Task<string> TenantDetailsAsync(long tenantId, Developer viewer) =>
        (await f.DevAsync(viewer, "get-tenant-details", new { tenant = tenantId.ToString() })).Ok().Text;

    [Fact]
    public async Task Tenants_get_aliases_that_resolve_and_are_unique()
    {
        var alias = Unique("tenant");
        var tenantId = await f.NewTenantAsync();
        (await f.SupportAsync("create-tenant-alias", new { tenant_id = tenantId.ToString(), alias, unknown_field = 1 })).Ok().Text.Should().Be("{}");
        (await f.SupportAsync("create-tenant-alias", new { tenant_id = tenantId, alias })).Ok().Text.Should().Be("{}", "naming the same tenant again is a no-op");

        var other = await f.NewTenantAsync();
        (await f.SupportAsync("create-tenant-alias", new { tenant_id = other, alias })).Fails(400, "DB_CONSTRAINT_VIOLATED", "another tenant holds the alias");
        (await f.SupportAsync("create-tenant-alias", new { tenant_id = 123456789L, alias = Unique("x") })).Fails(404, "OBJECT_NOT_FOUND", "no such tenant");

        // The alias resolves wherever a `tenant` string is accepted.
        var viewer = await f.NewDeveloperAsync();
        await f.GrantTenantAsync(alias, viewer, "TENANT_VIEWER");
        var details = (await f.DevAsync(viewer, "get-tenant-details", new { tenant = alias })).Ok().Body.GetProperty("details");
        var tenant = details.GetProperty("tenant");
        tenant.GetProperty("id").GetString().Should().Be(tenantId.ToString());
        var aliases = tenant.GetProperty("aliases").EnumerateArray().ToList();
        aliases.Should().ContainSingle();
        aliases[0].EnumerateObject().Select(p => p.Name).Should().Equal("id", "created", "qualifier", "entity_id", "value");
        aliases[0].GetProperty("qualifier").GetString().Should().Be("TENANT");
        aliases[0].GetProperty("entity_id").GetString().Should().Be(tenantId.ToString());
        aliases[0].GetProperty("value").GetString().Should().Be(alias);
        aliases[0].GetProperty("created").GetString().Should().EndWith("Z");

        (await f.SupportAsync("delete-tenant", new { tenant = Unique("nobody") })).Fails(404, "OBJECT_NOT_FOUND", "an unknown alias");
    }

    [Fact]
    public async Task Deleting_a_tenant_hides_everything_in_it_and_releases_its_aliases()
    {
        var alias = Unique("doomed");
        var projectAlias = Unique("game");
        var (tenantId, developer) = await f.NewTenantWithDeveloperAsync();
        (await f.SupportAsync("create-tenant-alias", new { tenant_id = tenantId, alias })).Ok();
        var (projectId, stageId) = await f.NewProjectAsync(tenantId, developer);
        (await f.SupportAsync("create-project-alias", new { tenant = alias, project_id = projectId, alias = projectAlias })).Ok();

        (await f.SupportAsync("delete-tenant", new { tenant = alias })).Ok().Body.GetProperty("deleted").GetBoolean().Should().BeTrue();
        (await f.SupportAsync("delete-tenant", new { tenant = tenantId.ToString() })).Ok().Body.GetProperty("deleted").GetBoolean().Should().BeFalse("it was deleted before");
        (await f.SupportAsync("delete-tenant", new { tenant = alias })).Fails(404, "OBJECT_NOT_FOUND", "the alias went with the tenant");
        (await f.DevAsync(developer, "get-tenant-details", new { tenant = tenantId.ToString() })).Fails(404, "OBJECT_NOT_FOUND");
        (await f.DevAsync(developer, "get-project-details", new { tenant = tenantId.ToString(), project = projectId.ToString() })).Fails(404, "OBJECT_NOT_FOUND");
        (await f.SupportAsync("create-project", new { tenant = tenantId.ToString() })).Fails(404, "OBJECT_NOT_FOUND");
        (await f.SupportAsync("create-tenant-permissions", new { tenant = tenantId.ToString(), user_id = developer.UserId, permissions_to_create = new[] { "TENANT_VIEWER" } }))
            .Fails(404, "OBJECT_NOT_FOUND");
        (await f.SupportAsync("create-stage-permissions", new { tenant = tenantId.ToString(), project = projectId.ToString(), stage = stageId.ToString(), user_id = developer.UserId, permissions_to_create = new[] { "DEPLOYMENT_MANAGER" } }))
            .Fails(404, "OBJECT_NOT_FOUND");

        // The released alias can name another tenant (released by reliable delivery: wait for it with a deadline).
        var next = await f.NewTenantAsync();
        ApiResponse? claim = null;
        (await Infrastructure.Eventually.TrueAsync(async () =>
        {
            claim = await f.SupportAsync("create-tenant-alias", new { tenant_id = next, alias });
            return claim.Status == HttpStatusCode.OK;
        }, TimeSpan.FromSeconds(10))).Should().BeTrue(claim?.Text);
        await f.GrantTenantAsync(alias, developer, "TENANT_VIEWER");
        (await f.DevAsync(developer, "get-tenant-details", new { tenant = alias })).Ok().Body.GetProperty("details").GetProperty("tenant").GetProperty("id").GetString()
            .Should().Be(next.ToString());
    }

    [Fact]
    public async Task Support_projects_grant_only_the_builder_and_service_users_and_delete_with_their_aliases()
    {
        var tenantAlias = Unique("studio");
        var tenantId = await f.NewTenantAsync(tenantAlias);
        var viewer = await f.NewDeveloperAsync();
        await f.GrantTenantAsync(tenantId, viewer, "TENANT_VIEWER");

        var created = (await f.SupportAsync("create-project", new { tenant = tenantAlias })).Ok();
        created.Body.EnumerateObject().Select(p => p.Name).Should().Equal("project_id", "stage_id");
        var projectId = created.Id("project_id");
        var stageId = created.Id("stage_id");

        // Support sees no details endpoint: grant the viewer PROJECT_VIEWER to look.
        (await f.SupportAsync("create-project-permissions", new { tenant = tenantAlias, project = projectId.ToString(), user_id = viewer.UserId.ToString(), permissions_to_create = new[] { "PROJECT_VIEWER" } }))
            .Ok().Text.Should().Be("""{"created_permissions":["PROJECT_VIEWER"]}""");
        var project = (await f.DevAsync(viewer, "get-project-details", new { tenant = tenantAlias, project = projectId.ToString() })).Ok().Body.GetProperty("details");
        var grants = project.GetProperty("permissions").EnumerateArray()
            .Select(p => (User: long.Parse(p.GetProperty("user_id").GetString()!), Permission: p.GetProperty("permission").GetString()!)).ToList();
        grants.Should().BeEquivalentTo(new[]
        {
            (f.BuilderUserId, "VERSION_MANAGER"), (f.ServiceUserId, "VERSION_MANAGER"), (viewer.UserId, "PROJECT_VIEWER"),
        }, "support-created projects grant nobody but the builder and service users (contract 6.5)");
        project.GetProperty("stages").EnumerateArray().Single().GetProperty("id").GetString().Should().Be(stageId.ToString());
        project.GetProperty("stages")[0].GetProperty("project_id").GetString().Should().Be(projectId.ToString());

        var alias = Unique("game");
        (await f.SupportAsync("create-project-alias", new { tenant = tenantAlias, project_id = projectId.ToString(), alias })).Ok().Text.Should().Be("{}");
        var second = (await f.SupportAsync("create-project", new { tenant = tenantId.ToString() })).Ok().Id("project_id");
        (await f.SupportAsync("create-project-alias", new { tenant = tenantAlias, project_id = second, alias })).Fails(400, "DB_CONSTRAINT_VIOLATED", "unique per tenant");
        var otherTenant = await f.NewTenantAsync();
        var otherProject = (await f.SupportAsync("create-project", new { tenant = otherTenant.ToString() })).Ok().Id("project_id");
        (await f.SupportAsync("create-project-alias", new { tenant = otherTenant.ToString(), project_id = otherProject, alias })).Ok("another tenant's namespace");
        (await f.SupportAsync("create-project-alias", new { tenant = tenantAlias, project_id = otherProject, alias = Unique("x") })).Fails(404, "OBJECT_NOT_FOUND", "a project of another tenant");

        (await f.SupportAsync("delete-project", new { tenant = tenantAlias, project = alias })).Ok().Text.Should().Be("""{"deleted":true}""");
        (await f.SupportAsync("delete-project", new { tenant = tenantAlias, project = projectId.ToString() })).Ok().Text.Should().Be("""{"deleted":false}""");
        (await f.SupportAsync("delete-project", new { tenant = tenantAlias, project = alias })).Fails(404, "OBJECT_NOT_FOUND", "the alias was released");
        (await f.SupportAsync("delete-project", new { tenant = tenantAlias, project = "424242" })).Fails(404, "OBJECT_NOT_FOUND");
        var tenant = (await f.DevAsync(viewer, "get-tenant-details", new { tenant = tenantAlias })).Ok().Body.GetProperty("details");
        tenant.GetProperty("projects").EnumerateArray().Select(p => p.GetProperty("id").GetString()).Should().Equal(second.ToString());
        (await Infrastructure.Eventually.TrueAsync(async () =>
            (await f.SupportAsync("create-project-alias", new { tenant = tenantAlias, project_id = second, alias })).Status == HttpStatusCode.OK,
            TimeSpan.FromSeconds(10))).Should().BeTrue("the deleted project's alias is free again");
    }

    [Fact]
    public async Task Developers_are_created_log_in_and_are_deleted()
    {
        var developer = await f.NewDeveloperAsync();
        var claims = ControlPlaneFixture.SubjectOf(developer.Token);
        claims.Should().Be(developer.UserId);
        developer.Password.Should().HaveLength(32);

        (await f.SupportAsync("delete-developer", new { user_id = developer.UserId.ToString() })).Ok().Text.Should().Be("""{"deleted":true}""");
        (await f.SupportAsync("delete-developer", new { user_id = developer.UserId })).Ok().Text.Should().Be("""{"deleted":false}""");
        (await f.PostAsync(ControlPlaneFixture.Dev + "/create-token", new { user_id = developer.UserId, password = developer.Password }))
            .Fails(401, "USER_NOT_FOUND", "a deleted user cannot log in");
        (await f.SupportAsync("delete-developer", new { user_id = 987654321L })).Ok().Text.Should().Be("""{"deleted":false}""");
        (await f.SupportAsync("delete-developer", new { user_id = f.ServiceUserId })).Ok().Text.Should().Be("""{"deleted":false}""", "only developers are deleted here");
        (await f.PostAsync(ControlPlaneFixture.Entry + "/admin/request/create-token", new { user = "service", password = "service-Pass-4" })).Ok();
    }

    [Fact]
    public async Task Permissions_list_only_what_changed_at_tenant_project_and_stage_level()
    {
        var tenantAlias = Unique("perm");
        var tenantId = await f.NewTenantAsync(tenantAlias);
        var user = await f.NewDeveloperAsync();
        var project = (await f.SupportAsync("create-project", new { tenant = tenantAlias })).Ok();
        var projectId = project.Id("project_id").ToString();
        var stageId = project.Id("stage_id").ToString();

        (await f.SupportAsync("create-tenant-permissions", new { tenant = tenantAlias, user_id = user.UserId, permissions_to_create = new[] { "TENANT_VIEWER", "TENANT_VIEWER" } }))
            .Ok().Text.Should().Be("""{"created_permissions":["TENANT_VIEWER"]}""");
        (await f.SupportAsync("create-tenant-permissions", new { tenant = tenantId.ToString(), user_id = user.UserId.ToString(), permissions_to_create = new[] { "PROJECT_MANAGER", "TENANT_VIEWER" } }))
            .Ok().Text.Should().Be("""{"created_permissions":["PROJECT_MANAGER"]}""");
        (await f.SupportAsync("delete-tenant-permissions", new { tenant = tenantAlias, user_id = user.UserId, permissions_to_delete = new[] { "PROJECT_MANAGER" } }))
            .Ok().Text.Should().Be("""{"deleted_permissions":["PROJECT_MANAGER"]}""");
        (await f.SupportAsync("delete-tenant-permissions", new { tenant = tenantAlias, user_id = user.UserId, permissions_to_delete = new[] { "PROJECT_MANAGER" } }))
            .Ok().Text.Should().Be("""{"deleted_permissions":[]}""");
        var tenant = (await f.DevAsync(user, "get-tenant-details", new { tenant = tenantAlias })).Ok().Body.GetProperty("details");
        var permission = tenant.GetProperty("permissions").EnumerateArray().Single();
        permission.EnumerateObject().Select(p => p.Name).Should().Equal("id", "tenant_id", "created", "user_id", "permission");
        permission.GetProperty("tenant_id").GetString().Should().Be(tenantId.ToString());
        permission.GetProperty("user_id").GetString().Should().Be(user.UserId.ToString());
        permission.GetProperty("permission").GetString().Should().Be("TENANT_VIEWER");
        (await f.DevAsync(user, "create-project", new { tenant = tenantAlias })).Fails(403, "PERMISSION_NOT_FOUND", "PROJECT_MANAGER was revoked");

        (await f.SupportAsync("create-project-permissions", new { tenant = tenantAlias, project = projectId, user_id = user.UserId, permissions_to_create = new[] { "STAGE_MANAGER", "PROJECT_VIEWER" } }))
            .Ok().Text.Should().Be("""{"created_permissions":["STAGE_MANAGER","PROJECT_VIEWER"]}""");
        (await f.SupportAsync("delete-project-permissions", new { tenant = tenantAlias, project = projectId, user_id = user.UserId, permissions_to_delete = new[] { "STAGE_MANAGER", "VERSION_MANAGER" } }))
            .Ok().Text.Should().Be("""{"deleted_permissions":["STAGE_MANAGER"]}""");
        var projectPermissions = (await f.DevAsync(user, "get-project-details", new { tenant = tenantAlias, project = projectId })).Ok()
            .Body.GetProperty("details").GetProperty("permissions").EnumerateArray().Where(p => p.GetProperty("user_id").GetString() == user.UserId.ToString()).ToList();
        projectPermissions.Select(p => p.GetProperty("permission").GetString()).Should().Equal("PROJECT_VIEWER");
        projectPermissions[0].EnumerateObject().Select(p => p.Name).Should().Equal("id", "tenant_id", "project_id", "created", "user_id", "permission");

        (await f.SupportAsync("create-stage-permissions", new { tenant = tenantAlias, project = projectId, stage = stageId, user_id = user.UserId, permissions_to_create = new[] { "DEPLOYMENT_MANAGER", "STAGE_VIEWER" } }))
            .Ok().Text.Should().Be("""{"created_permissions":["DEPLOYMENT_MANAGER","STAGE_VIEWER"]}""");
        // The CLI sends this one's user_id unquoted (contract 8.4).
        (await f.SupportAsync("delete-stage-permissions", new { tenant = tenantAlias, project = projectId, stage = stageId, user_id = user.UserId, permissions_to_delete = new[] { "STAGE_VIEWER" } }))
            .Ok().Text.Should().Be("""{"deleted_permissions":["STAGE_VIEWER"]}""");
        var stagePermission = (await f.DevAsync(user, "get-stage-details", new { tenant = tenantAlias, project = projectId, stage = stageId })).Ok()
            .Body.GetProperty("details").GetProperty("permissions").EnumerateArray().Single();
        stagePermission.EnumerateObject().Select(p => p.Name).Should().Equal("id", "tenant_id", "stage_id", "created", "user_id", "permission");
        stagePermission.GetProperty("permission").GetString().Should().Be("DEPLOYMENT_MANAGER");

        // Unknown scope objects and a stage named under another project.
        (await f.SupportAsync("create-project-permissions", new { tenant = tenantAlias, project = "777", user_id = user.UserId, permissions_to_create = new[] { "STAGE_MANAGER" } })).Fails(404, "OBJECT_NOT_FOUND");
        (await f.SupportAsync("create-stage-permissions", new { tenant = tenantAlias, project = projectId, stage = "no-such-stage", user_id = user.UserId, permissions_to_create = new[] { "DEPLOYMENT_MANAGER" } })).Fails(404, "OBJECT_NOT_FOUND");
        var otherProject = (await f.SupportAsync("create-project", new { tenant = tenantAlias })).Ok().Id("project_id").ToString();
        (await f.SupportAsync("create-stage-permissions", new { tenant = tenantAlias, project = otherProject, stage = stageId, user_id = user.UserId, permissions_to_create = new[] { "DEPLOYMENT_MANAGER" } }))
            .Fails(403, "WRONG_REQUEST", "the stage belongs to another project");
        (await f.SupportAsync("delete-tenant-permissions", new { tenant = "424242", user_id = user.UserId, permissions_to_delete = new[] { "TENANT_VIEWER" } })).Fails(404, "OBJECT_NOT_FOUND");
    }

    [Fact]
    public async Task Every_support_call_needs_a_support_token()
    {
        var developer = await f.NewDeveloperAsync();
        var admin = (await f.PostAsync(ControlPlaneFixture.Entry + "/admin/request/create-token", new { user = "admin", password = ControlPlaneFixture.AdminPassword })).Ok().Str("raw_token");
        string[] operations =
        [
            "create-tenant", "create-tenant-alias", "delete-tenant", "create-project", "create-project-alias", "delete-project", "create-developer",
            "delete-developer", "create-tenant-permissions", "delete-tenant-permissions", "create-project-permissions", "delete-project-permissions",
            "create-stage-permissions", "delete-stage-permissions",
        ];
        foreach (var operation in operations)
        {
            var path = $"{ControlPlaneFixture.Support}/{operation}";
            (await f.PostAsync(path, new { })).Fails(401, "WRONG_CREDENTIALS", $"{operation} without a token");
            (await f.PostAsync(path, new { }, "not-a-token")).Fails(401, "WRONG_CREDENTIALS", $"{operation} with a malformed token");
            (await f.PostAsync(path, new { }, f.SupportToken[..^4] + "AAAA")).Fails(401, "WRONG_CREDENTIALS", $"{operation} with a bad signature");
            (await f.PostAsync(path, new { }, developer.Token)).Fails(403, "PERMISSION_NOT_FOUND", $"{operation} with a developer token");
            (await f.PostAsync(path, new { }, admin)).Fails(403, "PERMISSION_NOT_FOUND", $"{operation} with an admin token");
        }
    }

    [Fact]
    public async Task Bad_requests_are_refused_with_the_right_qualifier_and_change_nothing()
    {
        var (tenantId, viewer) = await f.NewTenantWithDeveloperAsync();
        var tenant = tenantId.ToString();
        var before = await TenantDetailsAsync(tenantId, viewer);

        (await f.SupportAsync("create-tenant-alias", ControlPlaneFixture.Raw("{\"tenant_id\": "))).Fails(400, "WRONG_REQUEST", "malformed JSON");
        (await f.SupportAsync("create-tenant-alias", ControlPlaneFixture.Raw("[]"))).Fails(400, "WRONG_REQUEST", "not an object");
        (await f.SupportAsync("create-tenant-alias", ControlPlaneFixture.Raw(""))).Fails(400, "VALIDATION_CONSTRAINT_VIOLATED", "no body");
        (await f.SupportAsync("create-tenant-alias", ControlPlaneFixture.Raw("alias=x", "application/x-www-form-urlencoded"))).Fails(400, "WRONG_MEDIA_TYPE");
        (await f.SupportAsync("create-tenant-alias", new { tenant_id = "abc", alias = "x" })).Fails(400, "WRONG_REQUEST", "an id must be numeric");
        (await f.SupportAsync("create-tenant-alias", new { tenant_id = 1.5, alias = "x" })).Fails(400, "WRONG_REQUEST", "an id is an integer");
        (await f.SupportAsync("create-tenant-alias", new { tenant_id = new[] { 1 }, alias = "x" })).Fails(400, "WRONG_REQUEST");
        (await f.SupportAsync("create-tenant-alias", new { alias = "x" })).Fails(400, "VALIDATION_CONSTRAINT_VIOLATED", "tenant_id is required");
        (await f.SupportAsync("create-tenant-alias", new { tenant_id = tenantId })).Fails(400, "VALIDATION_CONSTRAINT_VIOLATED", "alias is required");
        (await f.SupportAsync("create-tenant-alias", new { tenant_id = tenantId, alias = "  " })).Fails(400, "VALIDATION_CONSTRAINT_VIOLATED", "alias is blank");
        (await f.SupportAsync("create-tenant-alias", new { tenant_id = tenantId, alias = new string('a', 65) })).Fails(400, "VALIDATION_CONSTRAINT_VIOLATED", "64 characters at most");
        (await f.SupportAsync("create-tenant-alias", new { tenant_id = tenantId, alias = new { x = 1 } })).Fails(400, "WRONG_REQUEST", "alias is a string");
        (await f.SupportAsync("delete-tenant", new { tenant = new string('1', 65) })).Fails(400, "VALIDATION_CONSTRAINT_VIOLATED");
        (await f.SupportAsync("delete-tenant", new { })).Fails(400, "VALIDATION_CONSTRAINT_VIOLATED");
        (await f.SupportAsync("create-project", new { tenant = "" })).Fails(400, "VALIDATION_CONSTRAINT_VIOLATED");
        (await f.SupportAsync("delete-developer", new { user_id = (string?)null })).Fails(400, "VALIDATION_CONSTRAINT_VIOLATED");

        (await f.SupportAsync("create-tenant-permissions", new { tenant, user_id = viewer.UserId, permissions_to_create = new[] { "SUPER_USER" } })).Fails(400, "WRONG_REQUEST", "unknown enum");
        (await f.SupportAsync("create-tenant-permissions", new { tenant, user_id = viewer.UserId, permissions_to_create = new[] { 0 } })).Fails(400, "WRONG_REQUEST", "enums by name only");
        (await f.SupportAsync("create-tenant-permissions", new { tenant, user_id = viewer.UserId, permissions_to_create = new[] { "project_manager" } })).Fails(400, "WRONG_REQUEST", "enum names are case-sensitive");
        (await f.SupportAsync("create-tenant-permissions", new { tenant, user_id = viewer.UserId, permissions_to_create = new[] { "1" } })).Fails(400, "WRONG_REQUEST", "no ordinals as strings");
        (await f.SupportAsync("create-tenant-permissions", new { tenant, user_id = viewer.UserId, permissions_to_create = new[] { "STAGE_MANAGER" } })).Fails(400, "WRONG_REQUEST", "a project permission is not a tenant permission");
        (await f.SupportAsync("create-tenant-permissions", new { tenant, user_id = viewer.UserId, permissions_to_create = Array.Empty<string>() })).Fails(400, "VALIDATION_CONSTRAINT_VIOLATED", "@NotEmpty");
        (await f.SupportAsync("create-tenant-permissions", new { tenant, user_id = viewer.UserId })).Fails(400, "VALIDATION_CONSTRAINT_VIOLATED");
        (await f.SupportAsync("create-tenant-permissions", new { tenant, permissions_to_create = new[] { "TENANT_VIEWER" } })).Fails(400, "VALIDATION_CONSTRAINT_VIOLATED", "user_id is required");
        (await f.SupportAsync("create-tenant-permissions", new { tenant, user_id = viewer.UserId, permissions_to_create = "TENANT_VIEWER" })).Fails(400, "WRONG_REQUEST", "a list is expected");
        (await f.SupportAsync("delete-tenant-permissions", new { tenant, user_id = viewer.UserId, permissions_to_delete = Array.Empty<string>() })).Fails(400, "VALIDATION_CONSTRAINT_VIOLATED");
        (await f.SupportAsync("create-stage-permissions", new { tenant, project = "1", stage = "1", user_id = viewer.UserId, permissions_to_create = new[] { "PROJECT_MANAGER" } })).Fails(400, "WRONG_REQUEST");

        // A 2 MiB body is refused before it is read.
        var huge = JsonSerializer.Serialize(new { tenant_id = tenantId, alias = "x", padding = new string('p', 2 * 1024 * 1024) });
        (await f.SupportAsync("create-tenant-alias", ControlPlaneFixture.Raw(huge))).Fails(413, "LIMIT_EXCEEDED");

        (await TenantDetailsAsync(tenantId, viewer)).Should().Be(before, "refused calls write nothing");
    }
}
