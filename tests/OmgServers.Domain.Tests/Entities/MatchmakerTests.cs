using System.Diagnostics;
using OmgServers.Contracts.Interchange;
using OmgServers.Domain.Matchmaking;

namespace OmgServers.Domain.Tests.Entities;

public sealed class MatchmakerTests(PostgresFixture pg, ITestOutputHelper output)
{
    [Fact(Timeout = 90_000)]
    public async Task Two_requests_of_a_two_player_mode_make_one_match_and_a_kick_sends_the_player_back_to_a_lobby()
    {
        await using var game = await GameHarness.StartAsync(pg, output, new GameOptions());
        var deployment = await game.StartDeploymentAsync(GameHarness.VersionConfig(("duel", 2, 2)));
        var first = await game.CreateClientAsync(deployment);
        var second = await game.CreateClientAsync(deployment);
        var lobbyRuntimeId = (await game.WaitForAssignmentAsync(first, RuntimeQualifier.LOBBY)).RuntimeId;
        (await game.WaitForAssignmentAsync(second, RuntimeQualifier.LOBBY)).RuntimeId.Should().Be(lobbyRuntimeId);
        var lobbyLog = await game.WaitForCommandsAsync(lobbyRuntimeId,
            c => c.Has(RuntimeCommandQualifier.ADD_CLIENT, first) && c.Has(RuntimeCommandQualifier.ADD_CLIENT, second), "both ADD_CLIENTs");

        // The lobby asks twice for the first client, once for the second, and once for a mode the version does not have.
        await game.RuntimeInterchangeAsync(lobbyRuntimeId, [
            GameHarness.RequestMatchmaking(first, "duel"),
            GameHarness.RequestMatchmaking(first, "duel"),
            GameHarness.RequestMatchmaking(second, "duel"),
            GameHarness.RequestMatchmaking(first, "nope"),
        ], consumed: lobbyLog.Select(c => c.Id));

        var view = await Eventually.ValueAsync(() => game.MatchmakerViewAsync(deployment),
            v => v.Matches.Count == 1 && v.Matches[0].Players == 2 && v.Refused.Count > 0, "a match of two and the refusal");
        var match = view.Matches.Single();
        match.Mode.Should().Be("duel");
        match.Groups.Should().Equal(new Dictionary<string, int> { ["duel"] = 2 });
        view.Refused.Should().ContainSingle().Which.Should().Match<MatchmakerView.Refusal>(r => r.Mode == "nope" && r.ClientId == first.ClientId);
        view.Queues.Should().ContainSingle(q => q.Mode == "duel" && q.Waiting == 0);

        // One MATCH runtime, and each player assigned to it once, with the match's config.
        foreach (var client in new[] { first, second })
        {
            var assignment = await game.WaitForAssignmentAsync(client, RuntimeQualifier.MATCH);
            assignment.RuntimeId.Should().Be(match.RuntimeId);
            assignment.RuntimeConfig.MatchConfig.Should().Be(new MatchConfig(deployment.MatchmakerId, match.MatchId));
            assignment.RuntimeConfig.LobbyConfig.Should().BeNull();
        }
        await Eventually.HoldsAsync(() => game.Launcher.Starts.Any(s => s.Qualifier == RuntimeQualifier.MATCH), "the match runtime started");
        game.Launcher.Starts.Where(s => s.Qualifier == RuntimeQualifier.MATCH).Should().ContainSingle().Which.RuntimeId.Should().Be(match.RuntimeId);

        var matchLog = await game.WaitForCommandsAsync(match.RuntimeId,
            c => c.Has(RuntimeCommandQualifier.ADD_MATCH_CLIENT, first) && c.Has(RuntimeCommandQualifier.ADD_MATCH_CLIENT, second), "both ADD_MATCH_CLIENTs");
        matchLog.Should().HaveCount(3);
        matchLog[0].BodyAs<InitRuntimeBody>().RuntimeConfig.MatchConfig.Should().Be(new MatchConfig(deployment.MatchmakerId, match.MatchId));
        matchLog.Skip(1).Select(c => c.BodyAs<AddMatchClientBody>().GroupName).Should().Equal("duel", "duel");
        // Both left the lobby.
        await game.WaitForCommandsAsync(lobbyRuntimeId,
            c => c.Has(RuntimeCommandQualifier.DELETE_CLIENT, first) && c.Has(RuntimeCommandQualifier.DELETE_CLIENT, second), "both DELETE_CLIENTs");
        await Eventually.ValueAsync(() => game.ViewAsync(deployment), v => v.Lobbies.Sum(l => l.Clients) == 0, "the lobby counts nobody");

        // The match asks again for a player it has (ignored), then kicks it; both go to the matchmaker in this order.
        await game.RuntimeInterchangeAsync(match.RuntimeId, [GameHarness.RequestMatchmaking(first, "duel"), GameHarness.Kick(first)], consumed: matchLog.Select(c => c.Id));
        var back = await game.WaitForAssignmentAsync(first, RuntimeQualifier.LOBBY, count: 2);
        back.RuntimeId.Should().Be(lobbyRuntimeId, "the only lobby has room");
        await game.WaitForCommandsAsync(match.RuntimeId, c => c.Has(RuntimeCommandQualifier.DELETE_CLIENT, first), "DELETE_CLIENT of the kicked player");
        // (The lobby acknowledged its first ADD_CLIENTs: what it has now is the departure, then the return.)
        var again = await game.WaitForCommandsAsync(lobbyRuntimeId, c => c.Has(RuntimeCommandQualifier.ADD_CLIENT, first), "the kicked player added to the lobby again");
        again.Shape().Should().HaveCount(3).And.EndWith($"ADD_CLIENT:{first.ClientId}");
        again.Shape().Take(2).Should().BeEquivalentTo($"DELETE_CLIENT:{first.ClientId}", $"DELETE_CLIENT:{second.ClientId}");

        view = await Eventually.ValueAsync(() => game.MatchmakerViewAsync(deployment), v => v.Matches.Single().Players == 1, "one player left in the match");
        view.Matches.Single().Groups.Should().Equal(new Dictionary<string, int> { ["duel"] = 1 });
        view.Queues.Should().ContainSingle(q => q.Mode == "duel" && q.Waiting == 0, "the repeated request was not queued");
        game.Launcher.Starts.Count(s => s.Qualifier == RuntimeQualifier.MATCH).Should().Be(1);
        var firstMessages = (await game.InterchangeAsync(first)).Incoming;
        firstMessages.Assignments().Select(a => a.RuntimeQualifier).Should().Equal(RuntimeQualifier.LOBBY, RuntimeQualifier.MATCH, RuntimeQualifier.LOBBY);
        firstMessages.Disconnections().Should().BeEmpty("a kicked match player is not disconnected");
        (await game.ViewAsync(deployment)).Lobbies.Sum(l => l.Clients).Should().Be(1);
    }
}

public sealed class EmptyMatchTests(PostgresFixture pg, ITestOutputHelper output)
{
    [Fact(Timeout = 90_000)]
    public async Task An_emptied_match_is_deleted_after_its_lifetime()
    {
        await using var game = await GameHarness.StartAsync(pg, output, new GameOptions { RuntimeInactiveInterval = TimeSpan.FromMinutes(5) });
        var deployment = await game.StartDeploymentAsync(GameHarness.VersionConfig(("solo", 1, 1)));
        var client = await game.CreateClientAsync(deployment);
        var lobbyRuntimeId = (await game.WaitForAssignmentAsync(client, RuntimeQualifier.LOBBY)).RuntimeId;
        await game.WaitForCommandsAsync(lobbyRuntimeId, c => c.Has(RuntimeCommandQualifier.ADD_CLIENT, client), "ADD_CLIENT");
        await game.RuntimeInterchangeAsync(lobbyRuntimeId, [GameHarness.RequestMatchmaking(client, "solo")]);
        var matchRuntimeId = (await game.WaitForAssignmentAsync(client, RuntimeQualifier.MATCH)).RuntimeId;
        await game.WaitForCommandsAsync(matchRuntimeId, c => c.Has(RuntimeCommandQualifier.ADD_MATCH_CLIENT, client), "ADD_MATCH_CLIENT");

        var emptied = Stopwatch.StartNew();
        await game.RuntimeInterchangeAsync(matchRuntimeId, [GameHarness.Kick(client)]);
        await game.WaitForAssignmentAsync(client, RuntimeQualifier.LOBBY, count: 2);
        (await Eventually.ValueAsync(() => game.MatchmakerViewAsync(deployment), v => v.Matches.Single().Players == 0, "the match empty"))
            .Matches.Single().RuntimeId.Should().Be(matchRuntimeId);
        (await game.ShouldRunAsync(matchRuntimeId)).Should().BeTrue("an empty match lives on for a while");

        var lifetime = MatchmakerEntity.EmptyMatchLifetime;
        await Eventually.ValueAsync(() => game.MatchmakerViewAsync(deployment), v => v.Matches.Count == 0, "the empty match deleted", lifetime + TimeSpan.FromSeconds(15));
        emptied.Elapsed.Should().BeGreaterThanOrEqualTo(lifetime);
        await Eventually.HoldsAsync(() => game.Launcher.Stopped(matchRuntimeId), "the match runtime stopped");
        (await game.ShouldRunAsync(matchRuntimeId)).Should().BeFalse();
        (await game.InterchangeAsync(client)).Incoming.Disconnections().Should().BeEmpty("the player is in a lobby");
    }
}
