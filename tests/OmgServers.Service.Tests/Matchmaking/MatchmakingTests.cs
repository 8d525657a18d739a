using FluentAssertions;
using OmgServers.Service.Tests.Infrastructure;
using OmgServers.Service.Tests.Lobbies;
using Xunit;

namespace OmgServers.Service.Tests.Matchmaking;

/// <summary>The modes of <see cref="MatchmakingTests"/>: one or two per test, so that the tests never share a match.</summary>
public sealed class FormingFixture(TestPostgres postgres) : MatchmakingFixture(postgres)
{
    public static readonly ModeSpec Instant = new("instant", 5, 16, ("players", 1, 16));
    public static readonly ModeSpec Gradual = new("gradual", 5, 16, ("players", 1, 16));
    public static readonly ModeSpec Sequential = new("sequential", 1, 16, ("players", 1, 16));
    public static readonly ModeSpec Single = new("single", 1, 1, ("players", 1, 1));
    public static readonly ModeSpec Trio = new("trio", 2, 3, ("players", 0, 3));
    public static readonly ModeSpec Solo = new("solo", 0, 4, ("players", 0, 4));
    public static readonly ModeSpec Teams = new("teams", 4, 4, ("red", 2, 2), ("blue", 2, 2));
    // Each group's counts are valid, so create-version accepts them; together they can never be met.
    public static readonly ModeSpec Overbooked = new("overbooked", 0, 2, ("a", 2, 2), ("b", 2, 2));
    public static readonly ModeSpec Unseatable = new("unseatable", 3, 3, ("only", 0, 2));
    public static readonly ModeSpec Repeated = new("repeated", 2, 16, ("players", 1, 16));
    public static readonly ModeSpec AfterRefusal = new("after-refusal", 1, 16, ("players", 1, 16));

    protected override IEnumerable<ModeSpec> Modes => [Instant, Gradual, Sequential, Single, Trio, Solo, Teams, Overbooked, Unseatable, Repeated, AfterRefusal];
}

/// <summary>
/// How matches form (contract 5.5; 9.1's Matchmaking* tests and the min/max edges), end to end: the real service on
/// PostgreSQL runs the sample as lobby and match processes; players in a lobby ask it for matchmaking
/// (<c>{"matchmake": mode}</c> → REQUEST_MATCHMAKING), and each test follows what the players receive, what the
/// runtimes log and what developer get-matchmaker-details shows.
/// </summary>
public sealed class MatchmakingTests(FormingFixture f) : IClassFixture<FormingFixture>
{
    private static readonly TimeSpan QuietWindow = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task Five_instant_requests_fill_one_match_each_player_leaves_its_lobby_and_joins_the_match_runtime()
    {
        await using var party = f.NewParty();
        var players = await party.InLobbyAsync(5);
        var lobbies = players.Select(p => p.CurrentRuntimeId()).ToArray();
        var after = players.Select(p => p.LastMessageId()).ToArray();

        await Task.WhenAll(players.Select(p => p.RequestMatchAsync(FormingFixture.Instant.Name)));

        var assignments = await Task.WhenAll(players.Select((p, i) => p.JoinMatchAsync(after[i])));
        assignments.Select(a => a.RuntimeId).Distinct().Should().ContainSingle("five requests of a 5..16 mode make one match");
        var match = assignments[0];
        assignments.Should().OnlyContain(a => a.MatchId == match.MatchId && a.MatchmakerId == f.MatchmakerId, "match_config names the match and its matchmaker");
        lobbies.Should().NotContain(match.RuntimeId);

        var details = await f.WaitForDetailsAsync(d => d.MatchesOf(FormingFixture.Instant.Name).Count == 1, "one match of the mode");
        var row = details.MatchesOf(FormingFixture.Instant.Name).Single();
        row.Should().BeEquivalentTo(new MatchRow(match.MatchId!.Value, match.RuntimeId, FormingFixture.Instant.Name, "OPENED", 5, new Dictionary<string, int> { ["players"] = 5 }));
        details.Waiting(FormingFixture.Instant.Name).Should().Be(0);
        details.Refused.Should().NotContain(r => players.Any(p => p.ClientId == r.ClientId), "nothing of theirs was refused");

        // The match is a real process of the sample started as a MATCH with the match's config (INIT_RUNTIME).
        var process = ProcessTable.OfRuntime(match.RuntimeId).Should().NotBeEmpty($"match runtime {match.RuntimeId} runs as a process").And.Subject.First();
        process.Variable("OMGSERVERS_RUNTIME_QUALIFIER").Should().Be("MATCH");
        var matchLog = f.Backend.RuntimeOutput(match.RuntimeId);
        matchLog.Should().Contain($"INIT_RUNTIME MATCH match {match.MatchId} of matchmaker {f.MatchmakerId}, modes [");
        foreach (var player in players)
        {
            matchLog.Should().Contain($"ADD_MATCH_CLIENT client {player.ClientId} group players", "the match gets ADD_MATCH_CLIENT with the group");
            player.Assignments().Select(a => a.Qualifier).Should().Equal(["LOBBY", "MATCH"], "one lobby, then one match: {0}", player.Describe());
        }
        (await Eventually.TrueAsync(() => players.Select((p, i) => (p, i)).All(x => f.Backend.RuntimeOutput(lobbies[x.i]).Contains($"DELETE_CLIENT client {x.p.ClientId}")),
                TestPlayer.DefaultTimeout))
            .Should().BeTrue($"each lobby gets DELETE_CLIENT for its players that moved to the match\n{f.Backend.RuntimeOutput(lobbies[0])}");
    }

    [Fact]
    public async Task Five_requests_one_per_second_wait_until_the_fifth_and_then_fill_one_match()
    {
        var mode = FormingFixture.Gradual.Name;
        await using var party = f.NewParty();
        var players = await party.InLobbyAsync(5);
        var after = players.Select(p => p.LastMessageId()).ToArray();

        for (var i = 0; i < 4; i++)
        {
            await players[i].RequestMatchAsync(mode);
            var waiting = i + 1;
            var details = await f.WaitForDetailsAsync(d => d.Waiting(mode) == waiting, $"{waiting} requests wait");
            details.MatchesOf(mode).Should().BeEmpty("{0} players are below the mode's min_players 5", waiting);
            await Task.Delay(TimeSpan.FromSeconds(1), TestContext.Current.CancellationToken); // the pace of the scenario: one request per second
        }
        players.Should().OnlyContain(p => p.Assignments().All(a => a.Qualifier == "LOBBY"), "nobody is matched before the fifth request");

        await players[4].RequestMatchAsync(mode);

        var assignments = await Task.WhenAll(players.Select((p, i) => p.JoinMatchAsync(after[i])));
        assignments.Select(a => a.RuntimeId).Distinct().Should().ContainSingle();
        var row = (await f.WaitForDetailsAsync(d => d.MatchesOf(mode).Count == 1 && d.Waiting(mode) == 0, "the five are matched")).MatchesOf(mode).Single();
        row.Players.Should().Be(5);
        row.RuntimeId.Should().Be(assignments[0].RuntimeId);
    }

    [Fact]
    public async Task Sequential_players_join_the_same_match_while_it_has_room()
    {
        var mode = FormingFixture.Sequential.Name;
        await using var party = f.NewParty();
        var (a, b) = (await party.InLobbyAsync(), await party.InLobbyAsync());

        var afterA = a.LastMessageId();
        await a.RequestMatchAsync(mode);
        var first = await a.JoinMatchAsync(afterA);
        (await f.WaitForDetailsAsync(d => d.Match(first.RuntimeId)?.Players == 1, "the first player's match")).MatchesOf(mode).Should().ContainSingle();

        var afterB = b.LastMessageId();
        await b.RequestMatchAsync(mode);
        var second = await b.JoinMatchAsync(afterB);

        second.RuntimeId.Should().Be(first.RuntimeId, "a 1..16 match with one player has room for the next (9.1 MatchmakingSameMatchAssignmentIT)");
        second.MatchId.Should().Be(first.MatchId);
        var row = (await f.WaitForDetailsAsync(d => d.Match(first.RuntimeId)?.Players == 2, "both in the match")).MatchesOf(mode).Single();
        row.Groups.Should().Equal(new Dictionary<string, int> { ["players"] = 2 });
    }

    [Fact]
    public async Task A_full_match_sends_the_next_player_to_a_new_match()
    {
        var mode = FormingFixture.Single.Name;
        await using var party = f.NewParty();
        var (a, b) = (await party.InLobbyAsync(), await party.InLobbyAsync());

        var afterA = a.LastMessageId();
        await a.RequestMatchAsync(mode);
        var first = await a.JoinMatchAsync(afterA);
        var afterB = b.LastMessageId();
        await b.RequestMatchAsync(mode);
        var second = await b.JoinMatchAsync(afterB);

        second.RuntimeId.Should().NotBe(first.RuntimeId, "a 1..1 match is full with one player (9.1 MatchmakingNewMatchAssignmentIT)");
        second.MatchId.Should().NotBe(first.MatchId);
        var details = await f.WaitForDetailsAsync(d => d.MatchesOf(mode).Count == 2, "two matches of the mode");
        details.MatchesOf(mode).Should().OnlyContain(m => m.Players == 1 && m.Status == "OPENED");
        ProcessTable.OfRuntime(second.RuntimeId).Should().NotBeEmpty("each match has its own runtime process");
    }

    [Fact]
    public async Task At_max_players_a_match_takes_nobody_more_and_the_next_match_waits_for_its_own_minimum()
    {
        // trio: 2..3 players.
        var mode = FormingFixture.Trio.Name;
        await using var party = f.NewParty();
        var players = await party.InLobbyAsync(5);
        var after = players.Select(p => p.LastMessageId()).ToArray();

        await Task.WhenAll(players[..2].Select(p => p.RequestMatchAsync(mode)));
        var first = await Task.WhenAll(players[..2].Select((p, i) => p.JoinMatchAsync(after[i])));
        first.Select(x => x.RuntimeId).Distinct().Should().ContainSingle("two requests meet min_players 2");
        var match = first[0].RuntimeId;

        await players[2].RequestMatchAsync(mode);
        (await players[2].JoinMatchAsync(after[2])).RuntimeId.Should().Be(match, "the match has room for a third");
        (await f.WaitForDetailsAsync(d => d.Match(match)?.Players == 3, "the match is full")).MatchesOf(mode).Should().ContainSingle();

        await players[3].RequestMatchAsync(mode);
        await f.WaitForDetailsAsync(d => d.Waiting(mode) == 1, "the fourth waits");
        await f.HoldsAsync(d => d.MatchesOf(mode).Count == 1 && d.Match(match)!.Players == 3 && d.Waiting(mode) == 1, QuietWindow,
            "a full match takes no fourth, and one player alone does not meet a new match's min_players 2");
        players[3].Assignments().Should().OnlyContain(x => x.Qualifier == "LOBBY");

        await players[4].RequestMatchAsync(mode);
        var second = await Task.WhenAll(players[3..].Select((p, i) => p.JoinMatchAsync(after[3 + i])));
        second.Select(x => x.RuntimeId).Distinct().Should().ContainSingle().Which.Should().NotBe(match, "the second match is a new one");
        var details = await f.WaitForDetailsAsync(d => d.MatchesOf(mode).Count == 2 && d.Waiting(mode) == 0, "two matches");
        details.MatchesOf(mode).Select(m => m.Players).Should().BeEquivalentTo([3, 2]);
    }

    [Fact]
    public async Task A_mode_with_no_minimum_makes_a_match_for_a_single_player()
    {
        var mode = FormingFixture.Solo.Name;
        await using var party = f.NewParty();
        var player = await party.InLobbyAsync();
        var after = player.LastMessageId();

        await player.RequestMatchAsync(mode);

        var match = await player.JoinMatchAsync(after);
        var row = (await f.WaitForDetailsAsync(d => d.Match(match.RuntimeId) is not null, "the solo match")).Match(match.RuntimeId)!;
        row.Should().BeEquivalentTo(new MatchRow(match.MatchId!.Value, match.RuntimeId, mode, "OPENED", 1, new Dictionary<string, int> { ["players"] = 1 }));
    }

    [Fact]
    public async Task Two_groups_of_two_are_filled_two_and_two_and_only_once_all_four_are_there()
    {
        // teams: 4..4 players, red 2..2 and blue 2..2.
        var mode = FormingFixture.Teams.Name;
        await using var party = f.NewParty();
        var players = await party.InLobbyAsync(4);
        var after = players.Select(p => p.LastMessageId()).ToArray();

        await Task.WhenAll(players[..3].Select(p => p.RequestMatchAsync(mode)));
        await f.WaitForDetailsAsync(d => d.Waiting(mode) == 3, "three wait");
        await f.HoldsAsync(d => d.MatchesOf(mode).Count == 0, QuietWindow, "three players cannot fill both groups to 2");

        await players[3].RequestMatchAsync(mode);

        var assignments = await Task.WhenAll(players.Select((p, i) => p.JoinMatchAsync(after[i])));
        assignments.Select(a => a.RuntimeId).Distinct().Should().ContainSingle();
        var row = (await f.WaitForDetailsAsync(d => d.MatchesOf(mode).Count == 1 && d.Waiting(mode) == 0, "the match of four")).MatchesOf(mode).Single();
        row.Groups.Should().Equal(new Dictionary<string, int> { ["blue"] = 2, ["red"] = 2 });
        row.Players.Should().Be(4);

        // The runtime got each player's group with ADD_MATCH_CLIENT and tells it back.
        var groups = await Task.WhenAll(players.Select(p => p.WhoAmIAsync()));
        groups.Should().OnlyContain(g => g.Runtime == "MATCH");
        groups.GroupBy(g => g.Group).ToDictionary(g => g.Key!, g => g.Count()).Should().Equal(new Dictionary<string, int> { ["blue"] = 2, ["red"] = 2 });
        var matchLog = f.Backend.RuntimeOutput(assignments[0].RuntimeId);
        for (var i = 0; i < players.Length; i++) matchLog.Should().Contain($"ADD_MATCH_CLIENT client {players[i].ClientId} group {groups[i].Group}");
    }

    [Fact]
    public async Task Requests_for_groups_that_can_never_be_met_are_refused_with_a_reason_and_make_no_match()
    {
        await using var party = f.NewParty();
        var player = await party.InLobbyAsync();

        await player.RequestMatchAsync(FormingFixture.Overbooked.Name);
        await player.RequestMatchAsync(FormingFixture.Unseatable.Name);

        var details = await f.WaitForDetailsAsync(d => d.Refused.Count(r => r.ClientId == player.ClientId) == 2, "both requests refused");
        var refused = details.Refused.Where(r => r.ClientId == player.ClientId).ToList();
        refused.Single(r => r.Mode == FormingFixture.Overbooked.Name).Reason.Should().Contain("min_players add up to 4").And.Contain("max_players 2");
        refused.Single(r => r.Mode == FormingFixture.Unseatable.Name).Reason.Should().Contain("min_players 3 is more than the groups can seat (2)");
        details.Queues.Single(q => q.Mode == FormingFixture.Overbooked.Name).Unsatisfiable.Should().NotBeNullOrEmpty("the queue says why the mode never matches");
        details.Queues.Single(q => q.Mode == FormingFixture.Unseatable.Name).Unsatisfiable.Should().NotBeNullOrEmpty();

        await f.HoldsAsync(d => d.MatchesOf(FormingFixture.Overbooked.Name).Count == 0 && d.MatchesOf(FormingFixture.Unseatable.Name).Count == 0
                                && d.Waiting(FormingFixture.Overbooked.Name) == 0 && d.Waiting(FormingFixture.Unseatable.Name) == 0,
            QuietWindow, "a refused request neither waits nor makes a match");
        player.Assignments().Should().OnlyContain(a => a.Qualifier == "LOBBY", "the player stays in its lobby");
        (await player.SendAsync(new { echo = "still-in-the-lobby" })).Ok();
        await player.WaitForReplyAsync("echo", "still-in-the-lobby");
    }

    [Fact]
    public async Task A_request_for_a_mode_the_version_does_not_have_is_refused_and_the_player_can_still_ask_for_another()
    {
        await using var party = f.NewParty();
        var player = await party.InLobbyAsync();
        var after = player.LastMessageId();

        await player.RequestMatchAsync("no-such-mode");

        var details = await f.WaitForDetailsAsync(d => d.Refused.Any(r => r.ClientId == player.ClientId), "the request is refused");
        details.Refused.Where(r => r.ClientId == player.ClientId).Should().ContainSingle()
            .Which.Should().Be(new RefusalRow(player.ClientId, "no-such-mode", "the version has no such mode"));
        details.Queues.Select(q => q.Mode).Should().NotContain("no-such-mode").And.Contain(FormingFixture.AfterRefusal.Name, "the queues are the version's modes");
        details.Matches.Should().NotContain(m => m.Mode == "no-such-mode");
        player.Assignments().Should().OnlyContain(a => a.Qualifier == "LOBBY");

        await player.RequestMatchAsync(FormingFixture.AfterRefusal.Name);
        var match = await player.JoinMatchAsync(after);
        (await f.WaitForDetailsAsync(d => d.Match(match.RuntimeId) is not null, "the later request's match")).Match(match.RuntimeId)!.Mode
            .Should().Be(FormingFixture.AfterRefusal.Name);
    }

    [Fact]
    public async Task Repeated_requests_of_one_client_queue_it_once_and_place_it_once()
    {
        var mode = FormingFixture.Repeated.Name;
        await using var party = f.NewParty();
        var (a, b) = (await party.InLobbyAsync(), await party.InLobbyAsync());
        var (afterA, afterB) = (a.LastMessageId(), b.LastMessageId());

        // Three requests in one interchange, then one more: upstream would queue four (contract 12, defect 10).
        (await a.SendAsync(new { matchmake = mode }, new { matchmake = mode }, new { matchmake = mode })).Ok();
        await a.RequestMatchAsync(mode);
        (await a.SendAsync(new { echo = "after-the-requests" })).Ok();
        await a.WaitForReplyAsync("echo", "after-the-requests"); // the lobby has handled all four
        await f.WaitForDetailsAsync(d => d.Waiting(mode) == 1, "the client waits once");
        await f.HoldsAsync(d => d.Waiting(mode) == 1 && d.MatchesOf(mode).Count == 0, QuietWindow, "one client is one request, below min_players 2");

        await b.RequestMatchAsync(mode);
        var (matchA, matchB) = (await a.JoinMatchAsync(afterA), await b.JoinMatchAsync(afterB));
        matchB.RuntimeId.Should().Be(matchA.RuntimeId);
        var row = (await f.WaitForDetailsAsync(d => d.Match(matchA.RuntimeId)?.Players == 2 && d.Waiting(mode) == 0, "both placed")).Match(matchA.RuntimeId)!;
        row.Players.Should().Be(2, "each client holds one seat");

        // Asking again from inside the match changes nothing: a playing client is not queued again.
        var inMatch = a.LastMessageId();
        (await a.SendAsync(new { matchmake = mode, echo = "asked-again" })).Ok();
        await a.WaitForAsync(m => m.Id > inMatch && m.IsReply("echo", "asked-again"), "the match's echo after its REQUEST_MATCHMAKING");
        await f.HoldsAsync(d => d.Waiting(mode) == 0 && d.MatchesOf(mode).Count == 1 && d.Match(matchA.RuntimeId)!.Players == 2, QuietWindow,
            "no second request, seat or match for a client already in a match");
        a.Assignments().Select(x => x.Qualifier).Should().Equal(["LOBBY", "MATCH"], "one placement: {0}", a.Describe());
        a.Received.Count(m => m.IsReply("text", "match")).Should().Be(1, "the match greeted the client once");
    }
}
