using OmgServers.Contracts.Interchange;
using OmgServers.Domain.Lobbies;

namespace OmgServers.Domain.Tests.Entities;

// One class per scenario: xunit runs classes in parallel and the tests of a class one after another.

public sealed class LobbyCapacityTests(PostgresFixture pg, ITestOutputHelper output)
{
    [Fact(Timeout = 60_000)]
    public async Task Three_clients_with_two_per_lobby_fill_two_lobbies()
    {
        await using var game = await GameHarness.StartAsync(pg, output, new GameOptions { MaxClientsPerLobby = 2 });
        var deployment = await game.StartDeploymentAsync(GameHarness.VersionConfig(("duel", 2, 2)));

        var clients = new List<TestClient>();
        for (var i = 0; i < 3; i++) clients.Add(await game.CreateClientAsync(deployment));
        var assignments = await Task.WhenAll(clients.Select(c => game.WaitForAssignmentAsync(c, RuntimeQualifier.LOBBY)));

        var byRuntime = assignments.GroupBy(a => a.RuntimeId).ToDictionary(g => g.Key, g => g.Count());
        byRuntime.Should().HaveCount(2, "a third client does not fit in a lobby of two");
        byRuntime.Values.Order().Should().Equal(1, 2);
        assignments.Should().OnlyContain(a => a.RuntimeConfig.LobbyConfig != null && a.RuntimeConfig.MatchConfig == null);

        var view = await game.ViewAsync(deployment);
        view.Started.Should().BeTrue();
        view.Queued.Should().Be(0);
        view.Lobbies.Select(l => l.Clients).Order().Should().Equal(1, 2);
        view.Lobbies.Select(l => l.RuntimeId).Should().BeEquivalentTo(byRuntime.Keys);
        // The lobby in each assignment is the one the deployment counts the client in.
        foreach (var a in assignments)
            view.Lobbies.Single(l => l.RuntimeId == a.RuntimeId).LobbyId.Should().Be(a.RuntimeConfig.LobbyConfig!.LobbyId);

        // Each lobby runtime was started once, as a LOBBY with the version's image, and hears ADD_CLIENT of its own clients only.
        game.Launcher.Starts.Select(s => s.RuntimeId).Should().BeEquivalentTo(byRuntime.Keys);
        game.Launcher.Starts.Should().OnlyContain(s => s.Qualifier == RuntimeQualifier.LOBBY && s.ImageId == GameHarness.Image);
        for (var i = 0; i < clients.Count; i++)
        {
            var (client, runtimeId) = (clients[i], assignments[i].RuntimeId);
            await game.WaitForCommandsAsync(runtimeId, c => c.Has(RuntimeCommandQualifier.ADD_CLIENT, client), $"ADD_CLIENT of {client.ClientId}");
        }
        foreach (var (runtimeId, count) in byRuntime)
            (await game.DetailsAsync(runtimeId)).Clients.Should().HaveCount(count);
    }
}

public sealed class LobbyCleanupTests(PostgresFixture pg, ITestOutputHelper output)
{
    [Fact(Timeout = 60_000)]
    public async Task An_empty_lobby_is_removed_after_its_minimum_lifetime_and_an_occupied_one_is_not()
    {
        var lifetime = TimeSpan.FromSeconds(1);
        await using var game = await GameHarness.StartAsync(pg, output, new GameOptions { LobbyMinLifetime = lifetime, MaxClientsPerLobby = 1 });
        var occupiedLobbyId = game.Ids.Next();
        var deployment = game.NewDeployment();
        // The client queues before the start, so it joins the first lobby in the start's own write (never empty).
        var client = await game.CreateClientAsync(deployment);
        await Eventually.ValueAsync(() => game.ViewAsync(deployment), v => v.Queued == 1, "the client queued");
        await game.StartDeploymentAsync(deployment, GameHarness.VersionConfig(("duel", 2, 2)), firstLobbyId: occupiedLobbyId);
        var assignment = await game.WaitForAssignmentAsync(client, RuntimeQualifier.LOBBY);
        assignment.RuntimeConfig.LobbyConfig!.LobbyId.Should().Be(occupiedLobbyId, "the client joins the deployment's first lobby");

        // A developer's extra lobby that nobody joins.
        var emptyLobbyId = game.Ids.Next();
        var emptyCreated = DateTimeOffset.UtcNow;
        await game.AskAsync<object?>(Deployments.DeploymentEntity.Address(deployment.DeploymentId), new Deployments.DeploymentCommands.RequestLobby(emptyLobbyId));
        var emptyRuntimeId = (await Eventually.ValueAsync(() => game.ViewAsync(deployment), v => v.Lobbies.Any(l => l.LobbyId == emptyLobbyId), "the extra lobby"))
            .Lobbies.Single(l => l.LobbyId == emptyLobbyId).RuntimeId;
        await Eventually.HoldsAsync(() => game.Launcher.StartOf(emptyRuntimeId) is not null, "the empty lobby's runtime started");

        var view = await Eventually.ValueAsync(() => game.ViewAsync(deployment), v => v.Lobbies.All(l => l.LobbyId != emptyLobbyId), "the empty lobby removed");
        (DateTimeOffset.UtcNow - emptyCreated).Should().BeGreaterThanOrEqualTo(lifetime, "not before its minimum lifetime");
        await Eventually.HoldsAsync(() => game.Launcher.Stopped(emptyRuntimeId), "the empty lobby's runtime stopped");
        (await game.ShouldRunAsync(emptyRuntimeId)).Should().BeFalse();
        (await game.DetailsAsync(emptyRuntimeId)).Deleted.Should().BeTrue();
        (await game.AskAsync<LobbyInfo>(LobbyEntity.Address(emptyLobbyId), new LobbyCommands.Get())).Exists.Should().BeFalse();

        // The occupied lobby is older than the removed one and stays.
        view.Lobbies.Should().ContainSingle(l => l.LobbyId == occupiedLobbyId && l.Clients == 1);
        game.Launcher.Stopped(assignment.RuntimeId).Should().BeFalse();
        (await game.ShouldRunAsync(assignment.RuntimeId)).Should().BeTrue();
        (await game.AskAsync<LobbyInfo>(LobbyEntity.Address(occupiedLobbyId), new LobbyCommands.Get())).Exists.Should().BeTrue();
        (await game.InterchangeAsync(client)).Incoming.Disconnections().Should().BeEmpty();
    }
}
