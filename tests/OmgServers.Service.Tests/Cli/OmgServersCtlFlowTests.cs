using System.Net;
using System.Text.Json;
using FluentAssertions;
using OmgServers.Service.Tests.Infrastructure;
using Xunit;
using static OmgServers.Service.Tests.Cli.CliFixture;

namespace OmgServers.Service.Tests.Cli;

/// <summary>
/// The seed README's flows through `bash omgserversctl.sh` against the real service: the admin utilities, support
/// creating and configuring a tenant, the developer creating a project and deploying a version; each step checked in
/// the CLI's state (environment file, logs) and on the server over HTTP. Then the failure paths of contract 8.3.
/// </summary>
public sealed class OmgServersCtlFlowTests(CliFixture f) : IClassFixture<CliFixture>
{
    private const string Entry = "/service/v1/entrypoint";

    [Fact]
    public async Task Admin_support_and_developer_flows_run_through_the_cli()
    {
        var dir = f.NewWorkDirectory();
        var tenantAlias = "cli-" + Guid.NewGuid().ToString("N")[..8];

        (await OkAsync(dir, "environment", "useEnvironment", "test", f.Url)).Output
            .Should().Contain($" test Environment was set, NAME=test, SERVICE_URL={f.Url}");

        // Admin: useCredentials (creates the token), generateId, calculateShard, bcryptHash.
        (await OkAsync(dir, "admin", "useCredentials", "admin", AdminPassword)).Output
            .Should().Contain("Admin credentials were set, ADMIN_USER=admin").And.Contain("Admin token was created");
        (await OkAsync(dir, "admin", "printCurrent")).Output.Should().Contain("Current admin was found, ADMIN_USER=admin, (token exists)");
        var adminToken = await VariableAsync(dir, "ADMIN_TOKEN");

        (await OkAsync(dir, "admin", "generateId")).Output.Should().MatchRegex(@"Id was generated, GENERATED_ID=\d+\n");
        var first = long.Parse(await VariableAsync(dir, "GENERATED_ID"));
        await OkAsync(dir, "admin", "generateId");
        long.Parse(await VariableAsync(dir, "GENERATED_ID")).Should().BeGreaterThan(first, "ids increase, and the last assignment wins");

        (await OkAsync(dir, "admin", "calculateShard", "tenant-42")).Output.Should().Contain("Shard was calculated, SHARD_INDEX=");
        var shard = await f.PostAsync(Entry + "/admin/request/calculate-shard", """{"shard_key": "tenant-42"}""", adminToken);
        shard.Status.Should().Be(HttpStatusCode.OK);
        (await VariableAsync(dir, "SHARD_INDEX")).Should().Be(shard.Body.GetProperty("shard_index").GetInt32().ToString());
        (await VariableAsync(dir, "SERVER_URI")).Should().Be(shard.Body.GetProperty("server_uri").GetString());

        await OkAsync(dir, "admin", "bcryptHash", "some value");
        var hash = await VariableAsync(dir, "BCRYPTED_HASH");
        hash.Should().MatchRegex(@"^\$2[ab]\$10\$[./A-Za-z0-9]{53}$", "the $ signs survive the environment file");
        EnvironmentLines(dir).Should().Contain($"export OMGSERVERSCTL_BCRYPTED_HASH='{hash}'");

        // Support: useCredentials, createTenant, createTenantAlias, createDeveloper, createTenantPermission x2.
        (await OkAsync(dir, "support", "useCredentials", "support", SupportPassword)).Output.Should().Contain("Support token was created");
        (await VariableAsync(dir, "SUPPORT_PASSWORD")).Should().Be(SupportPassword);
        EnvironmentLines(dir).Should().Contain("export OMGSERVERSCTL_SUPPORT_PASSWORD='support '\\''Cli'\\'' $2'", "passwords are single-quoted");

        var tenantOutput = (await OkAsync(dir, "support", "createTenant")).Output;
        var tenantId = await VariableAsync(dir, "TENANT");
        tenantOutput.Should().Contain($"Tenant was created, TENANT={tenantId}");
        (await OkAsync(dir, "support", "createTenantAlias", tenantId, tenantAlias)).Output.Should().Contain("Tenant alias was created");

        var developerOutput = (await OkAsync(dir, "support", "createDeveloper")).Output;
        var developerUser = await VariableAsync(dir, "DEVELOPER_USER");
        var developerPassword = await VariableAsync(dir, "DEVELOPER_PASSWORD");
        developerUser.Should().MatchRegex(@"^\d+$");
        developerOutput.Should().Contain($"Developer was created, DEVELOPER_USER={developerUser}, DEVELOPER_PASSWORD={developerPassword}");
        EnvironmentLines(dir).Should().Contain($"export OMGSERVERSCTL_DEVELOPER_PASSWORD='{developerPassword}'");

        foreach (var permission in new[] { "PROJECT_MANAGER", "TENANT_VIEWER" })
        {
            (await OkAsync(dir, "support", "createTenantPermission", tenantAlias, developerUser, permission)).Output
                .Should().Contain($"Created permissions, CREATED_PERMISSION=[\"{permission}\"]");
        }

        // Developer: useCredentials with the stored user and password, then the project, version and deployment.
        (await OkAsync(dir, "developer", "useCredentials", developerUser, developerPassword)).Output.Should().Contain("Developer token was created");
        var developerToken = await VariableAsync(dir, "DEVELOPER_TOKEN");

        (await OkAsync(dir, "developer", "createProject", tenantAlias)).Output.Should().Contain("Project was created, PROJECT=");
        var projectId = await VariableAsync(dir, "PROJECT");
        var firstStageId = await VariableAsync(dir, "STAGE");
        await OkAsync(dir, "developer", "createProjectAlias", tenantAlias, projectId, "game");
        await OkAsync(dir, "developer", "createStageAlias", tenantAlias, firstStageId, "default");

        var tenantDetails = JsonOutput(await OkAsync(dir, "developer", "getTenantDetails", tenantAlias)).GetProperty("details");
        var project = tenantDetails.GetProperty("projects").EnumerateArray().Single();
        project.GetProperty("id").GetString().Should().Be(projectId);
        project.GetProperty("aliases").EnumerateArray().Select(a => a.GetProperty("value").GetString()).Should().Equal("game");

        var configPath = Path.Combine(dir, "config.json");
        await File.WriteAllTextAsync(configPath, """
            {
              "modes": [
                { "name": "death-match", "min_players": 1, "max_players": 8,
                  "groups": [ { "name": "players", "min_players": 1, "max_players": 8 } ] }
              ],
              "user_data": { "map": "arena" }
            }
            """, TestContext.Current.CancellationToken);
        (await OkAsync(dir, "developer", "createVersion", tenantAlias, "game", configPath)).Output.Should().Contain("Version was created, VERSION=");
        var versionId = await VariableAsync(dir, "VERSION");

        var undeployable = await CtlAsync(dir, "developer", "deployVersion", tenantAlias, "game", "default", versionId);
        undeployable.ExitCode.Should().Be(1, "a version without an image cannot be deployed: " + undeployable);
        undeployable.Errors.Should().Contain("ERROR: Operation was failed, HTTP_CODE=409").And.Contain("WRONG_VERSION_STATE");

        (await OkAsync(dir, "developer", "createImage", tenantAlias, versionId, "UNIVERSAL", "process:echo")).Output.Should().Contain("Image was created, IMAGE=");
        var imageId = await VariableAsync(dir, "IMAGE");
        var versionDetails = JsonOutput(await OkAsync(dir, "developer", "getVersionDetails", tenantAlias, versionId)).GetProperty("details");
        var image = versionDetails.GetProperty("images").EnumerateArray().Single();
        image.GetProperty("id").GetString().Should().Be(imageId);
        image.GetProperty("image_id").GetString().Should().Be("process:echo");
        image.GetProperty("qualifier").GetString().Should().Be("UNIVERSAL");

        (await OkAsync(dir, "developer", "deployVersion", tenantAlias, "game", "default", versionId)).Output.Should().Contain("Deployment was created, DEPLOYMENT=");
        var deploymentId = await VariableAsync(dir, "DEPLOYMENT");

        var stageDetails = JsonOutput(await OkAsync(dir, "developer", "getStageDetails", tenantAlias, "game", "default")).GetProperty("details");
        var deployment = stageDetails.GetProperty("deployments").EnumerateArray().Single();
        deployment.GetProperty("id").GetString().Should().Be(deploymentId);
        deployment.GetProperty("stage_id").GetString().Should().Be(firstStageId);
        deployment.GetProperty("version_id").GetString().Should().Be(versionId);
        var deploymentDetails = JsonOutput(await OkAsync(dir, "developer", "getDeploymentDetails", tenantAlias, deploymentId)).GetProperty("details");
        JsonSerializer.Serialize(deploymentDetails.GetProperty("deployment")).Should().Be(JsonSerializer.Serialize(deployment));

        // Ours: the deployment's matchmaker, as getMatchmakerDetails shows it (its ref appears once the deployment has started).
        string? matchmakerId = null;
        (await Eventually.TrueAsync(async () =>
        {
            var refs = JsonOutput(await OkAsync(dir, "developer", "getDeploymentDetails", tenantAlias, deploymentId)).GetProperty("details").GetProperty("matchmaker_refs");
            matchmakerId = refs.GetArrayLength() == 0 ? null : refs[0].GetProperty("matchmaker_id").GetString();
            return matchmakerId is not null;
        }, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(200))).Should().BeTrue("the deployment lists its matchmaker");
        var matchmakerOutput = await OkAsync(dir, "developer", "getMatchmakerDetails", tenantAlias, matchmakerId!);
        matchmakerOutput.Output.Should().Contain($"Using matchmaker, MATCHMAKER_ID={matchmakerId}");
        var matchmaker = JsonOutput(matchmakerOutput).GetProperty("details");
        matchmaker.GetProperty("id").GetString().Should().Be(matchmakerId);
        matchmaker.GetProperty("deployment_id").GetString().Should().Be(deploymentId);
        JsonSerializer.Serialize(matchmaker.GetProperty("queues")).Should().Be("""[{"mode":"death-match","waiting":0,"unsatisfiable":null}]""");
        matchmaker.GetProperty("matches").GetArrayLength().Should().Be(0);
        matchmaker.GetProperty("refused").GetArrayLength().Should().Be(0);
        var unknown = await CtlAsync(dir, "developer", "getMatchmakerDetails", tenantAlias, "12345");
        unknown.ExitCode.Should().Be(1, unknown.ToString());
        unknown.Errors.Should().Contain("ERROR: Operation was failed, HTTP_CODE=404").And.Contain("OBJECT_NOT_FOUND");

        // The server agrees, asked directly with the CLI's developer token.
        var overHttp = await f.PostAsync(Entry + "/developer/request/get-stage-details",
            JsonSerializer.Serialize(new { tenant = tenantId, project = projectId, stage = firstStageId }), developerToken);
        overHttp.Status.Should().Be(HttpStatusCode.OK);
        overHttp.Body.GetProperty("details").GetProperty("deployments").EnumerateArray().Select(d => d.GetProperty("id").GetString()).Should().Equal(deploymentId);

        // deleteVersion works (upstream's sends version_id and fails validation, defect 12.7).
        (await OkAsync(dir, "developer", "deleteVersion", tenantAlias, versionId)).Output
            .Should().Contain($"Version was deleted, TENANT={tenantAlias}, VERSION={versionId}");
        (await VariableAsync(dir, "DELETED")).Should().Be("true");
        var projectDetails = await f.PostAsync(Entry + "/developer/request/get-project-details",
            JsonSerializer.Serialize(new { tenant = tenantId, project = projectId }), developerToken);
        projectDetails.Status.Should().Be(HttpStatusCode.OK);
        projectDetails.Body.GetProperty("details").GetProperty("versions").EnumerateArray().Should().BeEmpty("the version is deleted");

        (await OkAsync(dir, "developer", "createLobbyRequest", tenantAlias, deploymentId)).Output.Should().Contain("Lobby request created successfully.");
        (await OkAsync(dir, "developer", "createMatchmakerRequest", tenantAlias, deploymentId)).Output.Should().Contain("Matchmaker request created successfully.");

        // State: the environment file holds what each step stored, the logs every call, temp/ every answer.
        var lines = EnvironmentLines(dir);
        lines.Should().Contain([
            "export OMGSERVERSCTL_ENVIRONMENT_NAME=test",
            $"export OMGSERVERSCTL_SERVICE_URL={f.Url}",
            $"export OMGSERVERSCTL_ADMIN_PASSWORD='{AdminPassword}'",
            $"export OMGSERVERSCTL_TENANT={tenantId}",
            $"export OMGSERVERSCTL_PROJECT={projectId}",
            $"export OMGSERVERSCTL_STAGE={firstStageId}",
            $"export OMGSERVERSCTL_VERSION={versionId}",
            $"export OMGSERVERSCTL_IMAGE={imageId}",
            $"export OMGSERVERSCTL_DEPLOYMENT={deploymentId}",
            $"export OMGSERVERSCTL_DEVELOPER_TOKEN={developerToken}",
        ]);
        lines.Should().OnlyContain(l => l.StartsWith("export OMGSERVERSCTL_"));

        var logs = LogsText(dir);
        logs.Should().Contain($"\n{f.Url}{Entry}/support/request/create-tenant-alias\n{{\"tenant_id\": {tenantId}, \"alias\": \"{tenantAlias}\"}}\n{{}}\n");
        logs.Should().Contain($"\n{f.Url}{Entry}/developer/request/delete-version\n{{\"tenant\": \"{tenantAlias}\", \"id\": \"{versionId}\"}}\n{{\"deleted\":true}}\n");
        logs.Should().Contain($"{{\"tenant\": \"{tenantAlias}\", \"project\": \"game\", \"stage\": \"default\", \"version_id\": {versionId}}}");
        logs.Should().Contain("\"config\": {\"modes\":[{\"name\":\"death-match\"", "the config is sent compacted, as upstream's jq -c");
        File.Exists(Path.Combine(dir, ".omgserversctl", "temp", $"developer-deploy-version_{tenantAlias}_game_default_{versionId}.json")).Should().BeTrue();

        var current = (await OkAsync(dir, "environment", "printCurrent")).Output;
        current.Should().Contain($"OMGSERVERSCTL_DEPLOYMENT={deploymentId}\n").And.Contain($"OMGSERVERSCTL_SUPPORT_PASSWORD={SupportPassword}\n");
    }

    [Fact]
    public async Task A_wrong_password_fails_with_the_status_the_endpoint_and_the_last_two_log_lines()
    {
        var dir = f.NewWorkDirectory();
        await OkAsync(dir, "environment", "useEnvironment", "test", f.Url);

        var result = await CtlAsync(dir, "admin", "useCredentials", "admin", "not-the-password");

        result.ExitCode.Should().Be(1, result.ToString());
        var errors = result.Errors.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        errors.Should().HaveCount(3, result.ToString());
        errors[0].Should().MatchRegex($@" test ERROR: Operation was failed, HTTP_CODE=401, {System.Text.RegularExpressions.Regex.Escape(f.Url + Entry)}/admin/request/create-token$");
        errors[1].Should().Be("""{"user": "admin", "password": "not-the-password"}""");
        errors[2].Should().Be("""{"qualifier":"WRONG_CREDENTIALS"}""");
        EnvironmentLines(dir).Should().NotContain(l => l.Contains("ADMIN_TOKEN"));

        var noToken = await CtlAsync(dir, "admin", "generateId");
        noToken.ExitCode.Should().Be(1, noToken.ToString());
        noToken.Errors.Should().Contain("ERROR: Current admin token was not found");

        var unreachable = f.NewWorkDirectory();
        await OkAsync(unreachable, "environment", "useEnvironment", "nowhere", "http://127.0.0.1:1");
        var refused = await CtlAsync(unreachable, "admin", "useCredentials", "admin", "x");
        refused.ExitCode.Should().Be(1, refused.ToString());
        refused.Errors.Should().Contain("ERROR: Operation was failed, HTTP_CODE=000, http://127.0.0.1:1/service/v1/entrypoint/admin/request/create-token");
    }

    [Fact]
    public async Task A_support_token_is_refused_where_a_developer_token_is_needed()
    {
        var dir = f.NewWorkDirectory();
        await OkAsync(dir, "environment", "useEnvironment", "test", f.Url);
        await OkAsync(dir, "support", "useCredentials", "support", SupportPassword);
        // A support user's credentials used as a developer's: the token is issued (it carries the real role)...
        var supportId = SubjectOf(await VariableAsync(dir, "SUPPORT_TOKEN"));
        await OkAsync(dir, "developer", "useCredentials", supportId, SupportPassword);
        // ...and refused by the developer API.
        var refused = await CtlAsync(dir, "developer", "getTenantDetails", "anything");
        refused.ExitCode.Should().Be(1, refused.ToString());
        refused.Errors.Should().Contain("ERROR: Operation was failed, HTTP_CODE=403").And.Contain("PERMISSION_NOT_FOUND");
    }

    private static string SubjectOf(string token)
    {
        var part = token.Split('.')[1].Replace('-', '+').Replace('_', '/');
        var json = JsonDocument.Parse(Convert.FromBase64String(part.PadRight(part.Length + (4 - part.Length % 4) % 4, '='))).RootElement;
        return json.GetProperty("sub").GetString()!;
    }
}
