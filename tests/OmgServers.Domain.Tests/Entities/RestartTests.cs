using OmgServers.Contracts.Interchange;
using OmgServers.Domain.Runtimes;

namespace OmgServers.Domain.Tests.Entities;

public sealed class RestartTests(PostgresFixture pg, ITestOutputHelper output)
{
    [Fact(Timeout = 90_000)]
    public async Task A_restart_between_acknowledgement_and_reading_loses_nothing_and_the_game_goes_on()
    {
        await using var game = await GameHarness.StartAsync(pg, output, new GameOptions());
        var deployment = await game.StartDeploymentAsync(GameHarness.VersionConfig(("duel", 2, 2)));
        var client = await game.CreateClientAsync(deployment);
        var runtimeId = (await game.WaitForAssignmentAsync(client, RuntimeQualifier.LOBBY)).RuntimeId;
        var log = await game.WaitForCommandsAsync(runtimeId, c => c.Has(RuntimeCommandQualifier.ADD_CLIENT, client), "ADD_CLIENT");

        // The player acknowledges what it has read and sends a message (acknowledged: written to the runtime's log).
        var joined = (await game.InterchangeAsync(client)).Incoming;
        (await game.InterchangeAsync(client, ["hello"], consumed: joined.Select(m => m.Id))).Forwarded.Should().Be(RuntimeAck.Instance);
        // The runtime acknowledges its first commands and answers; its interchange returned, so the answers are durable.
        log = await game.RuntimeInterchangeAsync(runtimeId, [GameHarness.Respond(client, "r0"), GameHarness.Respond(client, "r1")], consumed: log.Select(c => c.Id));
        log.HandledTexts(client).Should().Equal("hello");

        // Nobody has read the answers yet: the node restarts.
        await game.RestartAsync();

        log = await game.RuntimeInterchangeAsync(runtimeId);
        log.Shape().Should().Equal([$"HANDLE_MESSAGE:{client.ClientId}"], "acknowledged commands stay acknowledged, the unacknowledged one is still there");
        log.HandledTexts(client).Should().Equal("hello");
        var read = await game.WaitForMessagesAsync(client, m => m.ServerTexts().Count == 2, "r0 and r1 after the restart");
        read.ServerTexts().Should().Equal("r0", "r1");
        read.Should().HaveCount(2, "acknowledged messages stay acknowledged");
        (await game.ViewAsync(deployment)).Lobbies.Should().ContainSingle(l => l.RuntimeId == runtimeId && l.Clients == 1);
        (await game.DetailsAsync(runtimeId)).Clients.Should().Equal(client.ClientId);

        // A second round after the restart.
        (await game.InterchangeAsync(client, ["again"], consumed: read.Select(m => m.Id))).Forwarded.Should().Be(RuntimeAck.Instance);
        log = await game.RuntimeInterchangeAsync(runtimeId, [GameHarness.Respond(client, "r2")], consumed: log.Select(c => c.Id));
        log.HandledTexts(client).Should().Equal("again");
        (await game.WaitForMessagesAsync(client, m => m.ServerTexts().Count > 0, "r2")).ServerTexts().Should().Equal("r2");
        game.Launcher.Starts.Should().ContainSingle("a restart does not start the runtime again");
    }
}
