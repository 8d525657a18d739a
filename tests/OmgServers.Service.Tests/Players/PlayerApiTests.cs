using OmgServers.Service.Tests.Infrastructure;
using System.Net;
using System.Text.Json;
using FluentAssertions;
using OmgServers.Service.Tests.ControlPlane;
using Xunit;

namespace OmgServers.Service.Tests.Players;

/// <summary>Player create-client and interchange (contract 2.1, 4.1) over real HTTP: welcome, acknowledgement, redelivery, limits.</summary>
public sealed class PlayerApiTests(ControlPlaneFixture f) : IClassFixture<ControlPlaneFixture>
{
    private const string Player = ControlPlaneFixture.Entry + "/player/request";

    private sealed record Game(long TenantId, long ProjectId, long StageId, long VersionId, long DeploymentId);

    private async Task<Game> DeployedGameAsync()
    {
        var (tenantId, developer) = await f.NewTenantWithDeveloperAsync();
        var (projectId, stageId) = await f.NewProjectAsync(tenantId, developer);
        var versionId = await f.NewDeployableVersionAsync(tenantId, projectId, developer);
        var deploymentId = (await f.DevAsync(developer, "deploy-version",
            new { tenant = tenantId.ToString(), project = projectId.ToString(), stage = stageId.ToString(), version_id = versionId })).Ok().Id("deployment_id");
        return new Game(tenantId, projectId, stageId, versionId, deploymentId);
    }

    private async Task<(long UserId, string Token)> NewPlayerAsync()
    {
        var user = (await f.PostAsync(Player + "/create-user", new { })).Ok();
        var token = (await f.PostAsync(Player + "/create-token", new { user_id = user.Str("user_id"), password = user.Str("password") })).Ok().Str("raw_token");
        return (user.Id("user_id"), token);
    }

    private async Task<long> NewClientAsync(Game game, string token) =>
        (await f.PostAsync(Player + "/create-client", new { tenant = game.TenantId.ToString(), project = game.ProjectId.ToString(), stage = game.StageId.ToString() }, token)).Ok().Id("client_id");

    private Task<ApiResponse> InterchangeAsync(string token, long clientId, object[]? outgoing = null, object[]? consumed = null) =>
        f.PostAsync(Player + "/interchange", new { client_id = clientId.ToString(), outgoing_messages = outgoing ?? [], consumed_messages = consumed ?? [] }, token);

    private static JsonElement[] Incoming(ApiResponse r) => r.Ok().Body.GetProperty("incoming_messages").EnumerateArray().ToArray();

    [Fact]
    public async Task A_new_client_is_welcomed_assigned_and_gets_its_messages_until_it_acknowledges_them()
    {
        var game = await DeployedGameAsync();
        var (_, token) = await NewPlayerAsync();
        var clientId = await NewClientAsync(game, token);

        var first = Incoming(await InterchangeAsync(token, clientId));
        var welcome = first[0];
        welcome.GetProperty("qualifier").GetString().Should().Be("SERVER_WELCOME_MESSAGE", "the welcome is the first message");
        welcome.GetProperty("id").ValueKind.Should().Be(JsonValueKind.String);
        var body = welcome.GetProperty("body");
        body.GetProperty("tenant_id").GetString().Should().Be(game.TenantId.ToString());
        body.GetProperty("version_id").GetString().Should().Be(game.VersionId.ToString());
        body.GetProperty("version_created").GetString().Should().EndWith("Z");

        // The matchmaker and lobby assignments follow (contract 5.3), whether or not the lobby's process runs.
        JsonElement[] all = [];
        (await Eventually.TrueAsync(async () => (all = Incoming(await InterchangeAsync(token, clientId))).Length >= 3, TimeSpan.FromSeconds(20)))
            .Should().BeTrue("the assignments arrive within seconds");
        all.Select(m => m.GetProperty("qualifier").GetString()).Should().Equal("SERVER_WELCOME_MESSAGE", "MATCHMAKER_ASSIGNMENT_MESSAGE", "RUNTIME_ASSIGNMENT_MESSAGE");
        all.Select(m => long.Parse(m.GetProperty("id").GetString()!)).Should().BeInAscendingOrder();
        var assignment = all[2].GetProperty("body");
        assignment.GetProperty("runtime_qualifier").GetString().Should().Be("LOBBY");
        assignment.GetProperty("runtime_config").GetProperty("lobby_config").GetProperty("lobby_id").GetString().Should().NotBeNullOrEmpty();
        assignment.GetProperty("runtime_config").GetProperty("version_config").GetProperty("modes")[0].GetProperty("name").GetString().Should().Be("death-match");

        // Not acknowledged: delivered again, unchanged (at-least-once).
        Incoming(await InterchangeAsync(token, clientId)).Select(m => m.GetRawText()).Should().Equal(all.Select(m => m.GetRawText()));
        // Acknowledged (as a number or a string): never again, also after the service restarts.
        Incoming(await InterchangeAsync(token, clientId, consumed: [long.Parse(welcome.GetProperty("id").GetString()!)])).Should().HaveCount(2);
        var rest = all.Skip(1).Select(m => (object)m.GetProperty("id").GetString()!).ToArray();
        Incoming(await InterchangeAsync(token, clientId, consumed: rest)).Should().BeEmpty();
        Incoming(await InterchangeAsync(token, clientId, consumed: rest)).Should().BeEmpty("acknowledging twice is harmless");
        await f.RestartAsync();
        Incoming(await InterchangeAsync(token, clientId)).Should().BeEmpty("the acknowledgement is durable (the JWT keys live in the database, so the token stays valid)");
    }

    [Fact]
    public async Task Wrong_clients_and_bad_messages_get_the_contract_errors_and_change_nothing()
    {
        var game = await DeployedGameAsync();
        var (_, token) = await NewPlayerAsync();
        var (_, otherToken) = await NewPlayerAsync();
        var clientId = await NewClientAsync(game, token);
        var welcomeId = Incoming(await InterchangeAsync(token, clientId))[0].GetProperty("id").GetString()!;
        var ok = new { id = 1, qualifier = "CLIENT_OUTGOING_MESSAGE", body = new { data = 1 } };

        (await InterchangeAsync(otherToken, clientId)).Fails(400, "WRONG_CLIENT_ID");
        (await InterchangeAsync(token, 123456789)).Fails(404, "OBJECT_NOT_FOUND");
        (await InterchangeAsync(token, clientId, outgoing: [new { id = 1, qualifier = "SERVER_WELCOME_MESSAGE", body = new { data = 1 } }], consumed: [welcomeId]))
            .Fails(400, "WRONG_CLIENT_MESSAGE_BODY_TYPE");
        (await InterchangeAsync(token, clientId, outgoing: [new { id = 1, qualifier = "CLIENT_OUTGOING_MESSAGE", body = new { text = 1 } }], consumed: [welcomeId]))
            .Fails(400, "WRONG_CLIENT_MESSAGE_BODY_TYPE", "the body needs data");
        (await InterchangeAsync(token, clientId, outgoing: [new { id = 1, qualifier = "NO_SUCH_MESSAGE", body = new { data = 1 } }], consumed: [welcomeId]))
            .Fails(400, "WRONG_REQUEST", "an unknown qualifier fails the parsing of the request");
        (await InterchangeAsync(token, clientId, outgoing: Enumerable.Repeat<object>(ok, 101).ToArray(), consumed: [welcomeId]))
            .Fails(400, "VALIDATION_CONSTRAINT_VIOLATED", "at most 100 messages in one call");
        (await InterchangeAsync(token, clientId, outgoing: [new { id = 1, qualifier = "CLIENT_OUTGOING_MESSAGE", body = new { data = new string('x', 65 * 1024) } }], consumed: [welcomeId]))
            .Fails(400, "VALIDATION_CONSTRAINT_VIOLATED", "at most 64 KiB of data in one message");
        (await InterchangeAsync(token, clientId, consumed: Enumerable.Range(0, 1001).Cast<object>().ToArray())).Fails(400, "VALIDATION_CONSTRAINT_VIOLATED");
        (await f.PostAsync(Player + "/interchange", new { client_id = clientId.ToString(), outgoing_messages = Array.Empty<object>() }, token)).Fails(400, "VALIDATION_CONSTRAINT_VIOLATED");
        (await f.PostAsync(Player + "/interchange", new { client_id = clientId.ToString(), outgoing_messages = Array.Empty<object>(), consumed_messages = Array.Empty<object>() }, f.SupportToken)).Fails(403, "PERMISSION_NOT_FOUND");

        // None of the refused calls acknowledged the welcome.
        Incoming(await InterchangeAsync(token, clientId)).Select(m => m.GetProperty("id").GetString()).Should().Contain(welcomeId);
    }

    [Fact]
    public async Task Create_client_resolves_aliases_and_needs_a_deployment()
    {
        var (tenantId, developer) = await f.NewTenantWithDeveloperAsync();
        var (projectId, stageId) = await f.NewProjectAsync(tenantId, developer);
        var (_, token) = await NewPlayerAsync();
        var body = new { tenant = tenantId.ToString(), project = projectId.ToString(), stage = stageId.ToString() };
        (await f.PostAsync(Player + "/create-client", body, token)).Fails(404, "DEPLOYMENT_NOT_FOUND");
        (await f.PostAsync(Player + "/create-client", new { tenant = "no-such-tenant", project = "p", stage = "s" }, token)).Fails(404, "OBJECT_NOT_FOUND");
        (await f.PostAsync(Player + "/create-client", new { tenant = tenantId.ToString(), project = projectId.ToString() }, token)).Fails(400, "VALIDATION_CONSTRAINT_VIOLATED");
        (await f.PostAsync(Player + "/create-client", body)).Fails(401, "WRONG_CREDENTIALS");

        var versionId = await f.NewDeployableVersionAsync(tenantId, projectId, developer);
        (await f.DevAsync(developer, "deploy-version", new { tenant = tenantId.ToString(), project = projectId.ToString(), stage = stageId.ToString(), version_id = versionId })).Ok();
        (await f.PostAsync(Player + "/create-client", body, token)).Status.Should().Be(HttpStatusCode.OK);
    }
}
