using OmgServers.Contracts;
using OmgServers.Contracts.Interchange;
using OmgServers.Domain.Runtimes;

namespace OmgServers.Domain.Tests.Entities;

public sealed class UnconsumedCommandsLimitTests(PostgresFixture pg, ITestOutputHelper output)
{
    [Fact(Timeout = 60_000)]
    public async Task Messages_beyond_the_unacknowledged_commands_limit_are_refused_until_the_runtime_acknowledges()
    {
        const int limit = 100;
        await using var game = await GameHarness.StartAsync(pg, output, new GameOptions { MaxUnconsumedCommands = limit });
        var deployment = await game.StartDeploymentAsync(GameHarness.VersionConfig(("duel", 2, 2)));
        var client = await game.CreateClientAsync(deployment);
        var runtimeId = (await game.WaitForAssignmentAsync(client, RuntimeQualifier.LOBBY)).RuntimeId;
        // Only messages of an assigned client count as commands (earlier ones wait aside): wait for its ADD_CLIENT.
        var log = await game.WaitForCommandsAsync(runtimeId, c => c.Has(RuntimeCommandQualifier.ADD_CLIENT, client), "ADD_CLIENT");
        log.Shape().Should().Equal("INIT_RUNTIME", $"ADD_CLIENT:{client.ClientId}");

        // Up to the limit exactly: 2 + 98 = 100 unacknowledged commands.
        var fill = Enumerable.Range(0, limit - 2).Select(i => $"m{i}").ToList();
        (await game.InterchangeAsync(client, fill)).Forwarded.Should().Be(RuntimeAck.Instance);
        (await game.DetailsAsync(runtimeId)).UnconsumedCommands.Should().Be(limit);

        // One more is refused with 503 and not stored.
        var refused = await game.InterchangeAsync(client, ["over"]);
        refused.RuntimeId.Should().Be(runtimeId);
        refused.Forwarded.Should().Be(new RuntimeRejected(Qualifier.SERVICE_UNAVAILABLE, 503));
        (await game.DetailsAsync(runtimeId)).UnconsumedCommands.Should().Be(limit);

        // The runtime acknowledges everything; the player's next message is taken.
        log = await game.RuntimeInterchangeAsync(runtimeId);
        log.Should().HaveCount(limit);
        log.HandledTexts(client).Should().Equal(fill, "the refused message was not stored");
        (await game.RuntimeInterchangeAsync(runtimeId, consumed: log.Select(c => c.Id))).Should().BeEmpty();
        (await game.InterchangeAsync(client, ["again"])).Forwarded.Should().Be(RuntimeAck.Instance);
        (await game.RuntimeInterchangeAsync(runtimeId)).HandledTexts(client).Should().Equal("again");
    }
}

public sealed class EarlyMessagesTests(PostgresFixture pg, ITestOutputHelper output)
{
    [Fact(Timeout = 60_000)]
    public async Task Messages_that_overtake_a_clients_ADD_CLIENT_follow_it_and_are_dropped_when_the_client_leaves_first()
    {
        await using var game = await GameHarness.StartAsync(pg, output, new GameOptions());
        var lobbyId = game.Ids.Next();
        var deployment = await game.StartDeploymentAsync(GameHarness.VersionConfig(("duel", 2, 2)), firstLobbyId: lobbyId);
        var runtimeId = (await Eventually.ValueAsync(() => game.ViewAsync(deployment), v => v.Lobbies.Count == 1, "the first lobby")).Lobbies[0].RuntimeId;
        await game.WaitForCommandsAsync(runtimeId, c => c.Count == 1, "INIT_RUNTIME");
        var runtime = RuntimeEntity.Address(runtimeId);

        // The player's messages reach the runtime before the client's ADD_CLIENT (the edge forwards as soon as the client has
        // its assignment; the client's own delivery of ADD_CLIENT may come later). 2 x 60 are sent; 100 are kept.
        var late = new TestClient(game.Ids.Next(), game.Ids.Next());
        var texts = Enumerable.Range(0, 120).Select(i => $"e{i}").ToList();
        (await game.AskAsync<object>(runtime, new RuntimeCommands.HandleMessages(late.ClientId, texts.Take(60).Select(t => Payload.From(t)).ToList())))
            .Should().Be(RuntimeAck.Instance);
        (await game.AskAsync<object>(runtime, new RuntimeCommands.HandleMessages(late.ClientId, texts.Skip(60).Select(t => Payload.From(t)).ToList())))
            .Should().Be(RuntimeAck.Instance);
        (await game.DetailsAsync(runtimeId)).UnconsumedCommands.Should().Be(1, "early messages are not commands yet");

        await game.AskAsync<object>(runtime, new RuntimeCommands.AddClient(late.ClientId, late.UserId, null));
        var log = await game.RuntimeInterchangeAsync(runtimeId);
        log.Shape().Should().Equal(["INIT_RUNTIME", $"ADD_CLIENT:{late.ClientId}", .. Enumerable.Repeat($"HANDLE_MESSAGE:{late.ClientId}", 100)],
            "the kept messages follow the client's ADD_CLIENT at once");
        log.HandledTexts(late).Should().Equal(texts.Take(100), "the first 100, in the order they came");
        log.Select(c => c.Id).Should().BeInAscendingOrder().And.OnlyHaveUniqueItems();

        // A client whose departure comes before its arrival: its early messages are dropped. (If it arrives after all,
        // which the deployment would not do, it shows that nothing was kept for it.)
        var gone = new TestClient(game.Ids.Next(), game.Ids.Next());
        (await game.AskAsync<object>(runtime, new RuntimeCommands.HandleMessages(gone.ClientId, [Payload.From("lost-1"), Payload.From("lost-2")])))
            .Should().Be(RuntimeAck.Instance);
        await game.AskAsync<object>(runtime, new RuntimeCommands.RemoveClient(gone.ClientId));
        log = await game.RuntimeInterchangeAsync(runtimeId, consumed: log.Select(c => c.Id));
        log.Should().BeEmpty("a client the runtime never had gets no DELETE_CLIENT");
        await game.AskAsync<object>(runtime, new RuntimeCommands.AddClient(gone.ClientId, gone.UserId, null));
        log = await game.RuntimeInterchangeAsync(runtimeId);
        log.Shape().Should().Equal($"ADD_CLIENT:{gone.ClientId}");
    }
}

public sealed class DeferredDeliveryTests(PostgresFixture pg, ITestOutputHelper output)
{
    [Fact(Timeout = 60_000)]
    public async Task An_ADD_CLIENT_delivered_before_the_runtimes_creation_is_taken_once_the_creation_arrives()
    {
        await using var game = await GameHarness.StartAsync(pg, output, new GameOptions());
        var runtimeId = game.Ids.Next();
        var runtime = RuntimeEntity.Address(runtimeId);
        var client = new TestClient(game.Ids.Next(), game.Ids.Next());

        // A sender entity delivers ADD_CLIENT (reliable delivery, as the client entity does) to a runtime not created yet.
        // The relay's reply comes after its delivery was handed to the runtime's mailbox, so the GetDetails below is
        // handled after the runtime saw (and deferred) the ADD_CLIENT.
        await game.AskAsync<object>(RelayEntity.Address("client-side"), new Relay(runtime, new RuntimeCommands.AddClient(client.ClientId, client.UserId, null)));
        (await game.AskAsync<object>(runtime, new RuntimeCommands.GetDetails())).Should().Be(new RuntimeRejected(Qualifier.RUNTIME_NOT_FOUND, 404));
        (await game.AskAsync<object>(runtime, new RuntimeCommands.HandleMessages(client.ClientId, [Payload.From("too soon")])))
            .Should().Be(new RuntimeRejected(Qualifier.SERVICE_UNAVAILABLE, 503), "a player's call to a runtime not created yet is retried by the player");

        // The creation arrives (what the deployment sends); the redelivered ADD_CLIENT is then taken.
        await game.AskAsync<object>(runtime, new RuntimeCommands.Create(runtimeId, RuntimeQualifier.LOBBY, GameHarness.TenantId, GameHarness.ProjectId,
            GameHarness.StageId, GameHarness.VersionId, game.Ids.Next(), game.Ids.Next(), WireBodies.RuntimeConfig(1, null, GameHarness.VersionConfig()),
            GameHarness.Image, game.Ids.Next(), DateTimeOffset.UtcNow));
        var log = await game.WaitForCommandsAsync(runtimeId, c => c.Has(RuntimeCommandQualifier.ADD_CLIENT, client), "the deferred ADD_CLIENT");
        log.Shape().Should().Equal("INIT_RUNTIME", $"ADD_CLIENT:{client.ClientId}");
        log[1].BodyAs<AddClientBody>().UserId.Should().Be(client.UserId);
        (await game.DetailsAsync(runtimeId)).Clients.Should().Equal(client.ClientId);
        await Eventually.HoldsAsync(() => game.Launcher.StartOf(runtimeId) is not null, "the runtime started");

        // Taken once: after the acknowledgement nothing more comes.
        log = await game.RuntimeInterchangeAsync(runtimeId, consumed: log.Select(c => c.Id));
        log.Should().BeEmpty();
    }
}
