using OmgServers.Contracts.Interchange;
using OmgServers.Domain.Clients;
using OmgServers.Domain.Deployments;
using OmgServers.Domain.Runtimes;

namespace OmgServers.Domain.Tests.Entities;

public sealed class UnconsumedMessagesLimitTests(PostgresFixture pg, ITestOutputHelper output)
{
    private static readonly MessageQualifier[] Joined =
        [MessageQualifier.SERVER_WELCOME_MESSAGE, MessageQualifier.MATCHMAKER_ASSIGNMENT_MESSAGE, MessageQualifier.RUNTIME_ASSIGNMENT_MESSAGE];

    [Fact(Timeout = 90_000)]
    public async Task Runtime_messages_beyond_the_limit_are_dropped_but_assignments_and_disconnections_arrive()
    {
        const int limit = 5;
        await using var game = await GameHarness.StartAsync(pg, output, new GameOptions { MaxUnconsumedMessages = limit });
        var deployment = await game.StartDeploymentAsync(GameHarness.VersionConfig(("solo", 1, 1)));
        var silent = await game.CreateClientAsync(deployment);    // never acknowledges
        var reader = await game.CreateClientAsync(deployment);    // acknowledges what it read
        var mover = await game.CreateClientAsync(deployment);     // at the limit when it is sent to a match

        // Each has 3 messages when it joined the lobby; all three are in the same lobby.
        var joined = new Dictionary<TestClient, IReadOnlyList<PlayerMessage>>();
        foreach (var c in new[] { silent, reader, mover })
            joined[c] = await game.WaitForMessagesAsync(c, m => m.Any(x => x.Qualifier == MessageQualifier.RUNTIME_ASSIGNMENT_MESSAGE), "joined a lobby");
        joined.Values.Should().OnlyContain(m => m.Select(x => x.Qualifier).SequenceEqual(Joined));
        var lobbyRuntimeId = joined[silent].Assignments().Single().RuntimeId;
        joined.Values.Select(m => m.Assignments().Single().RuntimeId).Should().AllBeEquivalentTo(lobbyRuntimeId);
        await game.WaitForCommandsAsync(lobbyRuntimeId, c => new[] { silent, reader, mover }.All(x => c.Has(RuntimeCommandQualifier.ADD_CLIENT, x)), "three ADD_CLIENTs");
        await game.InterchangeAsync(reader, consumed: joined[reader].Select(m => m.Id));

        var a = Enumerable.Range(0, 6).Select(i => $"a{i}").ToList();
        var b = Enumerable.Range(0, 10).Select(i => $"b{i}").ToList();
        await game.RuntimeInterchangeAsync(lobbyRuntimeId, [
            .. a.Select(t => GameHarness.Respond(silent, t)),
            .. b.Take(5).Select(t => GameHarness.Respond(reader, t)),
            GameHarness.Respond(mover, "c0"), GameHarness.Respond(mover, "c1"),
        ]);

        // A client that acknowledges gets everything: 5, acknowledged, then 5 more.
        var read = await game.WaitForMessagesAsync(reader, m => m.ServerTexts().Count == 5, "b0..b4");
        read.ServerTexts().Should().Equal(b.Take(5));
        await game.InterchangeAsync(reader, consumed: read.Select(m => m.Id));
        await game.RuntimeInterchangeAsync(lobbyRuntimeId, b.Skip(5).Select(t => GameHarness.Respond(reader, t)));
        (await game.WaitForMessagesAsync(reader, m => m.ServerTexts().Count == 5, "b5..b9")).ServerTexts().Should().Equal(b.Skip(5));

        // A client at the limit still gets its new runtime assignment.
        (await game.WaitForMessagesAsync(mover, m => m.Count == limit, "c0, c1")).ServerTexts().Should().Equal("c0", "c1");
        await game.RuntimeInterchangeAsync(lobbyRuntimeId, [GameHarness.RequestMatchmaking(mover, "solo")]);
        var matchAssignment = await game.WaitForAssignmentAsync(mover, RuntimeQualifier.MATCH);
        var matchRuntimeId = matchAssignment.RuntimeId;
        await game.WaitForCommandsAsync(matchRuntimeId, c => c.Has(RuntimeCommandQualifier.ADD_MATCH_CLIENT, mover), "ADD_MATCH_CLIENT");
        await game.RuntimeInterchangeAsync(matchRuntimeId, [GameHarness.Respond(mover, "m0")]);

        // The deployment goes: its lobby and its matchmaker's match disconnect their clients. Each DISCONNECTION travels
        // after the messages its runtime sent before, so once it is there every earlier message was taken or dropped.
        await game.AskAsync<object?>(DeploymentEntity.Address(deployment.DeploymentId), new DeploymentCommands.Delete());

        var silentEnd = await game.WaitForMessagesAsync(silent, m => m.Disconnections().Count > 0, "its DISCONNECTION_REASON_MESSAGE");
        silentEnd.ServerTexts().Should().Equal(["a0", "a1"], "3 + 2 reach the limit of 5; a2..a5 are dropped");
        silentEnd.Disconnections().Should().Equal(DisconnectionReason.INTERNAL_FAILURE);
        silentEnd.Should().HaveCount(limit + 1);

        var moverEnd = await game.WaitForMessagesAsync(mover, m => m.Disconnections().Count > 0, "its DISCONNECTION_REASON_MESSAGE");
        moverEnd.Assignments().Select(x => x.RuntimeQualifier).Should().Equal(RuntimeQualifier.LOBBY, RuntimeQualifier.MATCH);
        moverEnd.ServerTexts().Should().Equal(["c0", "c1"], "m0 came when the client was over the limit");
        moverEnd.Disconnections().Should().Equal(DisconnectionReason.INTERNAL_FAILURE);
        moverEnd.Should().HaveCount(limit + 2);
    }
}

public sealed class PendingOutgoingTests(PostgresFixture pg, ITestOutputHelper output)
{
    [Fact(Timeout = 60_000)]
    public async Task Messages_sent_before_the_client_has_a_runtime_are_kept_up_to_the_limit_and_forwarded_after_its_ADD_CLIENT()
    {
        const int max = ClientEntity.MaxPendingOutgoing;
        max.Should().Be(100);
        await using var game = await GameHarness.StartAsync(pg, output, new GameOptions());
        var deployment = game.NewDeployment();
        // The client comes before the deployment's start: it waits in the queue, without a runtime.
        var client = await game.CreateClientAsync(deployment);
        var texts = Enumerable.Range(0, max + 50).Select(i => $"p{i}").ToList();
        var first = await game.InterchangeAsync(client, texts.Take(70));
        var second = await game.InterchangeAsync(client, texts.Skip(70));
        foreach (var turn in new[] { first, second })
        {
            turn.RuntimeId.Should().BeNull("the client has no runtime yet");
            turn.Forwarded.Should().BeNull();
        }
        (await game.ViewAsync(deployment)).Queued.Should().Be(1);

        await game.StartDeploymentAsync(deployment, GameHarness.VersionConfig(("duel", 2, 2)));
        var runtimeId = (await game.WaitForAssignmentAsync(client, RuntimeQualifier.LOBBY)).RuntimeId;
        var log = await game.WaitForCommandsAsync(runtimeId, c => c.HandledTexts(client).Count >= max, $"{max} HANDLE_MESSAGEs");
        log.Shape().Take(2 + max).Should().Equal(["INIT_RUNTIME", $"ADD_CLIENT:{client.ClientId}", .. Enumerable.Repeat($"HANDLE_MESSAGE:{client.ClientId}", max)],
            "the kept messages follow the client's ADD_CLIENT");
        log.HandledTexts(client).Take(max).Should().Equal(texts.Take(max), "the first 100 in order; the rest were dropped");

        // Now the client has a runtime: its next message goes straight there, after the forwarded ones.
        var third = await game.InterchangeAsync(client, ["after"]);
        third.RuntimeId.Should().Be(runtimeId);
        third.Forwarded.Should().Be(RuntimeAck.Instance);
        var handled = (await game.RuntimeInterchangeAsync(runtimeId)).HandledTexts(client);
        handled.Last().Should().Be("after");
        // Exactly the first 100, once each (a redelivered forward is dropped by its batch id), and "after".
        handled.Should().Equal([.. texts.Take(max), "after"]);
    }
}
