using System.Text.Json;
using FluentAssertions;
using Xunit;

namespace OmgServers.Service.Tests.ControlPlane;

/// <summary>
/// The seed README's flows end to end over HTTP, with the bodies the CLI sends (contract 8.4): support creates and
/// configures a tenant, the developer creates a project and deploys a version; then the service restarts and every
/// detail reads the same (recovery from a snapshot plus the journal tail).
/// </summary>
public sealed class ControlPlaneFlowTests(ControlPlaneFixture f) : IClassFixture<ControlPlaneFixture>
{
    [Fact]
    public async Task Support_and_developer_flows_deploy_a_version_and_survive_a_restart()
    {
        const string support = ControlPlaneFixture.Support;
        const string dev = ControlPlaneFixture.Dev;
        var tenantAlias = "seed-" + Guid.NewGuid().ToString("N")[..8];

        // Support: useCredentials, createTenant, createTenantAlias, createDeveloper, createTenantPermission.
        var supportToken = (await f.PostAsync(support + "/create-token", new { user = "support", password = ControlPlaneFixture.SupportPassword })).Ok().Str("raw_token");
        var tenantId = (await f.PostAsync(support + "/create-tenant", new { }, supportToken)).Ok().Id("id");
        (await f.PostAsync(support + "/create-tenant-alias", ControlPlaneFixture.Raw($"{{\"tenant_id\": {tenantId}, \"alias\": \"{tenantAlias}\"}}"), supportToken)).Ok();
        var developer = (await f.PostAsync(support + "/create-developer", new { }, supportToken)).Ok();
        var userId = developer.Str("user_id");
        var password = developer.Str("password");
        foreach (var permission in new[] { "TENANT_VIEWER", "PROJECT_MANAGER" })
            (await f.PostAsync(support + "/create-tenant-permissions", ControlPlaneFixture.Raw(
                $"{{\"tenant\": \"{tenantAlias}\", \"user_id\": \"{userId}\", \"permissions_to_create\": [\"{permission}\"]}}"), supportToken)).Ok()
                .Body.GetProperty("created_permissions").EnumerateArray().Select(p => p.GetString()).Should().Equal(permission);

        // Developer: useCredentials, createProject, createProjectAlias, createStage(+alias), createVersion, image, deployVersion.
        var token = (await f.PostAsync(dev + "/create-token", ControlPlaneFixture.Raw($"{{\"user_id\": \"{userId}\", \"password\": \"{password}\"}}"))).Ok().Str("raw_token");
        var project = (await f.PostAsync(dev + "/create-project", new { tenant = tenantAlias }, token)).Ok();
        var projectId = project.Id("project_id");
        var defaultStage = project.Id("stage_id");
        (await f.PostAsync(dev + "/create-project-alias", ControlPlaneFixture.Raw($"{{\"tenant\": \"{tenantAlias}\", \"project_id\": {projectId}, \"alias\": \"game\"}}"), token)).Ok();
        (await f.PostAsync(dev + "/create-stage-alias", ControlPlaneFixture.Raw($"{{\"tenant\": \"{tenantAlias}\", \"stage_id\": \"{defaultStage}\", \"alias\": \"default\"}}"), token)).Ok();
        var stageId = (await f.PostAsync(dev + "/create-stage", new { tenant = tenantAlias, project = "game" }, token)).Ok().Id("stage_id");
        (await f.PostAsync(dev + "/create-stage-alias", new { tenant = tenantAlias, stage_id = stageId.ToString(), alias = "live" }, token)).Ok();
        const string config = """{"modes":[{"name":"death-match","min_players":1,"max_players":8,"groups":[{"name":"players","min_players":1,"max_players":8}]}],"user_data":{"any":"json"}}""";
        var versionId = (await f.PostAsync(dev + "/create-version", ControlPlaneFixture.Raw($"{{\"tenant\": \"{tenantAlias}\", \"project\": \"game\", \"config\": {config}}}"), token))
            .Ok().Id("version_id");
        (await f.PostAsync(dev + "/create-image", new { tenant = tenantAlias, version_id = versionId, qualifier = "UNIVERSAL", image_id = "process:echo-runtime" }, token)).Ok();
        var deploymentId = (await f.PostAsync(dev + "/deploy-version", ControlPlaneFixture.Raw(
            $"{{\"tenant\": \"{tenantAlias}\", \"project\": \"game\", \"stage\": \"live\", \"version_id\": {versionId}}}"), token)).Ok().Id("deployment_id");

        // getStageDetails shows the deployment, getDeploymentDetails shows it too.
        var stage = (await f.PostAsync(dev + "/get-stage-details", new { tenant = tenantAlias, project = "game", stage = "live" }, token)).Ok().Body.GetProperty("details");
        var deployment = stage.GetProperty("deployments").EnumerateArray().Single();
        deployment.GetProperty("id").GetString().Should().Be(deploymentId.ToString());
        deployment.GetProperty("tenant_id").GetString().Should().Be(tenantId.ToString());
        deployment.GetProperty("stage_id").GetString().Should().Be(stageId.ToString());
        deployment.GetProperty("version_id").GetString().Should().Be(versionId.ToString());
        var details = (await f.PostAsync(dev + "/get-deployment-details", ControlPlaneFixture.Raw($"{{\"tenant\": \"{tenantAlias}\", \"deployment_id\": {deploymentId}}}"), token))
            .Ok().Body.GetProperty("details");
        details.GetProperty("deployment").GetRawText().Should().Be(deployment.GetRawText());
        (await f.PostAsync(dev + "/get-stage-details", new { tenant = tenantAlias, project = "game", stage = "default" }, token)).Ok()
            .Body.GetProperty("details").GetProperty("deployments").GetArrayLength().Should().Be(0, "the other stage has no deployment");

        var tenantDetails = (await f.PostAsync(dev + "/get-tenant-details", new { tenant = tenantAlias }, token)).Ok().Body.GetProperty("details");
        tenantDetails.GetProperty("tenant").GetProperty("aliases")[0].GetProperty("value").GetString().Should().Be(tenantAlias);
        tenantDetails.GetProperty("permissions").GetArrayLength().Should().Be(2);
        var projectDetails = (await f.PostAsync(dev + "/get-project-details", new { tenant = tenantAlias, project = "game" }, token)).Ok().Body.GetProperty("details");
        projectDetails.GetProperty("stages").EnumerateArray().Select(s => s.GetProperty("aliases")[0].GetProperty("value").GetString()).Should().Equal("default", "live");
        projectDetails.GetProperty("versions").EnumerateArray().Single().GetProperty("id").GetString().Should().Be(versionId.ToString());

        // Everything reads the same after a restart (the tenant has written more than 5 events: snapshot plus tail).
        var before = new List<string>();
        async Task<List<string>> ReadAllAsync(string bearer) =>
        [
            (await f.PostAsync(dev + "/get-tenant-details", new { tenant = tenantAlias }, bearer)).Ok().Text,
            (await f.PostAsync(dev + "/get-project-details", new { tenant = tenantAlias, project = "game" }, bearer)).Ok().Text,
            (await f.PostAsync(dev + "/get-stage-details", new { tenant = tenantAlias, project = "game", stage = "live" }, bearer)).Ok().Text,
            (await f.PostAsync(dev + "/get-version-details", new { tenant = tenantAlias, version_id = versionId }, bearer)).Ok().Text,
            (await f.PostAsync(dev + "/get-deployment-details", new { tenant = tenantAlias, deployment_id = deploymentId }, bearer)).Ok().Text,
        ];
        before.AddRange(await ReadAllAsync(token));
        await f.RestartAsync();
        (await ReadAllAsync(token)).Should().Equal(before, "the tenant recovers exactly, and tokens survive a restart");

        // And it keeps working after the restart.
        var second = (await f.PostAsync(dev + "/deploy-version", new { tenant = tenantAlias, project = "game", stage = "live", version_id = versionId }, token)).Ok().Id("deployment_id");
        var after = (await f.PostAsync(dev + "/get-stage-details", new { tenant = tenantAlias, project = "game", stage = "live" }, token)).Ok().Body.GetProperty("details");
        after.GetProperty("deployments").EnumerateArray().Select(d => d.GetProperty("id").GetString()).Should().Equal([second.ToString()], "the new deployment replaces the old one");
        JsonDocument.Parse(before[0]).RootElement.GetProperty("details").GetProperty("projects").GetArrayLength().Should().Be(1);
    }
}
