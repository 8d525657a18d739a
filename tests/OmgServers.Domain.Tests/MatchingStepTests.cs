using OmgServers.Contracts;
using OmgServers.Domain.Matchmaking;

namespace OmgServers.Domain.Tests;

public sealed class MatchingStepTests
{
    private static ModeRule OneGroup(int min, int max) => new("mode", min, max, [new GroupRule("players", 0, max)]);

    private static ModeRule TwoGroups(int groupMin, int groupMax) =>
        new("teams", 2 * groupMin, 2 * groupMax, [new GroupRule("red", groupMin, groupMax), new GroupRule("blue", groupMin, groupMax)]);

    private static WaitingRequest Request(long clientId) => new(clientId, 1_000_000 + clientId);

    private static List<WaitingRequest> Requests(int count, long firstClientId = 1) =>
        Enumerable.Range(0, count).Select(i => Request(firstClientId + i)).ToList();

    private static OpenMatch Open(long matchId, params (string Group, int Count)[] counts) =>
        new(matchId, counts.ToDictionary(c => c.Group, c => c.Count));

    private static Dictionary<string, int> CountByGroup(NewMatch match) =>
        match.Players.GroupBy(p => p.Group).ToDictionary(g => g.Key, g => g.Count());

    /// <summary>Plays the caller: runs steps one after another and keeps the created matches open with their counts.</summary>
    private sealed class Matchmaker(ModeRule mode)
    {
        private long _nextMatchId = 100;

        public SortedDictionary<long, Dictionary<string, int>> Matches { get; } = [];

        public Dictionary<long, long> MatchOfClient { get; } = [];

        public MatchingResult Step(params WaitingRequest[] waiting)
        {
            var open = Matches.Select(m => new OpenMatch(m.Key, new Dictionary<string, int>(m.Value))).ToList();
            var result = MatchingStep.Run(mode, open, waiting);
            foreach (var p in result.Placements) Seat(p.MatchId, p.Group, p.Request);
            foreach (var created in result.NewMatches)
            {
                var id = _nextMatchId++;
                Matches[id] = [];
                foreach (var (group, request) in created.Players) Seat(id, group, request);
            }
            return result;
        }

        private void Seat(long matchId, string group, WaitingRequest request)
        {
            Matches[matchId][group] = Matches[matchId].GetValueOrDefault(group) + 1;
            MatchOfClient[request.ClientId] = matchId;
        }
    }

    [Fact]
    public void Five_requests_for_a_five_to_sixteen_mode_form_one_match_of_five()
    {
        var result = MatchingStep.Run(OneGroup(5, 16), [], Requests(5));

        result.Placements.Should().BeEmpty();
        result.StillWaiting.Should().BeEmpty();
        result.NewMatches.Should().ContainSingle();
        result.NewMatches[0].Players.Select(p => p.Request.ClientId).Should().Equal(1, 2, 3, 4, 5);
        result.NewMatches[0].Players.Should().OnlyContain(p => p.Group == "players");
    }

    [Fact]
    public void Four_requests_for_a_five_to_sixteen_mode_form_nothing_and_keep_waiting_in_order()
    {
        var result = MatchingStep.Run(OneGroup(5, 16), [], Requests(4));

        result.NewMatches.Should().BeEmpty();
        result.Placements.Should().BeEmpty();
        result.StillWaiting.Select(r => r.ClientId).Should().Equal(1, 2, 3, 4);
    }

    [Fact]
    public void Sequential_requests_for_a_one_to_sixteen_mode_join_the_same_match()
    {
        var matchmaker = new Matchmaker(OneGroup(1, 16));

        var first = matchmaker.Step(Request(1));
        first.NewMatches.Should().ContainSingle().Which.Players.Should().ContainSingle();

        var second = matchmaker.Step(Request(2));
        second.NewMatches.Should().BeEmpty();
        second.Placements.Should().ContainSingle().Which.Should().Be(new Placement(100, "players", Request(2)));

        matchmaker.Matches.Should().ContainSingle();
        matchmaker.MatchOfClient[1].Should().Be(matchmaker.MatchOfClient[2]);
    }

    [Fact]
    public void A_one_to_one_mode_gives_every_request_its_own_match()
    {
        var together = MatchingStep.Run(OneGroup(1, 1), [], Requests(2));
        together.NewMatches.Should().HaveCount(2);
        together.NewMatches.Select(m => m.Players.Single().Request.ClientId).Should().Equal(1, 2);

        var matchmaker = new Matchmaker(OneGroup(1, 1));
        matchmaker.Step(Request(1));
        var second = matchmaker.Step(Request(2));
        second.Placements.Should().BeEmpty();
        second.NewMatches.Should().ContainSingle();
        matchmaker.MatchOfClient[1].Should().NotBe(matchmaker.MatchOfClient[2]);
    }

    [Fact]
    public void Two_groups_fill_balanced_not_one_to_its_max()
    {
        var mode = TwoGroups(groupMin: 2, groupMax: 4);

        var four = MatchingStep.Run(mode, [], Requests(4));
        four.NewMatches.Should().ContainSingle();
        CountByGroup(four.NewMatches[0]).Should().BeEquivalentTo(new Dictionary<string, int> { ["blue"] = 2, ["red"] = 2 });
        // Ties go by ordinal name: blue before red.
        four.NewMatches[0].Players.Select(p => p.Group).Should().Equal("blue", "red", "blue", "red");

        var eight = MatchingStep.Run(mode, [], Requests(8));
        CountByGroup(eight.NewMatches.Single()).Should().BeEquivalentTo(new Dictionary<string, int> { ["blue"] = 4, ["red"] = 4 });
    }

    [Fact]
    public void Three_requests_for_two_groups_of_two_are_not_enough()
    {
        var result = MatchingStep.Run(TwoGroups(groupMin: 2, groupMax: 4) with { MinPlayers = 0 }, [], Requests(3));

        result.NewMatches.Should().BeEmpty();
        result.StillWaiting.Should().HaveCount(3);
    }

    [Fact]
    public void The_group_furthest_below_its_minimum_goes_first_then_the_smallest()
    {
        var mode = new ModeRule("m", 0, 8, [new GroupRule("a", 1, 4), new GroupRule("b", 3, 4)]);

        var result = MatchingStep.Run(mode, [], Requests(6));

        // b is 3 short, then 2 short (a 1 short), then both 1 short and a has fewer, then only b is short; then fewest.
        result.NewMatches.Single().Players.Select(p => p.Group).Should().Equal("b", "b", "a", "b", "a", "a");
    }

    [Fact]
    public void An_open_match_sends_newcomers_to_its_emptier_group()
    {
        var mode = TwoGroups(groupMin: 2, groupMax: 4);

        var result = MatchingStep.Run(mode, [Open(7, ("red", 3), ("blue", 1))], Requests(4));

        // blue is 1 short, then has fewer, then ties 3-3 and wins by name, then only red has room.
        result.Placements.Select(p => p.Group).Should().Equal("blue", "blue", "blue", "red");
        result.Placements.Should().OnlyContain(p => p.MatchId == 7);
        result.StillWaiting.Should().BeEmpty();
    }

    [Fact]
    public void Minimum_zero_forms_a_match_with_the_first_request()
    {
        var mode = new ModeRule("free", 0, 4, [new GroupRule("a", 0, 2), new GroupRule("b", 0, 2)]);

        var result = MatchingStep.Run(mode, [], Requests(1));

        result.NewMatches.Should().ContainSingle().Which.Players.Should().Equal([("a", Request(1))]);
        MatchingStep.Run(mode, [], []).NewMatches.Should().BeEmpty("no match is created empty");
    }

    [Fact]
    public void A_full_candidate_is_created_and_the_rest_form_the_next_one_when_they_can()
    {
        var mode = OneGroup(5, 16);

        var twenty = MatchingStep.Run(mode, [], Requests(20));
        twenty.NewMatches.Select(m => m.Players.Count).Should().Equal(16);
        twenty.StillWaiting.Select(r => r.ClientId).Should().Equal(17, 18, 19, 20);

        var twentyOne = MatchingStep.Run(mode, [], Requests(21));
        twentyOne.NewMatches.Select(m => m.Players.Count).Should().Equal(16, 5);
        twentyOne.StillWaiting.Should().BeEmpty();
    }

    [Fact]
    public void A_match_at_its_maximum_takes_nobody_and_a_new_match_is_formed()
    {
        var mode = OneGroup(1, 4);

        var result = MatchingStep.Run(mode, [Open(1, ("players", 4))], Requests(2));

        result.Placements.Should().BeEmpty();
        result.NewMatches.Should().ContainSingle().Which.Players.Should().HaveCount(2);
    }

    [Fact]
    public void A_match_whose_groups_are_full_takes_nobody_even_below_the_mode_maximum()
    {
        var mode = new ModeRule("m", 1, 10, [new GroupRule("a", 0, 2)]);

        var result = MatchingStep.Run(mode, [Open(1, ("a", 2))], Requests(1));

        result.Placements.Should().BeEmpty();
        result.NewMatches.Should().ContainSingle();
    }

    [Fact]
    public void Counts_under_unknown_groups_count_toward_the_total()
    {
        var result = MatchingStep.Run(OneGroup(1, 4), [Open(1, ("players", 1), ("gone", 2))], Requests(3));

        result.Placements.Should().ContainSingle().Which.MatchId.Should().Be(1);
        result.NewMatches.Should().ContainSingle().Which.Players.Should().HaveCount(2);
    }

    [Fact]
    public void An_existing_match_with_room_is_preferred_over_a_new_one_and_filled_in_the_given_order()
    {
        var mode = OneGroup(2, 4);

        var result = MatchingStep.Run(mode, [Open(3, ("players", 3)), Open(5, ("players", 2))], Requests(4));

        result.Placements.Select(p => (p.MatchId, p.Request.ClientId)).Should().Equal((3, 1), (5, 2), (5, 3));
        result.NewMatches.Should().BeEmpty("the one request left is below the mode's minimum of 2");
        result.StillWaiting.Select(r => r.ClientId).Should().Equal(4);
    }

    [Theory]
    [InlineData("a group's min above its max")]
    [InlineData("groups' minimums above the mode's max")]
    [InlineData("every group's max 0")]
    [InlineData("no groups")]
    [InlineData("mode min above what the groups seat")]
    [InlineData("mode min above mode max")]
    [InlineData("a group twice")]
    public void An_unsatisfiable_mode_matches_nobody_and_says_why(string why)
    {
        var mode = why switch
        {
            "a group's min above its max" => new ModeRule("m", 1, 8, [new GroupRule("a", 3, 2)]),
            "groups' minimums above the mode's max" => new ModeRule("m", 1, 4, [new GroupRule("a", 3, 4), new GroupRule("b", 3, 4)]),
            "every group's max 0" => new ModeRule("m", 0, 4, [new GroupRule("a", 0, 0), new GroupRule("b", 0, 0)]),
            "no groups" => new ModeRule("m", 1, 4, []),
            "mode min above what the groups seat" => new ModeRule("m", 5, 8, [new GroupRule("a", 0, 2), new GroupRule("b", 0, 2)]),
            "mode min above mode max" => new ModeRule("m", 5, 4, [new GroupRule("a", 0, 4)]),
            "a group twice" => new ModeRule("m", 1, 4, [new GroupRule("a", 0, 2), new GroupRule("a", 0, 2)]),
            _ => throw new ArgumentOutOfRangeException(nameof(why)),
        };

        MatchingStep.WhyUnsatisfiable(mode).Should().NotBeNullOrWhiteSpace().And.Contain("mode m");

        var result = MatchingStep.Run(mode, [Open(1)], Requests(50));
        result.NewMatches.Should().BeEmpty();
        result.Placements.Should().BeEmpty();
        result.StillWaiting.Should().HaveCount(50);
    }

    [Fact]
    public void Satisfiable_modes_have_no_reason()
    {
        MatchingStep.WhyUnsatisfiable(OneGroup(2, 16)).Should().BeNull();
        MatchingStep.WhyUnsatisfiable(TwoGroups(4, 8)).Should().BeNull();
        MatchingStep.WhyUnsatisfiable(new ModeRule("m", 0, 1, [new GroupRule("a", 0, 1), new GroupRule("b", 0, 0)])).Should().BeNull();
    }

    [Fact]
    public void A_client_id_given_twice_is_placed_once_and_its_copies_are_dropped()
    {
        var instant = MatchingStep.Run(OneGroup(1, 16), [], [Request(1), Request(2), Request(1) with { UserId = 9 }, Request(2)]);
        instant.NewMatches.Single().Players.Select(p => p.Request).Should().Equal(Request(1), Request(2));
        instant.StillWaiting.Should().BeEmpty();

        var waiting = MatchingStep.Run(OneGroup(5, 16), [], [Request(1), Request(2), Request(1)]);
        waiting.StillWaiting.Should().Equal(Request(1), Request(2));
    }

    [Fact]
    public void The_same_input_gives_the_same_output()
    {
        var mode = TwoGroups(1, 3);
        var open = new[] { Open(1, ("red", 1)), Open(2) };
        var requests = Requests(40);

        var a = MatchingStep.Run(mode, open, requests);
        var b = MatchingStep.Run(mode, open, requests);

        a.Placements.Should().Equal(b.Placements);
        a.NewMatches.Select(m => m.Players).Should().BeEquivalentTo(b.NewMatches.Select(m => m.Players), o => o.WithStrictOrdering());
        a.StillWaiting.Should().Equal(b.StillWaiting);
    }

    [Fact]
    public void From_maps_a_version_mode()
    {
        var config = new VersionModeConfig("duel", 2, 2, [new VersionGroupConfig("left", 1, 1), null, new VersionGroupConfig("right", 1, 1)]);

        var mode = ModeRule.From(config);

        mode.Should().BeEquivalentTo(new ModeRule("duel", 2, 2, [new GroupRule("left", 1, 1), new GroupRule("right", 1, 1)]));
        MatchingStep.WhyUnsatisfiable(mode).Should().BeNull();
        MatchingStep.WhyUnsatisfiable(ModeRule.From(new VersionModeConfig("broken", null, null, null))).Should().NotBeNull();
    }

    [Theory]
    [InlineData("one group 2..16")]
    [InlineData("two groups 4..8")]
    [InlineData("1..1")]
    [InlineData("open matches first")]
    public void A_hundred_thousand_requests_are_matched_in_one_step(string shape)
    {
        const int n = 100_000;
        var requests = Requests(n);
        MatchingResult result;
        switch (shape)
        {
            case "one group 2..16":
                result = MatchingStep.Run(OneGroup(2, 16), [], requests);
                result.NewMatches.Should().HaveCount(n / 16).And.OnlyContain(m => m.Players.Count == 16);
                result.StillWaiting.Should().BeEmpty();
                break;
            case "two groups 4..8":
                requests.Add(Request(n + 1));
                result = MatchingStep.Run(TwoGroups(4, 8), [], requests);
                result.NewMatches.Should().HaveCount(n / 16)
                    .And.OnlyContain(m => m.Players.Count(p => p.Group == "red") == 8 && m.Players.Count(p => p.Group == "blue") == 8);
                result.StillWaiting.Should().Equal(Request(n + 1));
                break;
            case "1..1":
                result = MatchingStep.Run(OneGroup(1, 1), [], requests);
                result.NewMatches.Should().HaveCount(n);
                result.NewMatches.Select(m => m.Players.Single().Request.ClientId).Should().BeInAscendingOrder();
                break;
            default:
                var open = Enumerable.Range(1, 10_000).Select(id => Open(id, ("red", 3), ("blue", 3))).ToList();
                result = MatchingStep.Run(TwoGroups(4, 8), open, requests);
                result.Placements.Should().HaveCount(10_000 * 10);
                result.Placements.GroupBy(p => p.MatchId).Should().HaveCount(10_000).And.OnlyContain(m => m.Count(p => p.Group == "red") == 5);
                result.NewMatches.Should().BeEmpty();
                result.StillWaiting.Should().BeEmpty();
                break;
        }

        // Every request ends up in exactly one place, in arrival order within each kind.
        var placed = result.Placements.Select(p => p.Request)
            .Concat(result.NewMatches.SelectMany(m => m.Players.Select(p => p.Request)))
            .Concat(result.StillWaiting);
        placed.Select(r => r.ClientId).Should().Equal(requests.Select(r => r.ClientId));
    }
}
