using OmgServers.Contracts.Interchange;
using OmgServers.Domain.Matchmaking;
using OmgServers.Domain.Runtimes;

namespace OmgServers.Domain.Tests.Entities;

/// <summary>
/// Reliable delivery is at least once: a message whose handling outlasts the sender's redelivery interval (a slow write)
/// is sent again. Receivers that do not record such deliveries (<c>RecordsDelivery</c> false) must then handle them
/// idempotently. Each test stalls the receiver's write for a few intervals, then sends a marker through the same sender
/// (delivered only after the first message was confirmed) to know that every copy has been handled.
/// </summary>
public sealed class RedeliveryTests(PostgresFixture pg, ITestOutputHelper output)
{
    private static readonly TimeSpan Stall = TimeSpan.FromSeconds(1); // five redelivery intervals of the harness

    [Fact(Timeout = 60_000)]
    public async Task Forwarded_player_messages_are_not_duplicated_by_a_redelivery()
    {
        await using var game = await GameHarness.StartAsync(pg, output, new GameOptions());
        var deployment = await game.StartDeploymentAsync(GameHarness.VersionConfig(("duel", 2, 2)), firstLobbyId: game.Ids.Next());
        var runtimeId = (await Eventually.ValueAsync(() => game.ViewAsync(deployment), v => v.Lobbies.Count == 1, "the first lobby")).Lobbies[0].RuntimeId;
        await game.WaitForCommandsAsync(runtimeId, c => c.Count == 1, "INIT_RUNTIME");
        var runtime = RuntimeEntity.Address(runtimeId);
        var client = new TestClient(game.Ids.Next(), game.Ids.Next());
        await game.AskAsync<object>(runtime, new RuntimeCommands.AddClient(client.ClientId, client.UserId, null));

        // What a client does with the messages it kept while it had no runtime: one HandleMessages by reliable delivery,
        // with a batch id (ClientEntity uses the position of the write that forwards them).
        var sender = RelayEntity.Address("client");
        await using (var stalled = await game.StallNextWriteAsync(runtime))
        {
            await game.AskAsync<object>(sender, new Relay(runtime, new RuntimeCommands.HandleMessages(client.ClientId, [Payload.From("once")], BatchId: 1)));
            await stalled.WaitUntilBlockingAsync();
            await Task.Delay(Stall, TestContext.Current.CancellationToken); // the fault's duration, not a wait for a condition
        }
        await game.AskAsync<object>(sender, new Relay(runtime, new RuntimeCommands.HandleMessages(client.ClientId, [Payload.From("marker")], BatchId: 2)));

        var log = await game.WaitForCommandsAsync(runtimeId, c => c.HandledTexts(client).Contains("marker"), "the marker");
        log.HandledTexts(client).Should().Equal(["once", "marker"], "a redelivered HandleMessages must not add the messages again");
    }

    [Fact(Timeout = 60_000)]
    public async Task A_refused_matchmaking_request_is_listed_once_after_a_redelivery()
    {
        await using var game = await GameHarness.StartAsync(pg, output, new GameOptions());
        var deployment = await game.StartDeploymentAsync(GameHarness.VersionConfig(("duel", 2, 2)));
        await Eventually.ValueAsync(() => game.MatchmakerViewAsync(deployment), v => v.Started, "the matchmaker started");
        var matchmaker = MatchmakerEntity.Address(deployment.MatchmakerId);
        var client = new TestClient(game.Ids.Next(), game.Ids.Next());

        // What a lobby runtime does with REQUEST_MATCHMAKING: a Request by reliable delivery.
        var sender = RelayEntity.Address("lobby");
        await using (var stalled = await game.StallNextWriteAsync(matchmaker))
        {
            await game.AskAsync<object>(sender, new Relay(matchmaker, new MatchmakerCommands.Request(client.ClientId, client.UserId, "nope")));
            await stalled.WaitUntilBlockingAsync();
            await Task.Delay(Stall, TestContext.Current.CancellationToken); // the fault's duration, not a wait for a condition
        }
        await game.AskAsync<object>(sender, new Relay(matchmaker, new MatchmakerCommands.Request(client.ClientId, client.UserId, "marker")));

        var view = await Eventually.ValueAsync(() => game.MatchmakerViewAsync(deployment), v => v.Refused.Any(r => r.Mode == "marker"), "the marker refused");
        view.Refused.Select(r => r.Mode).Should().Equal(["nope", "marker"], "a redelivered request must not be refused (and listed) twice");
    }
}
