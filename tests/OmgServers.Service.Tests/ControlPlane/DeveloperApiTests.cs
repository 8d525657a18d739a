using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using FluentAssertions;
using OmgServers.Service.Tests.Infrastructure;
using Xunit;

namespace OmgServers.Service.Tests.ControlPlane;

/// <summary>Developer API (contract 2.5) over real HTTP: projects, stages, versions, images, deployments, permissions and refusals.</summary>
public sealed class DeveloperApiTests(ControlPlaneFixture f) : IClassFixture<ControlPlaneFixture>
{
    private static string Unique(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..12];

    private static IEnumerable<string> Names(JsonElement element) => element.EnumerateObject().Select(p => p.Name);

    private static IEnumerable<string?> Ids(JsonElement array) => array.EnumerateArray().Select(e => e.GetProperty("id").GetString());

    [Fact]
    public async Task A_developer_project_grants_its_creator_and_names_its_stages()
    {
        var (tenantId, dev) = await f.NewTenantWithDeveloperAsync();
        var tenant = tenantId.ToString();
        var (projectId, stageId) = await f.NewProjectAsync(tenantId, dev);
        var projectAlias = Unique("game");
        (await f.DevAsync(dev, "create-project-alias", new { tenant, project_id = projectId, alias = projectAlias })).Ok().Text.Should().Be("{}");

        var project = (await f.DevAsync(dev, "get-project-details", new { tenant, project = projectAlias })).Ok().Body.GetProperty("details");
        Names(project).Should().Equal("project", "permissions", "stages", "versions");
        Names(project.GetProperty("project")).Should().Equal("id", "tenant_id", "created", "aliases");
        project.GetProperty("project").GetProperty("tenant_id").GetString().Should().Be(tenant);
        project.GetProperty("project").GetProperty("aliases")[0].GetProperty("qualifier").GetString().Should().Be("PROJECT");
        project.GetProperty("permissions").EnumerateArray()
            .Select(p => (long.Parse(p.GetProperty("user_id").GetString()!), p.GetProperty("permission").GetString()))
            .Should().BeEquivalentTo(new[]
            {
                (dev.UserId, "STAGE_MANAGER"), (dev.UserId, "VERSION_MANAGER"), (dev.UserId, "PROJECT_VIEWER"),
                (f.BuilderUserId, "VERSION_MANAGER"), (f.ServiceUserId, "VERSION_MANAGER"),
            });
        var firstStage = project.GetProperty("stages").EnumerateArray().Single();
        Names(firstStage).Should().Equal("id", "tenant_id", "project_id", "created", "aliases");
        firstStage.GetProperty("id").GetString().Should().Be(stageId.ToString());
        project.GetProperty("versions").GetArrayLength().Should().Be(0);

        var stage = (await f.DevAsync(dev, "get-stage-details", new { tenant, project = projectAlias, stage = stageId.ToString() })).Ok().Body.GetProperty("details");
        Names(stage).Should().Equal("stage", "permissions", "deployments");
        stage.GetProperty("permissions").EnumerateArray().Select(p => p.GetProperty("permission").GetString())
            .Should().Equal(["DEPLOYMENT_MANAGER"], "the creator gets DEPLOYMENT_MANAGER but not STAGE_VIEWER");

        var secondStage = (await f.DevAsync(dev, "create-stage", new { tenant, project = projectAlias })).Ok().Id("stage_id");
        var stageAlias = Unique("prod");
        (await f.DevAsync(dev, "create-stage-alias", new { tenant, stage_id = secondStage.ToString(), alias = stageAlias })).Ok().Text.Should().Be("{}");
        (await f.DevAsync(dev, "create-stage-alias", new { tenant, stage_id = secondStage, alias = stageAlias })).Ok("idempotent for the same stage");
        (await f.DevAsync(dev, "create-stage-alias", new { tenant, stage_id = stageId, alias = stageAlias })).Fails(400, "DB_CONSTRAINT_VIOLATED", "unique within the project");
        var second = (await f.DevAsync(dev, "get-stage-details", new { tenant, project = projectId.ToString(), stage = stageAlias })).Ok().Body.GetProperty("details");
        second.GetProperty("stage").GetProperty("id").GetString().Should().Be(secondStage.ToString());
        second.GetProperty("stage").GetProperty("aliases")[0].GetProperty("value").GetString().Should().Be(stageAlias);
        second.GetProperty("permissions").EnumerateArray().Single().GetProperty("user_id").GetString().Should().Be(dev.UserId.ToString());

        var (otherProject, otherStage) = await f.NewProjectAsync(tenantId, dev);
        (await f.DevAsync(dev, "create-stage-alias", new { tenant, stage_id = otherStage, alias = stageAlias })).Ok("stage aliases are unique per project");
        (await f.DevAsync(dev, "create-project-alias", new { tenant, project_id = otherProject, alias = projectAlias })).Fails(400, "DB_CONSTRAINT_VIOLATED");

        var details = (await f.DevAsync(dev, "get-tenant-details", new { tenant })).Ok().Body.GetProperty("details");
        Names(details).Should().Equal("tenant", "permissions", "projects");
        Ids(details.GetProperty("projects")).Should().Equal(projectId.ToString(), otherProject.ToString());
        Names(details.GetProperty("projects")[0]).Should().Equal("id", "tenant_id", "created", "aliases");
    }

    [Fact]
    public async Task Versions_get_images_and_are_deployed_to_stages()
    {
        var (tenantId, dev) = await f.NewTenantWithDeveloperAsync();
        var tenant = tenantId.ToString();
        var (projectId, stageId) = await f.NewProjectAsync(tenantId, dev);
        var project = projectId.ToString();
        var stage = stageId.ToString();

        var versionId = (await f.DevAsync(dev, "create-version", new { tenant, project, config = ControlPlaneFixture.ValidConfig })).Ok().Id("version_id");
        (await f.DevAsync(dev, "deploy-version", new { tenant, project, stage, version_id = versionId }))
            .Fails(409, "WRONG_VERSION_STATE", "a version without an image cannot be deployed");

        var version = (await f.DevAsync(dev, "get-version-details", new { tenant, version_id = versionId })).Ok().Body.GetProperty("details");
        Names(version).Should().Equal("version", "build_requests", "images");
        Names(version.GetProperty("version")).Should().Equal("id", "tenant_id", "project_id", "created");
        version.GetProperty("build_requests").GetArrayLength().Should().Be(0);
        version.GetProperty("images").GetArrayLength().Should().Be(0);

        var image = (await f.DevAsync(dev, "create-image", new { tenant, version_id = versionId.ToString(), qualifier = "LOBBY", image_id = "process:lobby" })).Ok();
        image.Body.EnumerateObject().Select(p => p.Name).Should().Equal("image_id");
        var imageRecord = image.Id("image_id");
        (await f.DevAsync(dev, "create-image", new { tenant, version_id = versionId, qualifier = "LOBBY", image_id = "process:lobby" })).Ok().Id("image_id")
            .Should().Be(imageRecord, "the same image again is the same record");
        var longImage = "registry.example:5000/omgservers/" + new string('a', 1024 - 33);
        (await f.DevAsync(dev, "create-image", new { tenant, version_id = versionId, qualifier = "MATCH", image_id = longImage })).Ok("1024 characters are allowed");
        var images = (await f.DevAsync(dev, "get-version-details", new { tenant, version_id = versionId })).Ok().Body.GetProperty("details").GetProperty("images");
        images.GetArrayLength().Should().Be(2);
        Names(images[0]).Should().Equal("id", "tenant_id", "version_id", "created", "qualifier", "image_id");
        images[0].GetProperty("id").GetString().Should().Be(imageRecord.ToString());
        images[0].GetProperty("qualifier").GetString().Should().Be("LOBBY");
        images[0].GetProperty("image_id").GetString().Should().Be("process:lobby");
        images[1].GetProperty("image_id").GetString().Should().Be(longImage);

        var deploymentId = (await f.DevAsync(dev, "deploy-version", new { tenant, project, stage, version_id = versionId.ToString() })).Ok().Id("deployment_id");
        var second = (await f.DevAsync(dev, "deploy-version", new { tenant, project, stage, version_id = versionId })).Ok().Id("deployment_id");
        second.Should().BeGreaterThan(deploymentId);
        var stageDetails = (await f.DevAsync(dev, "get-stage-details", new { tenant, project, stage })).Ok().Body.GetProperty("details");
        var deployments = stageDetails.GetProperty("deployments");
        Ids(deployments).Should().Equal([second.ToString()], "a newer deployment replaces the stage's older one (contract 5.8)");
        Names(deployments[0]).Should().Equal("id", "tenant_id", "stage_id", "version_id", "created");
        deployments[0].GetProperty("version_id").GetString().Should().Be(versionId.ToString());
        (await f.DevAsync(dev, "get-deployment-details", new { tenant, deployment_id = deploymentId })).Fails(404, "OBJECT_NOT_FOUND");
        deploymentId = second;

        var deployment = (await f.DevAsync(dev, "get-deployment-details", new { tenant, deployment_id = deploymentId })).Ok().Body.GetProperty("details");
        Names(deployment).Should().Equal("deployment", "lobby_refs", "matchmaker_refs");
        deployment.GetProperty("deployment").GetProperty("stage_id").GetString().Should().Be(stage);
        (await f.DevAsync(dev, "create-lobby-request", new { tenant, deployment_id = deploymentId.ToString() })).Ok().Text.Should().Be("{}");
        (await f.DevAsync(dev, "create-matchmaker-request", new { tenant, deployment_id = deploymentId })).Ok().Text.Should().Be("{}");
        (await f.DevAsync(dev, "create-lobby-request", new { tenant, deployment_id = 5555L })).Fails(404, "OBJECT_NOT_FOUND");
        (await f.DevAsync(dev, "create-matchmaker-request", new { tenant, deployment_id = 5555L })).Fails(404, "OBJECT_NOT_FOUND");
        (await f.DevAsync(dev, "delete-lobby", new { lobby_id = "12345" })).Ok().Text.Should().Be("""{"deleted":false}""");
        (await f.DevAsync(dev, "delete-matchmaker", new { matchmaker_id = 12345 })).Ok().Text.Should().Be("""{"deleted":false}""");
        (await f.DevAsync(dev, "delete-lobby", new { })).Fails(400, "VALIDATION_CONSTRAINT_VIOLATED");

        // delete-version keeps the version's deployments (contract 2.5).
        (await f.DevAsync(dev, "delete-version", new { tenant, id = versionId.ToString() })).Ok().Text.Should().Be("""{"deleted":true}""");
        (await f.DevAsync(dev, "delete-version", new { tenant, id = versionId })).Ok().Text.Should().Be("""{"deleted":false}""");
        (await f.DevAsync(dev, "delete-version", new { tenant, version_id = versionId })).Fails(400, "VALIDATION_CONSTRAINT_VIOLATED", "the field is `id` (the CLI's version_id is upstream defect 12.7)");
        (await f.DevAsync(dev, "get-version-details", new { tenant, version_id = versionId })).Fails(404, "OBJECT_NOT_FOUND");
        (await f.DevAsync(dev, "create-image", new { tenant, version_id = versionId, qualifier = "MATCH", image_id = "process:x" })).Fails(404, "OBJECT_NOT_FOUND");
        (await f.DevAsync(dev, "deploy-version", new { tenant, project, stage, version_id = versionId })).Fails(404, "OBJECT_NOT_FOUND");
        (await f.DevAsync(dev, "get-deployment-details", new { tenant, deployment_id = deploymentId })).Ok();
        var project2 = (await f.DevAsync(dev, "get-project-details", new { tenant, project })).Ok().Body.GetProperty("details");
        project2.GetProperty("versions").GetArrayLength().Should().Be(0, "a deleted version is invisible");

        (await f.DevAsync(dev, "delete-deployment", new { tenant, id = deploymentId })).Ok().Text.Should().Be("""{"deleted":true}""");
        (await f.DevAsync(dev, "delete-deployment", new { tenant, id = deploymentId.ToString() })).Ok().Text.Should().Be("""{"deleted":false}""");
        (await f.DevAsync(dev, "get-deployment-details", new { tenant, deployment_id = deploymentId })).Fails(404, "OBJECT_NOT_FOUND");
        (await f.DevAsync(dev, "create-lobby-request", new { tenant, deployment_id = deploymentId })).Fails(404, "OBJECT_NOT_FOUND");
        Ids((await f.DevAsync(dev, "get-stage-details", new { tenant, project, stage })).Ok().Body.GetProperty("details").GetProperty("deployments"))
            .Should().BeEmpty("the replaced deployment stays deleted and the newer one was deleted above");
    }

    [Fact]
    public async Task Deleting_stages_and_projects_cascades_and_releases_their_aliases()
    {
        var (tenantId, dev) = await f.NewTenantWithDeveloperAsync();
        var tenant = tenantId.ToString();
        var (projectId, stageId) = await f.NewProjectAsync(tenantId, dev);
        var project = projectId.ToString();
        var stageAlias = Unique("live");
        var projectAlias = Unique("game");
        (await f.DevAsync(dev, "create-project-alias", new { tenant, project_id = projectId, alias = projectAlias })).Ok();
        (await f.DevAsync(dev, "create-stage-alias", new { tenant, stage_id = stageId, alias = stageAlias })).Ok();
        var versionId = await f.NewDeployableVersionAsync(tenantId, projectId, dev);
        var deploymentId = (await f.DevAsync(dev, "deploy-version", new { tenant, project = projectAlias, stage = stageAlias, version_id = versionId })).Ok().Id("deployment_id");

        (await f.DevAsync(dev, "delete-stage", new { tenant, project = projectAlias, stage = stageAlias })).Ok().Text.Should().Be("""{"deleted":true}""");
        (await f.DevAsync(dev, "delete-stage", new { tenant, project, stage = stageId.ToString() })).Ok().Text.Should().Be("""{"deleted":false}""");
        (await f.DevAsync(dev, "get-stage-details", new { tenant, project, stage = stageId.ToString() })).Fails(404, "OBJECT_NOT_FOUND");
        (await f.DevAsync(dev, "get-deployment-details", new { tenant, deployment_id = deploymentId })).Fails(404, "OBJECT_NOT_FOUND", "the stage's deployments went with it");
        (await f.DevAsync(dev, "deploy-version", new { tenant, project, stage = stageId.ToString(), version_id = versionId })).Fails(404, "OBJECT_NOT_FOUND");

        // Fix of upstream defect 12.9: the deleted stage's alias is free for a new stage.
        var newStage = (await f.DevAsync(dev, "create-stage", new { tenant, project })).Ok().Id("stage_id");
        (await Eventually.TrueAsync(async () =>
            (await f.DevAsync(dev, "create-stage-alias", new { tenant, stage_id = newStage, alias = stageAlias })).Status == HttpStatusCode.OK,
            TimeSpan.FromSeconds(10))).Should().BeTrue("the stage alias was released");
        (await f.DevAsync(dev, "get-stage-details", new { tenant, project, stage = stageAlias })).Ok().Body.GetProperty("details").GetProperty("stage").GetProperty("id").GetString()
            .Should().Be(newStage.ToString());

        (await f.DevAsync(dev, "delete-project", new { tenant, project = projectAlias })).Ok().Text.Should().Be("""{"deleted":true}""");
        (await f.DevAsync(dev, "delete-project", new { tenant, project })).Ok().Text.Should().Be("""{"deleted":false}""");
        (await f.DevAsync(dev, "get-project-details", new { tenant, project })).Fails(404, "OBJECT_NOT_FOUND");
        (await f.DevAsync(dev, "get-version-details", new { tenant, version_id = versionId })).Fails(404, "OBJECT_NOT_FOUND", "the project's versions went with it");
        (await f.DevAsync(dev, "create-stage", new { tenant, project })).Fails(404, "OBJECT_NOT_FOUND");
        (await f.DevAsync(dev, "create-version", new { tenant, project, config = ControlPlaneFixture.ValidConfig })).Fails(404, "OBJECT_NOT_FOUND");
        (await f.DevAsync(dev, "get-tenant-details", new { tenant })).Ok().Body.GetProperty("details").GetProperty("projects").GetArrayLength().Should().Be(0);

        var (nextProject, nextStage) = await f.NewProjectAsync(tenantId, dev);
        (await Eventually.TrueAsync(async () =>
            (await f.DevAsync(dev, "create-project-alias", new { tenant, project_id = nextProject, alias = projectAlias })).Status == HttpStatusCode.OK,
            TimeSpan.FromSeconds(10))).Should().BeTrue("the project alias was released");
        (await f.DevAsync(dev, "create-stage-alias", new { tenant, stage_id = nextStage, alias = stageAlias })).Ok("a stage alias is unique per project");
    }

    [Fact]
    public async Task Each_call_checks_its_permission_and_tenants_are_isolated()
    {
        var (tenantId, owner) = await f.NewTenantWithDeveloperAsync();
        var tenant = tenantId.ToString();
        var (projectId, stageId) = await f.NewProjectAsync(tenantId, owner);
        var project = projectId.ToString();
        var stage = stageId.ToString();
        var versionId = await f.NewDeployableVersionAsync(tenantId, projectId, owner);
        var deploymentId = (await f.DevAsync(owner, "deploy-version", new { tenant, project, stage, version_id = versionId })).Ok().Id("deployment_id");

        // A developer of another tenant, and one of this tenant without any permission: 403 for every call.
        var (otherTenantId, stranger) = await f.NewTenantWithDeveloperAsync();
        var nobody = await f.NewDeveloperAsync();
        var calls = new (string Operation, object Body)[]
        {
            ("get-tenant-details", new { tenant }),
            ("create-project", new { tenant }),
            ("create-project-alias", new { tenant, project_id = projectId, alias = Unique("a") }),
            ("get-project-details", new { tenant, project }),
            ("delete-project", new { tenant, project }),
            ("create-stage", new { tenant, project }),
            ("create-stage-alias", new { tenant, stage_id = stageId, alias = Unique("a") }),
            ("get-stage-details", new { tenant, project, stage }),
            ("delete-stage", new { tenant, project, stage }),
            ("create-version", new { tenant, project, config = ControlPlaneFixture.ValidConfig }),
            ("get-version-details", new { tenant, version_id = versionId }),
            ("delete-version", new { tenant, id = versionId }),
            ("create-image", new { tenant, version_id = versionId, qualifier = "UNIVERSAL", image_id = "process:evil" }),
            ("deploy-version", new { tenant, project, stage, version_id = versionId }),
            ("get-deployment-details", new { tenant, deployment_id = deploymentId }),
            ("delete-deployment", new { tenant, id = deploymentId }),
            ("create-lobby-request", new { tenant, deployment_id = deploymentId }),
            ("create-matchmaker-request", new { tenant, deployment_id = deploymentId }),
        };
        var before = (await f.DevAsync(owner, "get-project-details", new { tenant, project })).Ok().Text;
        foreach (var (operation, body) in calls)
        {
            (await f.DevAsync(stranger, operation, body)).Fails(403, "PERMISSION_NOT_FOUND", $"{operation} by a developer of another tenant");
            (await f.DevAsync(nobody, operation, body)).Fails(403, "PERMISSION_NOT_FOUND", $"{operation} without permissions");
        }
        (await f.DevAsync(owner, "get-project-details", new { tenant, project })).Ok().Text.Should().Be(before, "nothing was changed");
        (await f.DevAsync(owner, "get-deployment-details", new { tenant, deployment_id = deploymentId })).Ok();

        // Objects of tenant A named under tenant B (where the stranger has every tenant permission) do not exist there.
        var other = otherTenantId.ToString();
        (await f.DevAsync(stranger, "get-project-details", new { tenant = other, project })).Fails(404, "OBJECT_NOT_FOUND");
        (await f.DevAsync(stranger, "delete-project", new { tenant = other, project })).Fails(404, "OBJECT_NOT_FOUND");
        (await f.DevAsync(stranger, "create-project-alias", new { tenant = other, project_id = projectId, alias = Unique("steal") })).Fails(404, "OBJECT_NOT_FOUND");
        (await f.DevAsync(stranger, "get-version-details", new { tenant = other, version_id = versionId })).Fails(404, "OBJECT_NOT_FOUND");
        (await f.DevAsync(stranger, "delete-deployment", new { tenant = other, id = deploymentId })).Fails(404, "OBJECT_NOT_FOUND");

        // Narrower grants: a viewer sees but does not change; stage rights are per stage.
        var viewer = await f.NewDeveloperAsync();
        (await f.SupportAsync("create-project-permissions", new { tenant, project, user_id = viewer.UserId, permissions_to_create = new[] { "PROJECT_VIEWER" } })).Ok();
        (await f.DevAsync(viewer, "get-project-details", new { tenant, project })).Ok();
        (await f.DevAsync(viewer, "get-stage-details", new { tenant, project, stage })).Ok();
        (await f.DevAsync(viewer, "get-version-details", new { tenant, version_id = versionId })).Ok();
        (await f.DevAsync(viewer, "get-deployment-details", new { tenant, deployment_id = deploymentId })).Ok();
        (await f.DevAsync(viewer, "get-tenant-details", new { tenant })).Fails(403, "PERMISSION_NOT_FOUND", "tenant details need TENANT_VIEWER");
        (await f.DevAsync(viewer, "create-stage", new { tenant, project })).Fails(403, "PERMISSION_NOT_FOUND");
        (await f.DevAsync(viewer, "deploy-version", new { tenant, project, stage, version_id = versionId })).Fails(403, "PERMISSION_NOT_FOUND");
        (await f.SupportAsync("create-stage-permissions", new { tenant, project, stage, user_id = viewer.UserId, permissions_to_create = new[] { "DEPLOYMENT_MANAGER" } })).Ok();
        var viewerDeployment = (await f.DevAsync(viewer, "deploy-version", new { tenant, project, stage, version_id = versionId })).Ok().Id("deployment_id");
        (await f.DevAsync(viewer, "delete-deployment", new { tenant, id = viewerDeployment })).Ok();
        var ownStage = (await f.DevAsync(owner, "create-stage", new { tenant, project })).Ok().Id("stage_id");
        (await f.DevAsync(viewer, "deploy-version", new { tenant, project, stage = ownStage.ToString(), version_id = versionId }))
            .Fails(403, "PERMISSION_NOT_FOUND", "DEPLOYMENT_MANAGER on one stage is not on another");
    }

    [Fact]
    public async Task Unknown_objects_are_not_found_and_objects_of_another_project_are_wrong_requests()
    {
        var (tenantId, dev) = await f.NewTenantWithDeveloperAsync();
        var tenant = tenantId.ToString();
        var (projectId, stageId) = await f.NewProjectAsync(tenantId, dev);
        var (otherProjectId, otherStageId) = await f.NewProjectAsync(tenantId, dev);
        var project = projectId.ToString();
        var otherVersion = await f.NewDeployableVersionAsync(tenantId, otherProjectId, dev);
        var bareVersion = (await f.DevAsync(dev, "create-version", new { tenant, project = otherProjectId.ToString(), config = ControlPlaneFixture.ValidConfig })).Ok().Id("version_id");

        (await f.DevAsync(dev, "get-tenant-details", new { tenant = Unique("nowhere") })).Fails(404, "OBJECT_NOT_FOUND");
        (await f.DevAsync(dev, "get-tenant-details", new { tenant = "31337" })).Fails(404, "OBJECT_NOT_FOUND");
        (await f.DevAsync(dev, "create-project", new { tenant = "31337" })).Fails(404, "OBJECT_NOT_FOUND");
        (await f.DevAsync(dev, "get-project-details", new { tenant, project = Unique("none") })).Fails(404, "OBJECT_NOT_FOUND");
        (await f.DevAsync(dev, "get-project-details", new { tenant, project = "31337" })).Fails(404, "OBJECT_NOT_FOUND");
        (await f.DevAsync(dev, "get-stage-details", new { tenant, project, stage = Unique("none") })).Fails(404, "OBJECT_NOT_FOUND");
        (await f.DevAsync(dev, "get-stage-details", new { tenant, project, stage = "31337" })).Fails(404, "OBJECT_NOT_FOUND");
        (await f.DevAsync(dev, "delete-stage", new { tenant, project, stage = "31337" })).Fails(404, "OBJECT_NOT_FOUND");
        (await f.DevAsync(dev, "get-version-details", new { tenant, version_id = 31337 })).Fails(404, "OBJECT_NOT_FOUND");
        (await f.DevAsync(dev, "delete-version", new { tenant, id = 31337 })).Fails(404, "OBJECT_NOT_FOUND");
        (await f.DevAsync(dev, "create-image", new { tenant, version_id = 31337, qualifier = "UNIVERSAL", image_id = "x" })).Fails(404, "OBJECT_NOT_FOUND");
        (await f.DevAsync(dev, "get-deployment-details", new { tenant, deployment_id = 31337 })).Fails(404, "OBJECT_NOT_FOUND");
        (await f.DevAsync(dev, "delete-deployment", new { tenant, id = 31337 })).Fails(404, "OBJECT_NOT_FOUND");
        (await f.DevAsync(dev, "deploy-version", new { tenant, project, stage = stageId.ToString(), version_id = 31337 })).Fails(404, "OBJECT_NOT_FOUND");
        (await f.DevAsync(dev, "create-stage-alias", new { tenant, stage_id = 31337, alias = "x" })).Fails(404, "OBJECT_NOT_FOUND");
        (await f.DevAsync(dev, "create-project-alias", new { tenant, project_id = 31337, alias = "x" })).Fails(404, "OBJECT_NOT_FOUND");

        // A stage named under a project it does not belong to, and a version of another project (contract 2.5).
        (await f.DevAsync(dev, "get-stage-details", new { tenant, project, stage = otherStageId.ToString() })).Fails(403, "WRONG_REQUEST");
        (await f.DevAsync(dev, "delete-stage", new { tenant, project, stage = otherStageId.ToString() })).Fails(403, "WRONG_REQUEST");
        (await f.DevAsync(dev, "deploy-version", new { tenant, project, stage = otherStageId.ToString(), version_id = otherVersion })).Fails(403, "WRONG_REQUEST");
        (await f.DevAsync(dev, "deploy-version", new { tenant, project, stage = stageId.ToString(), version_id = otherVersion }))
            .Fails(403, "WRONG_REQUEST", "the version belongs to another project");
        (await f.DevAsync(dev, "deploy-version", new { tenant, project, stage = stageId.ToString(), version_id = bareVersion }))
            .Fails(409, "WRONG_VERSION_STATE", "the image check comes before the project check");
        (await f.DevAsync(dev, "get-stage-details", new { tenant, project, stage = stageId.ToString() })).Ok().Body
            .GetProperty("details").GetProperty("deployments").GetArrayLength().Should().Be(0);
    }

    [Fact]
    public async Task Version_configs_and_images_are_validated_and_refusals_write_nothing()
    {
        var (tenantId, dev) = await f.NewTenantWithDeveloperAsync();
        var tenant = tenantId.ToString();
        var (projectId, _) = await f.NewProjectAsync(tenantId, dev);
        var project = projectId.ToString();
        var versionId = await f.NewDeployableVersionAsync(tenantId, projectId, dev);
        var projectBefore = (await f.DevAsync(dev, "get-project-details", new { tenant, project })).Ok().Text;
        var versionBefore = (await f.DevAsync(dev, "get-version-details", new { tenant, version_id = versionId })).Ok().Text;

        object Mode(string? name = "m", int? min = 1, int? max = 2, object? groups = null) => new { name, min_players = min, max_players = max, groups };
        object Group(string? name = "g", int? min = 1, int? max = 2) => new { name, min_players = min, max_players = max };
        var invalid = new (object Config, string Why)[]
        {
            (new { user_data = new { } }, "modes is required"),
            (new { modes = (object?)null }, "modes is null"),
            (new { modes = new object?[] { null } }, "a null mode"),
            (new { modes = new[] { Mode(name: " ") } }, "a blank mode name"),
            (new { modes = new[] { Mode(name: null) } }, "a missing mode name"),
            (new { modes = new[] { Mode(name: new string('m', 65)) } }, "a mode name longer than 64"),
            (new { modes = new[] { Mode(), Mode() } }, "a mode name twice"),
            (new { modes = new[] { Mode(min: 3, max: 2) } }, "min above max"),
            (new { modes = new[] { Mode(min: -1) } }, "negative min"),
            (new { modes = new[] { Mode(max: 0, min: 0) } }, "max below 1"),
            (new { modes = new[] { Mode(min: null) } }, "min_players missing"),
            (new { modes = Enumerable.Range(0, 65).Select(i => Mode(name: "m" + i)).ToArray() }, "65 modes"),
            (new { modes = new[] { Mode(groups: Enumerable.Range(0, 65).Select(i => Group(name: "g" + i)).ToArray()) } }, "65 groups"),
            (new { modes = new[] { Mode(groups: new[] { Group(name: "") }) } }, "a blank group name"),
            (new { modes = new[] { Mode(groups: new[] { Group(), Group() }) } }, "a group name twice"),
            (new { modes = new[] { Mode(groups: new[] { Group(min: 5, max: 4) }) } }, "group min above max"),
        };
        foreach (var (config, why) in invalid)
            (await f.DevAsync(dev, "create-version", new { tenant, project, config })).Fails(400, "VALIDATION_CONSTRAINT_VIOLATED", why);
        (await f.DevAsync(dev, "create-version", new { tenant, project })).Fails(400, "VALIDATION_CONSTRAINT_VIOLATED", "config is required");
        (await f.DevAsync(dev, "create-version", new { tenant, project, config = "modes" })).Fails(400, "WRONG_REQUEST", "config is an object");
        (await f.DevAsync(dev, "create-version", new { tenant, project, config = new { modes = new[] { new { name = "m", min_players = "many", max_players = 2 } } } }))
            .Fails(400, "WRONG_REQUEST", "min_players is a number");
        (await f.DevAsync(dev, "create-version", new { tenant, project = new string('p', 65), config = ControlPlaneFixture.ValidConfig })).Fails(400, "VALIDATION_CONSTRAINT_VIOLATED");
        (await f.DevAsync(dev, "create-version", ControlPlaneFixture.Raw("{\"tenant\":\"" + tenant + "\",\"project\":\"" + project + "\",\"config\":{\"modes\":[}}")))
            .Fails(400, "WRONG_REQUEST", "malformed JSON");
        var huge = JsonSerializer.Serialize(new { tenant, project, config = new { modes = Array.Empty<object>(), user_data = new { blob = new string('u', 2 * 1024 * 1024) } } });
        (await f.DevAsync(dev, "create-version", ControlPlaneFixture.Raw(huge))).Fails(413, "LIMIT_EXCEEDED", "bodies are limited to 1 MiB");

        (await f.DevAsync(dev, "create-image", new { tenant, version_id = versionId, qualifier = "DOCKER", image_id = "x" })).Fails(400, "WRONG_REQUEST", "unknown qualifier");
        (await f.DevAsync(dev, "create-image", new { tenant, version_id = versionId, qualifier = "universal", image_id = "x" })).Fails(400, "WRONG_REQUEST", "enum names are exact and case-sensitive");
        (await f.DevAsync(dev, "create-image", new { tenant, version_id = versionId, image_id = "x" })).Fails(400, "VALIDATION_CONSTRAINT_VIOLATED", "qualifier is required");
        (await f.DevAsync(dev, "create-image", new { tenant, version_id = versionId, qualifier = "MATCH", image_id = " " })).Fails(400, "VALIDATION_CONSTRAINT_VIOLATED", "image_id is blank");
        (await f.DevAsync(dev, "create-image", new { tenant, version_id = versionId, qualifier = "MATCH", image_id = new string('i', 1025) })).Fails(400, "VALIDATION_CONSTRAINT_VIOLATED", "image_id longer than 1024");
        (await f.DevAsync(dev, "create-image", new { tenant, version_id = "v1", qualifier = "MATCH", image_id = "x" })).Fails(400, "WRONG_REQUEST");

        (await f.DevAsync(dev, "get-project-details", new { tenant, project })).Ok().Text.Should().Be(projectBefore, "refused calls write nothing");
        (await f.DevAsync(dev, "get-version-details", new { tenant, version_id = versionId })).Ok().Text.Should().Be(versionBefore, "refused calls write nothing");

        // Edge cases that are valid: a config just under the body limit, no modes, no groups, no user data.
        var big = (await f.DevAsync(dev, "create-version", new { tenant, project, config = new { modes = Array.Empty<object>(), user_data = new { blob = new string('u', 900_000) } } })).Ok();
        (await f.DevAsync(dev, "get-version-details", new { tenant, version_id = big.Id("version_id") })).Ok();
        (await f.DevAsync(dev, "create-version", new { tenant, project, config = new { modes = Array.Empty<object>() } })).Ok();
        (await f.DevAsync(dev, "create-version", new { tenant, project, config = new { modes = new[] { new { name = "solo", min_players = 0, max_players = 1 } }, user_data = (object?)null } })).Ok();
    }

    [Fact]
    public async Task Upload_files_archive_is_a_disabled_feature()
    {
        var (tenantId, dev) = await f.NewTenantWithDeveloperAsync();
        var (projectId, _) = await f.NewProjectAsync(tenantId, dev);
        var versionId = await f.NewDeployableVersionAsync(tenantId, projectId, dev);
        HttpContent Multipart()
        {
            var form = new MultipartFormDataContent { { new StringContent(tenantId.ToString()), "tenant" }, { new StringContent(versionId.ToString()), "tenantVersionId" } };
            var zip = new ByteArrayContent([0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            zip.Headers.ContentType = new MediaTypeHeaderValue("application/zip");
            form.Add(zip, "version.zip", "version.zip");
            return form;
        }
        const string path = ControlPlaneFixture.Dev + "/upload-files-archive";
        (await f.PostAsync(path, Multipart(), dev.Token)).Fails(409, "FEATURE_DISABLED");
        (await f.PostAsync(path, new { }, dev.Token)).Fails(409, "FEATURE_DISABLED", "whatever the body");
        (await f.PostAsync(path, Multipart())).Fails(401, "WRONG_CREDENTIALS");
        (await f.PostAsync(path, Multipart(), f.SupportToken)).Fails(403, "PERMISSION_NOT_FOUND");
    }

    [Fact]
    public async Task Every_developer_call_needs_a_developer_token()
    {
        string[] operations =
        [
            "get-tenant-details", "create-project", "create-project-alias", "get-project-details", "delete-project", "create-stage",
            "create-stage-alias", "get-stage-details", "delete-stage", "create-version", "get-version-details", "delete-version",
            "create-image", "deploy-version", "get-deployment-details", "delete-deployment", "create-lobby-request", "delete-lobby",
            "create-matchmaker-request", "delete-matchmaker",
        ];
        var player = (await f.PostAsync(ControlPlaneFixture.Entry + "/player/request/create-user", new { })).Ok();
        var playerToken = (await f.PostAsync(ControlPlaneFixture.Entry + "/player/request/create-token",
            new { user_id = player.Str("user_id"), password = player.Str("password") })).Ok().Str("raw_token");
        foreach (var operation in operations)
        {
            var path = $"{ControlPlaneFixture.Dev}/{operation}";
            (await f.PostAsync(path, new { })).Fails(401, "WRONG_CREDENTIALS", $"{operation} without a token");
            (await f.PostAsync(path, new { }, "a.b.c")).Fails(401, "WRONG_CREDENTIALS", $"{operation} with a forged token");
            (await f.PostAsync(path, new { }, f.SupportToken)).Fails(403, "PERMISSION_NOT_FOUND", $"{operation} with a support token");
            (await f.PostAsync(path, new { }, playerToken)).Fails(403, "PERMISSION_NOT_FOUND", $"{operation} with a player token");
        }
    }
}
