using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using FluentAssertions;
using OmgServers.Contracts.Interchange;
using OmgServers.Sdk;
using OmgServers.Service.Tests.Infrastructure;
using Xunit;

namespace OmgServers.Service.Tests.Lobbies;

/// <summary>
/// Players and a lobby end to end (contract 4, 5.3, 5.6, 5.8; 9.1's lobby scenarios): the real service on PostgreSQL
/// runs the sample lobby as a real process, and players talk to it over HTTP, through the SDK or raw calls. Each test
/// deploys a game of its own, so each has a lobby of its own.
/// </summary>
public sealed class LobbyTests(LobbyFixture fixture) : IClassFixture<LobbyFixture>
{
    private LobbyBackend B => fixture.Backend;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static JsonNode? Node(object? value) => JsonSerializer.SerializeToNode(value);

    [Fact]
    public async Task A_player_of_the_SDK_is_welcomed_assigned_to_a_lobby_process_and_greeted_by_it()
    {
        var game = await B.NewGameAsync();
        using var player = new OmgPlayerClient(B.Url);
        var user = await player.CreateUserAsync(Ct);
        await player.CreateTokenAsync(user.UserId, user.Password, Ct);
        var clientId = await player.CreateClientAsync(game.TenantId.ToString(), game.ProjectId.ToString(), game.StageId.ToString(), Ct);
        var messages = new ConcurrentQueue<PlayerMessage>();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var loop = player.RunAsync((message, _) =>
        {
            messages.Enqueue(message);
            return ValueTask.CompletedTask;
        }, stop.Token);

        static bool IsReply(PlayerMessage m, string json) =>
            m.Qualifier == MessageQualifier.SERVER_OUTGOING_MESSAGE && JsonNode.DeepEquals(JsonNode.Parse(m.BodyAs<ServerOutgoingMessageBody>().Message.GetRawText()), JsonNode.Parse(json));
        string Seen() => string.Join("\n", messages.Select(m => $"{m.Id} {m.Qualifier} {m.Body.GetRawText()}")) + "\n" + B.Describe();

        (await Eventually.TrueAsync(() => messages.Any(m => IsReply(m, """{"text":"welcome"}""")), TestPlayer.DefaultTimeout))
            .Should().BeTrue($"the lobby greets the player\n{Seen()}");

        var received = messages.ToArray();
        received.Should().OnlyHaveUniqueItems(m => m.Id, "each message is handed to the handler once");
        received[0].Qualifier.Should().Be(MessageQualifier.SERVER_WELCOME_MESSAGE, "the welcome is the client's first message");
        var welcome = received[0].BodyAs<ServerWelcomeMessageBody>();
        welcome.TenantId.Should().Be(game.TenantId);
        welcome.VersionId.Should().Be(game.VersionId);
        welcome.VersionCreated.Should().BeAfter(DateTimeOffset.UtcNow.AddMinutes(-5)).And.BeBefore(DateTimeOffset.UtcNow.AddMinutes(1));

        var matchmaker = received.Should().ContainSingle(m => m.Qualifier == MessageQualifier.MATCHMAKER_ASSIGNMENT_MESSAGE).Subject;
        matchmaker.BodyAs<MatchmakerAssignmentMessageBody>().MatchmakerId.Should().BePositive().And.Be(player.MatchmakerId!.Value);

        var assignmentMessage = received.Should().ContainSingle(m => m.Qualifier == MessageQualifier.RUNTIME_ASSIGNMENT_MESSAGE).Subject;
        var assignment = assignmentMessage.BodyAs<RuntimeAssignmentMessageBody>();
        assignment.RuntimeQualifier.Should().Be(RuntimeQualifier.LOBBY);
        assignment.RuntimeId.Should().BePositive();
        assignment.RuntimeConfig.LobbyConfig!.LobbyId.Should().BePositive();
        assignment.RuntimeConfig.MatchConfig.Should().BeNull();
        assignmentMessage.Body.GetProperty("runtime_config").GetProperty("match_config").ValueKind.Should().Be(JsonValueKind.Null, "null fields are written out (contract 1.2)");
        JsonNode.DeepEquals(JsonNode.Parse(assignmentMessage.Body.GetProperty("runtime_config").GetProperty("version_config").GetRawText()), JsonNode.Parse(LobbyBackend.SampleVersionConfig.GetRawText()))
            .Should().BeTrue("version_config is the whole deployed config: {0}", assignmentMessage.Body.GetRawText());
        player.Runtime.Should().NotBeNull();
        player.Runtime!.RuntimeId.Should().Be(assignment.RuntimeId);
        player.ClientId.Should().Be(clientId);

        // The lobby is a real process the server started with the contract's variables (7.1).
        var lobby = ProcessTable.OfRuntime(assignment.RuntimeId);
        lobby.Should().NotBeEmpty($"lobby runtime {assignment.RuntimeId} runs as a process\n{B.Describe()}");
        lobby.Should().Contain(p => p.CommandLine.Contains("OmgServers.Samples.Lobby.dll"));
        lobby[0].Variable("OMGSERVERS_RUNTIME_QUALIFIER").Should().Be("LOBBY");
        lobby[0].Variable("OMGSERVERS_SERVICE_URL")!.TrimEnd('/').Should().Be(B.Url.ToString().TrimEnd('/'));
        lobby[0].Variable("OMGSERVERS_PASSWORD").Should().NotBeNullOrEmpty();

        // And the SDK's messages reach it.
        await player.SendAsync(new { echo = "via-sdk" }, Ct);
        (await Eventually.TrueAsync(() => messages.Any(m => IsReply(m, """{"echo":"via-sdk"}""")), TestPlayer.DefaultTimeout))
            .Should().BeTrue($"the lobby echoes\n{Seen()}");

        await stop.CancelAsync();
        await ((Func<Task>)(() => loop)).Should().ThrowAsync<OperationCanceledException>();
    }

    [Fact]
    public async Task The_first_players_of_a_new_deployment_share_its_one_lobby()
    {
        // Logged in beforehand, so that their clients reach the deployment while it is still starting.
        var users = new List<(long UserId, string Token)>();
        for (var i = 0; i < 4; i++) users.Add(await B.NewUserAsync());
        var game = await B.NewGameAsync();
        var players = await Task.WhenAll(users.Select(u => B.NewClientAsync(game, u.UserId, u.Token)));
        try
        {
            var lobbies = await Task.WhenAll(players.Select(p => p.JoinLobbyAsync()));
            lobbies.Distinct().Should().ContainSingle("a deployment starts one lobby, with room for 1000 players (contract 5.2, 5.4); got {0}\n{1}", string.Join(", ", lobbies),
                string.Join("\n", B.Service.Output.Where(line => line.Contains($"deployment {game.DeploymentId}"))));
        }
        finally
        {
            foreach (var player in players) await player.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_message_reaches_the_lobby_and_its_reply_comes_back_with_every_JSON_type_intact()
    {
        var game = await B.NewGameAsync();
        await using var player = await B.NewPlayerAsync(game);
        await player.JoinLobbyAsync();
        player.Received.Single(m => m.IsReply("text", "welcome")).ServerMessage!.Value.GetRawText()
            .Should().Be("""{"text":"welcome"}""", "a new player's profile is {} and the sample adds none");

        var payload = new { tag = "types", n = 7, f = 2.5, s = "text", b = true, none = (object?)null, list = new object[] { 1, "a", false }, nested = new { x = -1 } };
        (await player.SendAsync(new { echo = payload })).Ok();
        var reply = await player.WaitForAsync(m => m.ServerMessage is { } x && x.TryGetProperty("echo", out var e) && e.ValueKind == JsonValueKind.Object
                                                   && e.TryGetProperty("tag", out var tag) && tag.GetString() == "types", "the echo of the typed payload");
        JsonNode.DeepEquals(JsonNode.Parse(reply.ServerMessage!.Value.GetRawText()), Node(new { echo = payload }))
            .Should().BeTrue("the runtime got the data as sent and its reply is delivered as sent: {0}", reply.ServerMessage!.Value.GetRawText());

        // The Defold SDK sends data as a string that holds JSON; the sample reads it as the object.
        (await player.SendAsync("""{"echo":"from-a-string"}""")).Ok();
        await player.WaitForReplyAsync("echo", "from-a-string");
    }

    [Fact]
    public async Task A_broadcast_reaches_every_player_of_the_lobby_once()
    {
        var game = await B.NewGameAsync();
        await using var a = await B.NewPlayerAsync(game);
        await using var b = await B.NewPlayerAsync(game);
        var lobby = await a.JoinLobbyAsync();
        (await b.JoinLobbyAsync()).Should().Be(lobby, "the deployment puts both players in its one lobby");

        (await a.SendAsync(new { broadcast = "hello-all" })).Ok();
        await a.WaitForReplyAsync("broadcast", "hello-all");
        await b.WaitForReplyAsync("broadcast", "hello-all");
        (await a.SendAsync(new { echo = "a-marker" })).Ok();
        await a.WaitForReplyAsync("echo", "a-marker");

        a.Received.Where(m => m.IsReply("broadcast", "hello-all")).Should().ContainSingle();
        b.Received.Where(m => m.IsReply("broadcast", "hello-all")).Should().ContainSingle();
    }

    [Fact]
    public async Task A_multicast_reaches_the_listed_players_only_and_nobody_when_one_of_them_is_not_in_the_lobby()
    {
        var game = await B.NewGameAsync();
        await using var a = await B.NewPlayerAsync(game);
        await using var b = await B.NewPlayerAsync(game);
        await using var c = await B.NewPlayerAsync(game);
        var lobby = await a.JoinLobbyAsync();
        (await b.JoinLobbyAsync()).Should().Be(lobby);
        (await c.JoinLobbyAsync()).Should().Be(lobby);

        (await a.SendAsync(new { multicast = new { clients = new[] { a.ClientId.ToString(), b.ClientId.ToString() }, message = "to-a-and-b" } })).Ok();
        await a.WaitForReplyAsync("multicast", "to-a-and-b");
        await b.WaitForReplyAsync("multicast", "to-a-and-b");
        // c gets what the lobby sends after the multicast, and not the multicast.
        (await a.SendAsync(new { broadcast = "after-multicast" })).Ok();
        await c.WaitForReplyAsync("broadcast", "after-multicast");
        c.Received.Should().NotContain(m => m.IsReply("multicast", "to-a-and-b"));

        // All listed clients must be in this lobby, or nothing is sent (contract 4.2).
        (await a.SendAsync(new { multicast = new { clients = new[] { a.ClientId, 1L }, message = "not-all-here" } })).Ok();
        (await a.SendAsync(new { echo = "after-bad-multicast" })).Ok();
        await a.WaitForReplyAsync("echo", "after-bad-multicast");
        a.Received.Should().NotContain(m => m.IsReply("multicast", "not-all-here"));
    }

    [Fact]
    public async Task A_kicked_client_gets_nothing_more_and_no_disconnection_message_but_can_still_interchange()
    {
        var game = await B.NewGameAsync();
        await using var kicked = await B.NewPlayerAsync(game);
        await using var other = await B.NewPlayerAsync(game);
        var lobby = await kicked.JoinLobbyAsync();
        (await other.JoinLobbyAsync()).Should().Be(lobby);

        // The sample acts on echo before kick, so the echo shows the lobby got the message.
        (await kicked.SendAsync(new { echo = "kicking", kick = true })).Ok();
        await kicked.WaitForReplyAsync("echo", "kicking");

        // Eventually a broadcast reaches the other player and not the kicked one.
        var probe = 0;
        var settled = await Eventually.TrueAsync(async () =>
        {
            var tag = $"probe-{++probe}";
            (await other.SendAsync(new { broadcast = tag })).Ok();
            await other.WaitForReplyAsync("broadcast", tag);
            await kicked.PollAsync();
            await kicked.PollAsync();
            return !kicked.Received.Any(m => m.IsReply("broadcast", tag));
        }, TestPlayer.DefaultTimeout, TimeSpan.FromMilliseconds(200));
        settled.Should().BeTrue($"the kicked client leaves the lobby\n{kicked.Describe()}");

        // Receive-only: its calls succeed, its messages go nowhere, and it is never told why (contract 5.7).
        (await kicked.SendAsync(new { echo = "after-kick" })).Ok();
        (await other.SendAsync(new { broadcast = "last-probe" })).Ok();
        await other.WaitForReplyAsync("broadcast", "last-probe");
        (await other.SendAsync(new { echo = "other-still-plays" })).Ok();
        await other.WaitForReplyAsync("echo", "other-still-plays");
        await kicked.PollAsync();
        kicked.Received.Should().NotContain(m => m.IsReply("echo", "after-kick") || m.IsReply("broadcast", "last-probe"));
        kicked.Received.Should().NotContain(m => m.Qualifier == "DISCONNECTION_REASON_MESSAGE", "a lobby kick sends no reason");
        other.Received.Should().NotContain(m => m.Qualifier == "DISCONNECTION_REASON_MESSAGE");
    }

    [Fact]
    public async Task A_profile_set_by_the_lobby_is_given_to_the_lobby_with_the_next_client_of_the_same_user()
    {
        var game = await B.NewGameAsync();
        await using var first = await B.NewPlayerAsync(game);
        await first.JoinLobbyAsync();
        var profile = new { level = 7, name = "knight", ratio = 0.25, premium = true, items = new object[] { "sword", 3 }, nested = new { x = -1 } };
        (await first.SendAsync(new { echo = "profile-sent", profile })).Ok();
        await first.WaitForReplyAsync("echo", "profile-sent");

        // SET_PROFILE is applied after the lobby's call returns; a client created later sees it (retry until it does).
        var clients = new List<TestPlayer>();
        try
        {
            Incoming? greeting = null;
            var seen = await Eventually.TrueAsync(async () =>
            {
                var next = await B.NewClientAsync(game, first.UserId, first.Token);
                clients.Add(next);
                await next.JoinLobbyAsync();
                greeting = next.Received.Single(m => m.IsReply("text", "welcome"));
                return greeting.ServerMessage!.Value.TryGetProperty("profile", out _);
            }, TestPlayer.DefaultTimeout, TimeSpan.FromMilliseconds(200));
            seen.Should().BeTrue($"a later client of the same user brings the stored profile to ADD_CLIENT\n{B.Describe()}");
            JsonNode.DeepEquals(JsonNode.Parse(greeting!.ServerMessage!.Value.GetProperty("profile").GetRawText()), Node(profile))
                .Should().BeTrue("numbers, strings, decimals, booleans, lists and objects keep their types: {0}", greeting.ServerMessage!.Value.GetRawText());
        }
        finally
        {
            foreach (var client in clients) await client.DisposeAsync();
        }

        // Another user's profile is still {}.
        await using var stranger = await B.NewPlayerAsync(game);
        await stranger.JoinLobbyAsync();
        stranger.Received.Single(m => m.IsReply("text", "welcome")).ServerMessage!.Value.GetRawText().Should().Be("""{"text":"welcome"}""");
    }

    [Fact]
    public async Task Upgrade_connection_gives_the_client_a_dispatcher_token_bound_to_its_lobby()
    {
        var game = await B.NewGameAsync();
        await using var player = await B.NewPlayerAsync(game);
        var lobby = await player.JoinLobbyAsync();

        (await player.SendAsync(new { upgrade = true })).Ok();
        var upgrade = await player.WaitForAsync("CONNECTION_UPGRADE_MESSAGE");
        upgrade.Body.GetProperty("client_id").GetString().Should().Be(player.ClientId.ToString());
        upgrade.Body.GetProperty("protocol").GetString().Should().Be("DISPATCHER");
        var wsToken = upgrade.Body.GetProperty("web_socket_config").GetProperty("ws_token").GetString();
        wsToken.Should().NotBeNullOrWhiteSpace();

        // Contract 3.1: the player WS token's subject is the client, bound to the runtime that asked, group websocket.
        var claims = Claims(wsToken!);
        claims.GetProperty("sub").GetString().Should().Be(player.ClientId.ToString());
        claims.GetProperty("runtime_id").GetString().Should().Be(lobby.ToString());
        claims.GetProperty("user_role").GetString().Should().Be("player");
        claims.GetProperty("groups").EnumerateArray().Select(g => g.GetString()).Should().Equal("websocket");
    }

    [Fact]
    public async Task Unacknowledged_messages_come_back_with_the_same_ids_until_acknowledged_and_never_after()
    {
        var game = await B.NewGameAsync();
        await using var player = await B.NewPlayerAsync(game);
        player.Acknowledges = false;
        await player.JoinLobbyAsync();
        (await player.SendAsync(new { echo = "redelivered" })).Ok();
        await player.WaitForReplyAsync("echo", "redelivered");

        var first = TestPlayer.Parse(await player.InterchangeAsync());
        var second = TestPlayer.Parse(await player.InterchangeAsync());
        first.Select(m => m.Id).Should().BeInAscendingOrder().And.OnlyHaveUniqueItems();
        first.Select(m => m.Qualifier).Should().StartWith("SERVER_WELCOME_MESSAGE")
            .And.Contain(["MATCHMAKER_ASSIGNMENT_MESSAGE", "RUNTIME_ASSIGNMENT_MESSAGE", "SERVER_OUTGOING_MESSAGE"]);
        first.Select(m => m.ToString()).Should().Equal(player.Received.OrderBy(m => m.Id).Select(m => m.ToString()), "everything received so far, unchanged");
        second.Select(m => m.ToString()).Should().Equal(first.Select(m => m.ToString()), "same ids, same bodies, same order");
        player.DeliveriesOf(first[0].Id).Should().BeGreaterThan(1);

        // Acknowledge all but the last: only the last comes back; then nothing.
        var last = first[^1];
        TestPlayer.Parse(await player.InterchangeAsync(consumed: first.SkipLast(1).Select(m => (object)m.Id.ToString())))
            .Select(m => m.ToString()).Should().Equal(last.ToString());
        TestPlayer.Parse(await player.InterchangeAsync()).Select(m => m.Id).Should().Equal(last.Id);
        TestPlayer.Parse(await player.InterchangeAsync(consumed: [last.Id])).Should().BeEmpty();
        TestPlayer.Parse(await player.InterchangeAsync()).Should().BeEmpty();

        // New traffic brings only new messages.
        (await player.InterchangeAsync([TestPlayer.Outgoing(1, new { echo = "after-ack" })])).Ok();
        IReadOnlyList<Incoming> fresh = [];
        (await Eventually.TrueAsync(async () => (fresh = TestPlayer.Parse(await player.InterchangeAsync())).Count > 0, TestPlayer.DefaultTimeout, TimeSpan.FromMilliseconds(100)))
            .Should().BeTrue("the echo comes back");
        fresh.Should().ContainSingle().Which.IsReply("echo", "after-ack").Should().BeTrue(fresh[0].ToString());
        fresh[0].Id.Should().BeGreaterThan(last.Id);
    }

    [Fact]
    public async Task A_new_deployment_takes_new_players_and_the_old_lobby_disconnects_its_players()
    {
        var v1 = await B.NewGameAsync();
        await using var a = await B.NewPlayerAsync(v1);
        await using var b = await B.NewPlayerAsync(v1);
        var oldLobby = await a.JoinLobbyAsync();
        (await b.JoinLobbyAsync()).Should().Be(oldLobby);
        ProcessTable.OfRuntime(oldLobby).Should().NotBeEmpty();

        var v2 = await B.DeployNewVersionAsync(v1);
        v2.DeploymentId.Should().BeGreaterThan(v1.DeploymentId);

        // Contract 5.8: the older deployment is deleted with its lobby; its players are told INTERNAL_FAILURE.
        foreach (var player in new[] { a, b })
        {
            var reason = await player.WaitForAsync("DISCONNECTION_REASON_MESSAGE");
            reason.Body.GetProperty("reason").GetString().Should().Be("INTERNAL_FAILURE");
        }

        await using var c = await B.NewPlayerAsync(v2);
        var welcome = await c.WaitForAsync("SERVER_WELCOME_MESSAGE");
        welcome.Body.GetProperty("version_id").GetString().Should().Be(v2.VersionId.ToString());
        var newLobby = await c.JoinLobbyAsync();
        newLobby.Should().NotBe(oldLobby);
        (await c.SendAsync(new { echo = "new-deployment" })).Ok();
        await c.WaitForReplyAsync("echo", "new-deployment");

        // The old lobby's process is stopped; the disconnected players stay receive-only.
        (await Eventually.TrueAsync(() => ProcessTable.OfRuntime(oldLobby).Count == 0, TimeSpan.FromSeconds(30)))
            .Should().BeTrue($"the server stops the deleted lobby's process\n{B.Describe()}");
        (await a.SendAsync(new { echo = "after-disconnection" })).Ok();
        (await c.SendAsync(new { broadcast = "new-lobby-only" })).Ok();
        await c.WaitForReplyAsync("broadcast", "new-lobby-only");
        await a.PollAsync();
        a.Received.Should().NotContain(m => m.IsReply("broadcast", "new-lobby-only") || m.IsReply("echo", "after-disconnection"));
    }

    /// <summary>The claims of a JWT (its payload, not verified).</summary>
    public static JsonElement Claims(string token)
    {
        var part = token.Split('.')[1].Replace('-', '+').Replace('_', '/');
        return JsonDocument.Parse(Convert.FromBase64String(part.PadRight(part.Length + (4 - part.Length % 4) % 4, '='))).RootElement.Clone();
    }
}
