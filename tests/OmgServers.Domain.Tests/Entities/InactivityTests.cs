using System.Diagnostics;
using OmgServers.Contracts.Interchange;
using OmgServers.Domain.Runtimes;

namespace OmgServers.Domain.Tests.Entities;

public sealed class ClientInactivityTests(PostgresFixture pg, ITestOutputHelper output)
{
    [Fact(Timeout = 60_000)]
    public async Task A_silent_client_is_disconnected_for_inactivity_and_an_interchanging_one_is_not()
    {
        var interval = TimeSpan.FromSeconds(2);
        await using var game = await GameHarness.StartAsync(pg, output, new GameOptions { ClientInactiveInterval = interval });
        var deployment = await game.StartDeploymentAsync(GameHarness.VersionConfig(("duel", 2, 2)));
        var silent = await game.CreateClientAsync(deployment);
        var active = await game.CreateClientAsync(deployment);
        // The silent player reads its lobby assignment, then falls silent: its last activity is that read (so that,
        // even on a loaded machine, it is deleted after it joined the lobby and the runtime shows ADD_CLIENT, DELETE_CLIENT).
        var clock = Stopwatch.StartNew();
        var assignments = await Task.WhenAll(game.WaitForAssignmentAsync(silent, RuntimeQualifier.LOBBY), game.WaitForAssignmentAsync(active, RuntimeQualifier.LOBBY));
        var runtimeId = assignments[0].RuntimeId;
        assignments[1].RuntimeId.Should().Be(runtimeId);
        await using (var player = new Pump(() => game.InterchangeAsync(active, ["ping"]), TimeSpan.FromMilliseconds(300)))
        {
            // Watched through the runtime's log (no activity of the client's): the silent one is added, then deleted.
            var log = await game.WaitForCommandsAsync(runtimeId, c => c.Has(RuntimeCommandQualifier.DELETE_CLIENT, silent), "DELETE_CLIENT of the silent client", TimeSpan.FromSeconds(20));
            clock.Elapsed.Should().BeGreaterThanOrEqualTo(interval, "not before its inactivity interval");
            log.Where(c => c.ClientOf() == silent.ClientId).Select(c => c.Qualifier).Should().Equal(RuntimeCommandQualifier.ADD_CLIENT, RuntimeCommandQualifier.DELETE_CLIENT);
            log.Has(RuntimeCommandQualifier.ADD_CLIENT, active).Should().BeTrue();
            (await game.DetailsAsync(runtimeId)).Clients.Should().Equal(active.ClientId);

            // The silent client's next call finds it deleted: the reason, then receive-only.
            var turn = await game.InterchangeAsync(silent, ["anyone?"]);
            turn.Incoming.Disconnections().Should().Equal(DisconnectionReason.CLIENT_INACTIVITY);
            turn.RuntimeId.Should().BeNull("a deleted client sends nothing");
            turn.Forwarded.Should().BeNull();
            (await game.RuntimeInterchangeAsync(runtimeId)).HandledTexts(silent).Should().BeEmpty();

            // The active one keeps interchanging for two more intervals and stays.
            var rounds = player.Rounds;
            var until = clock.Elapsed + 2 * interval;
            await Eventually.HoldsAsync(() => clock.Elapsed > until && player.Rounds > rounds + 5, "two more intervals of activity", TimeSpan.FromSeconds(20));
        }
        var activeTurn = await game.InterchangeAsync(active, ["still here"]);
        activeTurn.Incoming.Disconnections().Should().BeEmpty();
        activeTurn.RuntimeId.Should().Be(runtimeId);
        activeTurn.Forwarded.Should().Be(RuntimeAck.Instance);
        (await game.DetailsAsync(runtimeId)).Clients.Should().Equal(active.ClientId);
    }
}

public sealed class RuntimeInactivityTests(PostgresFixture pg, ITestOutputHelper output)
{
    [Fact(Timeout = 60_000)]
    public async Task A_lobby_runtime_that_never_interchanges_fails_its_lobby_and_an_interchanging_one_lives()
    {
        var interval = TimeSpan.FromSeconds(2);
        await using var game = await GameHarness.StartAsync(pg, output, new GameOptions { RuntimeInactiveInterval = interval, MaxClientsPerLobby = 1 });
        var deployment = await game.StartDeploymentAsync(GameHarness.VersionConfig(("duel", 2, 2)));

        var clock = Stopwatch.StartNew();
        var deadClient = await game.CreateClientAsync(deployment);
        var view = await Eventually.ValueAsync(() => game.ViewAsync(deployment), v => v.Lobbies.Count == 1, "the first lobby");
        var (deadLobbyId, deadRuntimeId) = (view.Lobbies[0].LobbyId, view.Lobbies[0].RuntimeId);

        // Every other lobby runtime interchanges, from its first appearance in the deployment's view.
        // (A runtime the view lists may not have received its creation yet: that interchange answers 404 and is repeated.)
        async Task InterchangeTheOthers()
        {
            foreach (var lobby in (await game.ViewAsync(deployment)).Lobbies.Where(l => l.RuntimeId != deadRuntimeId))
                await game.AskAsync<object>(RuntimeEntity.Address(lobby.RuntimeId), new RuntimeCommands.Interchange([], [], new Dictionary<long, string>()));
        }
        await using (var runtime = new Pump(InterchangeTheOthers, TimeSpan.FromMilliseconds(200)))
        {
            var liveClient = await game.CreateClientAsync(deployment);
            view = await Eventually.ValueAsync(() => game.ViewAsync(deployment), v => v.Lobbies.Count == 2, "the second lobby");
            var (liveLobbyId, liveRuntimeId) = view.Lobbies.Select(l => (l.LobbyId, l.RuntimeId)).Single(l => l.LobbyId != deadLobbyId);

            var deadEnd = await game.WaitForMessagesAsync(deadClient, m => m.Disconnections().Count > 0, "INTERNAL_FAILURE", TimeSpan.FromSeconds(20));
            clock.Elapsed.Should().BeGreaterThanOrEqualTo(interval, "not before the runtime's inactivity interval");
            deadEnd.Disconnections().Should().Equal(DisconnectionReason.INTERNAL_FAILURE);
            deadEnd.Assignments().Single().RuntimeId.Should().Be(deadRuntimeId);

            view = await Eventually.ValueAsync(() => game.ViewAsync(deployment), v => v.Lobbies.All(l => l.LobbyId != deadLobbyId), "the failed lobby gone");
            await Eventually.HoldsAsync(() => game.Launcher.Stopped(deadRuntimeId), "the failed runtime stopped");
            (await game.ShouldRunAsync(deadRuntimeId)).Should().BeFalse();
            var details = await game.DetailsAsync(deadRuntimeId);
            (details.Inactive && details.Deleted).Should().BeTrue();

            // The interchanging runtime is alive two intervals later.
            var rounds = runtime.Rounds;
            var until = clock.Elapsed + 2 * interval;
            await Eventually.HoldsAsync(() => clock.Elapsed > until && runtime.Rounds > rounds + 5, "two more intervals of activity", TimeSpan.FromSeconds(20));
            (await game.ViewAsync(deployment)).Lobbies.Should().ContainSingle(l => l.LobbyId == liveLobbyId && l.Clients == 1);
            (await game.ShouldRunAsync(liveRuntimeId)).Should().BeTrue();
            game.Launcher.Stopped(liveRuntimeId).Should().BeFalse();
            (await game.InterchangeAsync(liveClient)).Incoming.Disconnections().Should().BeEmpty();
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task A_lobby_runtime_whose_process_exits_fails_its_lobby_at_once()
    {
        // The inactivity interval is long: what follows comes from the exit alone.
        await using var game = await GameHarness.StartAsync(pg, output, new GameOptions { RuntimeInactiveInterval = TimeSpan.FromMinutes(5) });
        var deployment = await game.StartDeploymentAsync(GameHarness.VersionConfig(("duel", 2, 2)));
        var client = await game.CreateClientAsync(deployment);
        var assignment = await game.WaitForAssignmentAsync(client, RuntimeQualifier.LOBBY);
        var runtimeId = assignment.RuntimeId;
        await game.WaitForCommandsAsync(runtimeId, c => c.Has(RuntimeCommandQualifier.ADD_CLIENT, client), "ADD_CLIENT");

        var clock = Stopwatch.StartNew();
        await game.AskAsync<object?>(RuntimeEntity.Address(runtimeId), new RuntimeCommands.ProcessExited(137, "killed"));
        (await game.ShouldRunAsync(runtimeId)).Should().BeFalse("an exited runtime is not run again");

        var end = await game.WaitForMessagesAsync(client, m => m.Disconnections().Count > 0, "INTERNAL_FAILURE", TimeSpan.FromSeconds(10));
        end.Disconnections().Should().Equal(DisconnectionReason.INTERNAL_FAILURE);
        await Eventually.ValueAsync(() => game.ViewAsync(deployment), v => v.Lobbies.Count == 0, "the failed lobby gone", TimeSpan.FromSeconds(10));
        game.Launcher.Stopped(runtimeId).Should().BeTrue();
        clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(10));
        var details = await game.DetailsAsync(runtimeId);
        (details.Inactive && details.Deleted).Should().BeTrue();
    }
}

public sealed class RuntimeAuthenticationTests(PostgresFixture pg, ITestOutputHelper output)
{
    [Fact(Timeout = 60_000)]
    public async Task The_password_the_launcher_got_authenticates_the_runtime_and_nothing_else_does()
    {
        await using var game = await GameHarness.StartAsync(pg, output, new GameOptions());
        var lobbyId = game.Ids.Next();
        var deployment = await game.StartDeploymentAsync(GameHarness.VersionConfig(("duel", 2, 2)), firstLobbyId: lobbyId);
        var runtimeId = (await Eventually.ValueAsync(() => game.ViewAsync(deployment), v => v.Lobbies.Count == 1, "the first lobby")).Lobbies[0].RuntimeId;
        await Eventually.HoldsAsync(() => game.Launcher.StartOf(runtimeId) is not null, "the runtime started");
        var start = game.Launcher.StartOf(runtimeId)!;
        start.Qualifier.Should().Be(RuntimeQualifier.LOBBY);
        start.Password.Should().NotBeNullOrWhiteSpace();
        start.ToString().Should().NotContain(start.Password, "the password is not logged");
        var runtime = RuntimeEntity.Address(runtimeId);

        var ok = (await game.AskAsync<object>(runtime, new RuntimeCommands.Authenticate(start.Password))).Should().BeOfType<RuntimeAuthenticated>().Subject;
        ok.RuntimeId.Should().Be(runtimeId);
        ok.UserId.Should().NotBe(0);
        (await game.AskAsync<object>(runtime, new RuntimeCommands.Authenticate(start.Password + "x")))
            .Should().Be(new RuntimeRejected(Contracts.Qualifier.WRONG_CREDENTIALS, 401));
        (await game.AskAsync<object>(RuntimeEntity.Address(game.Ids.Next()), new RuntimeCommands.Authenticate(start.Password)))
            .Should().Be(new RuntimeRejected(Contracts.Qualifier.RUNTIME_NOT_FOUND, 404), "another runtime id is unknown");

        // The developer deletes the lobby: its runtime goes, and its password with it.
        (await game.AskAsync<Contracts.DeletedResponse>(Deployments.DeploymentEntity.Address(deployment.DeploymentId),
            new Deployments.DeploymentCommands.DeleteLobby(lobbyId))).Deleted.Should().BeTrue();
        await Eventually.ValueAsync(() => game.AskAsync<object>(runtime, new RuntimeCommands.Authenticate(start.Password)),
            r => r is RuntimeRejected { Status: 404 }, "404 once deleted");
        (await game.AskAsync<object>(runtime, new RuntimeCommands.Authenticate(start.Password)))
            .Should().Be(new RuntimeRejected(Contracts.Qualifier.RUNTIME_NOT_FOUND, 404));
        await Eventually.HoldsAsync(() => game.Launcher.Stopped(runtimeId), "the deleted runtime stopped");
    }
}
