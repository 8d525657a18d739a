using OmgServers.Contracts;

namespace OmgServers.Domain.Matchmaking;

/// <summary>One group (team) of a mode: how many of the match's players it needs and takes.</summary>
public sealed record GroupRule(string Name, int MinPlayers, int MaxPlayers);

/// <summary>A game mode as the matchmaker uses it: the match's player counts and its groups.</summary>
public sealed record ModeRule(string Name, int MinPlayers, int MaxPlayers, IReadOnlyList<GroupRule> Groups)
{
    /// <summary>
    /// The rule of a version's mode. A config that passed <see cref="VersionConfig.FirstViolation"/> maps one to one;
    /// anything else is mapped without throwing (missing counts become 0, null groups are skipped) and then shows up in
    /// <see cref="MatchingStep.WhyUnsatisfiable"/>.
    /// </summary>
    public static ModeRule From(VersionModeConfig m) => new(
        m.Name ?? "",
        m.MinPlayers ?? 0,
        m.MaxPlayers ?? 0,
        (m.Groups ?? []).OfType<VersionGroupConfig>()
            .Select(g => new GroupRule(g.Name ?? "", g.MinPlayers ?? 0, g.MaxPlayers ?? 0))
            .ToArray());
}

/// <summary>A client waiting for a match of one mode.</summary>
public sealed record WaitingRequest(long ClientId, long UserId);

/// <summary>
/// A match of the mode that is still open to newcomers, with its players counted per group. Counts under names that
/// are not groups of the mode count toward the match's total but give no room.
/// </summary>
public sealed record OpenMatch(long MatchId, IReadOnlyDictionary<string, int> GroupCounts);

/// <summary>A request placed into an existing match, in the named group.</summary>
public sealed record Placement(long MatchId, string Group, WaitingRequest Request);

/// <summary>A match to create, with its players in the order they were taken.</summary>
public sealed record NewMatch(IReadOnlyList<(string Group, WaitingRequest Request)> Players);

/// <summary>
/// The outcome of one step: placements into existing matches, matches to create, and the requests that keep waiting
/// (in arrival order). Every distinct request of the input is in exactly one of the three.
/// </summary>
public sealed record MatchingResult(IReadOnlyList<Placement> Placements, IReadOnlyList<NewMatch> NewMatches, IReadOnlyList<WaitingRequest> StillWaiting);

/// <summary>
/// The matchmaker's matching of one mode, as a pure function: no I/O, no clock, the same output for the same input.
/// <para>Rules:</para>
/// <list type="number">
/// <item>Requests are taken in the given (arrival) order. A client id that appears more than once is considered once,
/// at its first position; the later copies are dropped from the result (neither placed nor waiting), which fixes
/// upstream's missing de-duplication of <c>REQUEST_MATCHMAKING</c> (contract 12, defect 10).</item>
/// <item>Existing open matches come first, in the given order (the caller passes them by ascending match id). A match
/// takes the next request while its total is below the mode's <c>max_players</c> and one of its groups has room
/// (count below the group's <c>max_players</c>); a match is filled before the next one is considered.</item>
/// <item>Groups fill in a balanced order, not upstream's "first group by name to its max" (contract 5.5 quirk, 12
/// defect 3): the request goes, among the groups with room, to the group furthest below its <c>min_players</c>
/// (largest <c>min_players - count</c>), then to the group with the fewest players, ties broken by ordinal name
/// order. Two groups of 2..4 take four requests as 2-2, eight as 4-4.</item>
/// <item>Then new matches, from the requests left: a candidate takes requests in order, with the same group choice,
/// until it holds the mode's <c>max_players</c> or no group has room. It is created only if it meets the minimums
/// (total at least the mode's <c>min_players</c> and every group at least its <c>min_players</c>); the first candidate
/// that does not stops the step, and its requests and all later ones keep waiting for more players. With all minimums
/// 0 a match forms with a single request; no match is ever created empty.</item>
/// <item>A mode whose rules can never be met (see <see cref="WhyUnsatisfiable"/>) matches nobody: every distinct
/// request keeps waiting, and the caller reports the reason.</item>
/// </list>
/// <para>Cost: O(requests + visited matches × groups + placements into existing matches × groups). The group order of
/// a new match does not depend on its requests, so it is worked out once per step and new matches cost O(1) per
/// request; the scan of existing matches stops as soon as no request is left.</para>
/// </summary>
public static class MatchingStep
{
    public static MatchingResult Run(ModeRule mode, IReadOnlyList<OpenMatch> open, IReadOnlyList<WaitingRequest> waiting)
    {
        var queue = Distinct(waiting);
        if (queue.Count == 0 || WhyUnsatisfiable(mode) is not null) return new([], [], queue);

        var groups = new Groups(mode.Groups);
        var next = 0;

        var placements = new List<Placement>();
        var counts = new int[groups.Count];
        foreach (var match in open)
        {
            if (next == queue.Count) break;
            var total = groups.Load(match.GroupCounts, counts);
            while (next < queue.Count && total < mode.MaxPlayers && groups.Choose(counts) is var g and >= 0)
            {
                counts[g]++;
                total++;
                placements.Add(new Placement(match.MatchId, groups.Names[g], queue[next++]));
            }
        }

        var newMatches = new List<NewMatch>();
        if (next < queue.Count)
        {
            var (order, ready) = groups.FillOrder(mode, queue.Count - next);
            while (queue.Count - next >= ready)
            {
                var players = new (string Group, WaitingRequest Request)[Math.Min(order.Length, queue.Count - next)];
                for (var i = 0; i < players.Length; i++) players[i] = (groups.Names[order[i]], queue[next++]);
                newMatches.Add(new NewMatch(players));
            }
        }

        return new MatchingResult(placements, newMatches, next == 0 ? queue : queue.GetRange(next, queue.Count - next));
    }

    /// <summary>
    /// Null when matches of the mode can be formed, else why never: no groups, a count below 0, a mode or group
    /// <c>min_players</c> above its <c>max_players</c>, a mode <c>max_players</c> below 1, no group with a seat, the
    /// groups' minimums adding up to more than the mode's <c>max_players</c>, the mode's <c>min_players</c> above what
    /// the groups can seat, or a group name used twice.
    /// </summary>
    public static string? WhyUnsatisfiable(ModeRule mode)
    {
        if (mode.MinPlayers < 0) return $"mode {mode.Name}: min_players is negative";
        if (mode.MaxPlayers < 1) return $"mode {mode.Name}: max_players is below 1";
        if (mode.MinPlayers > mode.MaxPlayers) return $"mode {mode.Name}: min_players {mode.MinPlayers} is greater than max_players {mode.MaxPlayers}";
        if (mode.Groups.Count == 0) return $"mode {mode.Name} has no groups";
        long minimums = 0, seats = 0;
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var group in mode.Groups)
        {
            if (!names.Add(group.Name)) return $"mode {mode.Name}: group {group.Name} is defined twice";
            if (group.MinPlayers < 0) return $"mode {mode.Name}, group {group.Name}: min_players is negative";
            if (group.MinPlayers > group.MaxPlayers)
                return $"mode {mode.Name}, group {group.Name}: min_players {group.MinPlayers} is greater than max_players {group.MaxPlayers}";
            minimums += group.MinPlayers;
            seats += group.MaxPlayers;
        }
        if (seats < 1) return $"mode {mode.Name}: no group has a seat (every group's max_players is 0)";
        if (minimums > mode.MaxPlayers)
            return $"mode {mode.Name}: the groups' min_players add up to {minimums}, more than the mode's max_players {mode.MaxPlayers}";
        if (mode.MinPlayers > seats)
            return $"mode {mode.Name}: min_players {mode.MinPlayers} is more than the groups can seat ({seats})";
        return null;
    }

    private static List<WaitingRequest> Distinct(IReadOnlyList<WaitingRequest> waiting)
    {
        var seen = new HashSet<long>(waiting.Count);
        var queue = new List<WaitingRequest>(waiting.Count);
        foreach (var request in waiting)
            if (seen.Add(request.ClientId)) queue.Add(request);
        return queue;
    }

    /// <summary>The mode's groups in ordinal name order, so that the lower index wins a tie.</summary>
    private sealed class Groups
    {
        private readonly Dictionary<string, int> _index;
        private readonly int[] _min, _max;

        public Groups(IReadOnlyList<GroupRule> rules)
        {
            var sorted = rules.OrderBy(r => r.Name, StringComparer.Ordinal).ToArray();
            Names = sorted.Select(r => r.Name).ToArray();
            _min = sorted.Select(r => r.MinPlayers).ToArray();
            _max = sorted.Select(r => r.MaxPlayers).ToArray();
            _index = new Dictionary<string, int>(sorted.Length, StringComparer.Ordinal);
            for (var i = 0; i < Names.Length; i++) _index[Names[i]] = i;
        }

        public string[] Names { get; }

        public int Count => Names.Length;

        /// <summary>Fills <paramref name="counts"/> from a match's counts and returns its total (unknown groups included).</summary>
        public int Load(IReadOnlyDictionary<string, int> groupCounts, int[] counts)
        {
            Array.Clear(counts);
            var total = 0;
            foreach (var (name, count) in groupCounts)
            {
                total += count;
                if (_index.TryGetValue(name, out var i)) counts[i] += count;
            }
            return total;
        }

        /// <summary>The group the next player joins (see the balanced rule on <see cref="MatchingStep"/>), or -1 when none has room.</summary>
        public int Choose(int[] counts)
        {
            var best = -1;
            for (var i = 0; i < counts.Length; i++)
            {
                if (counts[i] >= _max[i]) continue;
                if (best < 0) { best = i; continue; }
                int deficit = Math.Max(_min[i] - counts[i], 0), bestDeficit = Math.Max(_min[best] - counts[best], 0);
                if (deficit > bestDeficit || (deficit == bestDeficit && counts[i] < counts[best])) best = i;
            }
            return best;
        }

        /// <summary>
        /// The groups an empty match gives its first players to, at most <paramref name="limit"/> of them, and how many
        /// players it needs to meet the minimums (at least 1; <see cref="int.MaxValue"/> when that many never do).
        /// </summary>
        public (int[] Order, int Ready) FillOrder(ModeRule mode, int limit)
        {
            var counts = new int[Count];
            var order = new List<int>(Math.Min(limit, mode.MaxPlayers));
            var belowMin = 0;
            for (var i = 0; i < Count; i++) if (_min[i] > 0) belowMin++;
            var ready = belowMin == 0 && mode.MinPlayers <= 0 ? 1 : int.MaxValue;
            while (order.Count < limit && order.Count < mode.MaxPlayers && Choose(counts) is var g and >= 0)
            {
                order.Add(g);
                if (++counts[g] == _min[g]) belowMin--;
                if (ready == int.MaxValue && belowMin == 0 && order.Count >= mode.MinPlayers) ready = order.Count;
            }
            return (order.ToArray(), ready);
        }
    }
}
