using System.Text.Json;
using FluentAssertions;
using OmgServers.Contracts.Interchange;
using OmgServers.Service.Tests.Infrastructure;
using Xunit;

namespace OmgServers.Service.Tests.Lobbies;

/// <summary>
/// Bad input on the player and runtime APIs while a real lobby runs (contract 1.3, 2.1, 2.2, 4.1-4.3 and our limits in
/// <see cref="PlayerInterchangeRequest"/>): each refusal has the contract's status and body, changes nothing (no
/// acknowledgement, no message reaches the lobby), and the game goes on afterwards.
/// </summary>
public sealed class LobbyBadInputTests(LobbyFixture fixture) : IClassFixture<LobbyFixture>
{
    private LobbyBackend B => fixture.Backend;

    [Fact]
    public async Task Refused_player_interchanges_change_nothing_and_the_client_keeps_playing()
    {
        var game = await B.NewGameAsync();
        await using var player = await B.NewPlayerAsync(game);
        await using var stranger = await B.NewPlayerAsync(game);
        await player.JoinLobbyAsync();
        await stranger.JoinLobbyAsync();
        (await player.SendAsync(new { echo = "kept" })).Ok();
        var kept = await player.WaitForReplyAsync("echo", "kept");
        player.Acknowledges = false; // from here on, only the calls below could acknowledge `kept`
        object[] ack = [kept.Id.ToString()];
        object Echo(string tag) => TestPlayer.Outgoing(1, new { echo = tag });

        (await player.InterchangeAsync(consumed: ack, token: stranger.Token)).Fails(400, "WRONG_CLIENT_ID", "another user's client");
        (await player.InterchangeAsync(consumed: ack, clientId: 123456789)).Fails(404, "OBJECT_NOT_FOUND", "no such client");
        (await player.InterchangeAsync([Echo("partial-1"), new { id = 2, qualifier = "NO_SUCH_MESSAGE", body = new { data = 1 } }], ack))
            .Fails(400, "WRONG_REQUEST", "an unknown qualifier fails the parsing of the whole request");
        (await player.InterchangeAsync([Echo("partial-2"), new { id = 2, qualifier = "SERVER_WELCOME_MESSAGE", body = new { data = 1 } }], ack))
            .Fails(400, "WRONG_CLIENT_MESSAGE_BODY_TYPE", "players send CLIENT_OUTGOING_MESSAGE only");
        (await player.InterchangeAsync([Echo("partial-3"), new { id = 2, qualifier = "CLIENT_OUTGOING_MESSAGE", body = new { text = 1 } }], ack))
            .Fails(400, "WRONG_CLIENT_MESSAGE_BODY_TYPE", "the body needs data");
        (await player.InterchangeAsync([Echo("partial-4"), TestPlayer.Outgoing(2, new { echo = new string('x', PlayerInterchangeRequest.MaxMessageBytes) })], ack))
            .Fails(400, "VALIDATION_CONSTRAINT_VIOLATED", "at most 64 KiB of data in one message");
        (await player.InterchangeAsync(Enumerable.Range(0, PlayerInterchangeRequest.MaxOutgoing + 1).Select(i => Echo($"partial-5-{i}")), ack))
            .Fails(400, "VALIDATION_CONSTRAINT_VIOLATED", "at most 100 messages in one call");
        (await player.InterchangeAsync([Echo("partial-6")], Enumerable.Range(0, PlayerInterchangeRequest.MaxConsumed).Select(i => (object)i).Concat(ack)))
            .Fails(400, "VALIDATION_CONSTRAINT_VIOLATED", "at most 1000 acknowledgements in one call");
        (await B.PostAsync(LobbyBackend.Player + "/interchange", new { client_id = "not-a-number", outgoing_messages = new[] { Echo("partial-7") }, consumed_messages = ack }, player.Token))
            .Fails(400, "WRONG_REQUEST", "ids are 64-bit integers");
        (await B.PostAsync(LobbyBackend.Player + "/interchange", new { client_id = player.ClientId.ToString(), outgoing_messages = new[] { Echo("partial-8") } }, player.Token))
            .Fails(400, "VALIDATION_CONSTRAINT_VIOLATED", "consumed_messages is required");
        (await B.PostAsync(LobbyBackend.Player + "/interchange", new { client_id = player.ClientId.ToString(), outgoing_messages = new[] { Echo("partial-9") }, consumed_messages = ack }))
            .Fails(401, "WRONG_CREDENTIALS", "no token");
        (await B.PostAsync(LobbyBackend.Player + "/interchange", new { client_id = player.ClientId.ToString(), outgoing_messages = new[] { Echo("partial-10") }, consumed_messages = ack }, B.SupportToken))
            .Fails(403, "PERMISSION_NOT_FOUND", "a support token does not open the player API");

        // Nothing was acknowledged: `kept` still comes back.
        TestPlayer.Parse(await player.InterchangeAsync()).Select(m => m.Id).Should().Contain(kept.Id);

        // The largest message and the largest batch pass, and every one of them is echoed, in order.
        player.Acknowledges = true;
        var big = new string('y', PlayerInterchangeRequest.MaxMessageBytes - 100);
        (await player.SendAsync(new { echo = big })).Ok();
        (await player.WaitForAsync(m => m.ServerMessage is { ValueKind: JsonValueKind.Object } x && x.TryGetProperty("echo", out var e)
                                         && e.ValueKind == JsonValueKind.String && e.GetString()!.Length == big.Length, "the echo of the 64 KiB message"))
            .ServerMessage!.Value.GetProperty("echo").GetString().Should().Be(big);
        var tags = Enumerable.Range(0, PlayerInterchangeRequest.MaxOutgoing).Select(i => $"batch-{i}").ToArray();
        (await player.SendAsync(tags.Select(t => (object?)new { echo = t }).ToArray())).Ok();
        await player.WaitForReplyAsync("echo", tags[^1]);
        await player.WaitForAsync(_ => tags.All(t => player.Received.Any(m => m.IsReply("echo", t))), "all 100 echoes");
        player.Received.Where(m => tags.Any(t => m.IsReply("echo", t))).OrderBy(m => m.Id)
            .Select(m => m.ServerMessage!.Value.GetProperty("echo").GetString()).Should().Equal(tags, "the lobby gets them in order and answers in order");

        // None of the refused requests' messages reached the lobby.
        (await player.SendAsync(new { echo = "after-errors" })).Ok();
        await player.WaitForReplyAsync("echo", "after-errors");
        player.Received.Should().NotContain(m => m.ServerMessage.HasValue && m.ServerMessage.Value.GetRawText().Contains("partial-"), player.Describe());
    }

    [Fact]
    public async Task The_runtime_API_refuses_bad_input_and_skips_commands_that_fail()
    {
        var game = await B.NewGameAsync();
        await using var player = await B.NewPlayerAsync(game);
        var lobby = await player.JoinLobbyAsync();
        const string runtimeInterchange = LobbyBackend.Runtime + "/interchange";
        var empty = new { outgoing_commands = Array.Empty<object>(), consumed_commands = Array.Empty<object>() };

        // create-token (contract 2.2).
        (await B.PostAsync(LobbyBackend.Runtime + "/create-token", new { runtime_id = lobby.ToString(), password = "not-the-password" })).Fails(401, "WRONG_CREDENTIALS");
        (await B.PostAsync(LobbyBackend.Runtime + "/create-token", new { runtime_id = lobby.ToString() })).Fails(400, "VALIDATION_CONSTRAINT_VIOLATED");
        var unknown = await B.PostAsync(LobbyBackend.Runtime + "/create-token", new { runtime_id = "123456789", password = "whatever" });
        ((int)unknown.Status).Should().Be(404, unknown.Text);
        var token = await B.RuntimeTokenAsync(lobby);
        var claims = LobbyTests.Claims(token);
        claims.GetProperty("sub").GetString().Should().Be(lobby.ToString());
        claims.GetProperty("groups").EnumerateArray().Select(g => g.GetString()).Should().Equal("runtime");

        // interchange: only a runtime's token opens it.
        (await B.PostAsync(runtimeInterchange, empty)).Fails(401, "WRONG_CREDENTIALS");
        (await B.PostAsync(runtimeInterchange, empty, player.Token)).Fails(403, "PERMISSION_NOT_FOUND", "a player token does not open the runtime API");
        (await B.PostAsync(runtimeInterchange, new { outgoing_commands = new[] { new { qualifier = "NO_SUCH_COMMAND", body = new { client_id = player.ClientId.ToString() } } }, consumed_commands = Array.Empty<object>() }, token))
            .Fails(400, "WRONG_REQUEST", "an unknown command qualifier fails the parsing of the whole request");
        (await B.PostAsync(runtimeInterchange, new { outgoing_commands = Array.Empty<object>() }, token)).Fails(400, "VALIDATION_CONSTRAINT_VIOLATED", "consumed_commands is required");

        // A command that fails is skipped and the call succeeds; the commands after it run (contract 4.2).
        var mixed = new object[]
        {
            new { qualifier = "RESPOND_CLIENT", body = new { nothing = 1 } },
            new { qualifier = "RESPOND_CLIENT", body = new { client_id = "1", message = new { to = "nobody" } } },
            new { qualifier = "KICK_CLIENT", body = new { client_id = "1" } },
            new { qualifier = "RESPOND_CLIENT", body = new { client_id = player.ClientId.ToString(), message = new { from = "test-with-runtime-token" } } },
        };
        var answer = await B.PostAsync(runtimeInterchange, new { outgoing_commands = mixed, consumed_commands = Array.Empty<object>() }, token);
        answer.Ok().Body.GetProperty("incoming_commands").ValueKind.Should().Be(JsonValueKind.Array);
        await player.WaitForReplyAsync("from", "test-with-runtime-token");
        player.Received.Where(m => m.IsReply("from", "test-with-runtime-token")).Should().ContainSingle();
        player.Received.Should().NotContain(m => m.IsReply("to", "nobody"));
        player.Received.Should().NotContain(m => m.Qualifier == "DISCONNECTION_REASON_MESSAGE");
        (await player.SendAsync(new { echo = "lobby-still-plays" })).Ok();
        await player.WaitForReplyAsync("echo", "lobby-still-plays");
    }

    [Fact]
    public async Task A_runtime_interchange_over_the_limits_is_refused_and_executes_nothing()
    {
        var game = await B.NewGameAsync();
        await using var player = await B.NewPlayerAsync(game);
        var lobby = await player.JoinLobbyAsync();
        var token = await B.RuntimeTokenAsync(lobby);
        const string runtimeInterchange = LobbyBackend.Runtime + "/interchange";
        object Respond(int i) => new { qualifier = "RESPOND_CLIENT", body = new { client_id = player.ClientId.ToString(), message = new { limit = i } } };

        (await B.PostAsync(runtimeInterchange, new { outgoing_commands = Enumerable.Range(0, RuntimeInterchangeRequest.MaxOutgoing + 1).Select(Respond).ToArray(), consumed_commands = Array.Empty<object>() }, token))
            .Fails(400, "VALIDATION_CONSTRAINT_VIOLATED", $"at most {RuntimeInterchangeRequest.MaxOutgoing} commands in one call");
        (await B.PostAsync(runtimeInterchange, new { outgoing_commands = new[] { Respond(-1) }, consumed_commands = Enumerable.Range(1, RuntimeInterchangeRequest.MaxConsumed + 1).ToArray() }, token))
            .Fails(400, "VALIDATION_CONSTRAINT_VIOLATED", $"at most {RuntimeInterchangeRequest.MaxConsumed} acknowledgements in one call");

        // At the limit it passes, and every command runs, in order.
        (await B.PostAsync(runtimeInterchange, new { outgoing_commands = Enumerable.Range(0, RuntimeInterchangeRequest.MaxOutgoing).Select(Respond).ToArray(), consumed_commands = Array.Empty<object>() }, token)).Ok();
        bool IsLimit(Incoming m) => m.ServerMessage is { ValueKind: JsonValueKind.Object } x && x.TryGetProperty("limit", out _);
        await player.WaitForAsync(_ => player.Received.Count(IsLimit) >= RuntimeInterchangeRequest.MaxOutgoing, $"{RuntimeInterchangeRequest.MaxOutgoing} messages");
        player.Received.Where(IsLimit).OrderBy(m => m.Id).Select(m => m.ServerMessage!.Value.GetProperty("limit").GetInt32())
            .Should().Equal(Enumerable.Range(0, RuntimeInterchangeRequest.MaxOutgoing), "nothing of the refused calls ran, and the accepted one ran in list order");
    }

    [Fact]
    public async Task A_runtime_gets_each_player_message_as_a_full_command_record_until_it_acknowledges_it()
    {
        var game = await B.NewGameAsync();
        await using var player = await B.NewPlayerAsync(game);
        var lobby = await player.JoinLobbyAsync();
        var token = await B.RuntimeTokenAsync(lobby);
        var processes = ProcessTable.OfRuntime(lobby);

        // Freeze the lobby so that the player's message stays unacknowledged, and read it with the lobby's token.
        foreach (var process in processes) ProcessTable.Signal(process.Pid, ProcessTable.SigStop);
        try
        {
            (await player.SendAsync(new { echo = "while-frozen" })).Ok();
            var empty = new { outgoing_commands = Array.Empty<object>(), consumed_commands = Array.Empty<object>() };
            JsonElement command = default;
            (await Eventually.TrueAsync(async () =>
            {
                var commands = (await B.PostAsync(LobbyBackend.Runtime + "/interchange", empty, token)).Ok().Body.GetProperty("incoming_commands").EnumerateArray();
                command = commands.FirstOrDefault(c => c.GetProperty("qualifier").GetString() == "HANDLE_MESSAGE" && c.GetProperty("body").GetRawText().Contains("while-frozen"));
                return command.ValueKind == JsonValueKind.Object;
            }, TestPlayer.DefaultTimeout)).Should().BeTrue("the player's message waits for the lobby as a HANDLE_MESSAGE command");

            // Contract 4.2: the full stored record.
            command.GetProperty("id").ValueKind.Should().Be(JsonValueKind.String);
            command.GetProperty("runtime_id").GetString().Should().Be(lobby.ToString());
            command.GetProperty("created").GetString().Should().EndWith("Z");
            command.GetProperty("modified").GetString().Should().EndWith("Z");
            command.GetProperty("deleted").GetBoolean().Should().BeFalse();
            command.TryGetProperty("idempotency_key", out _).Should().BeTrue();
            command.GetProperty("body").GetProperty("client_id").GetString().Should().Be(player.ClientId.ToString());
            command.GetProperty("body").GetProperty("message").GetRawText().Should().Be("""{"echo":"while-frozen"}""");
        }
        finally
        {
            foreach (var process in processes) ProcessTable.Signal(process.Pid, ProcessTable.SigCont);
        }

        // Thawed, the lobby handles it (well inside the 30 s runtime inactivity interval).
        await player.WaitForReplyAsync("echo", "while-frozen");
        player.Received.Should().NotContain(m => m.Qualifier == "DISCONNECTION_REASON_MESSAGE");
    }
}
