using System.Diagnostics;
using OmgServers.Domain.Matchmaking;

namespace OmgServers.Benchmarks;

/// <summary>
/// One matchmaking step (<see cref="MatchingStep.Run"/>) over 100,000 waiting requests of one mode, for several mode
/// shapes: the median time of a step against the goal, and the requests matched per second. Pure CPU, no database.
/// </summary>
internal static class MatchingBench
{
    private const int Requests = 100_000;
    private const double GoalMs = 200;

    private sealed record Shape(string Name, ModeRule Mode, IReadOnlyList<OpenMatch> Open);

    public static void Run(int runs)
    {
        Console.WriteLine();
        Console.WriteLine($"== Matching step, {Requests:N0} waiting requests in one mode, median of {runs} runs ==");
        Console.WriteLine($"{"shape",-48} {"median ms",10} {"max ms",8} {"goal ms",8} {"matched",9} {"matched/s",13} {"matches",9}");

        var waiting = Enumerable.Range(1, Requests).Select(i => new WaitingRequest(i, 1_000_000 + i)).ToArray();
        foreach (var shape in Shapes())
        {
            MatchingResult result = null!;
            for (var i = 0; i < 3; i++) result = MatchingStep.Run(shape.Mode, shape.Open, waiting); // warm-up (tiered JIT)
            var times = new double[runs];
            for (var i = 0; i < runs; i++)
            {
                var sw = Stopwatch.StartNew();
                result = MatchingStep.Run(shape.Mode, shape.Open, waiting);
                times[i] = sw.Elapsed.TotalMilliseconds;
            }
            Array.Sort(times);
            var median = times[runs / 2];
            var matched = Requests - result.StillWaiting.Count;
            var verdict = median < GoalMs ? "" : "  ABOVE GOAL";
            Console.WriteLine($"{shape.Name,-48} {median,10:0.0} {times[^1],8:0.0} {$"< {GoalMs:0}",8} {matched,9:N0} {matched / (median / 1000),13:N0} {result.NewMatches.Count + result.Placements.Select(p => p.MatchId).Distinct().Count(),9:N0}{verdict}");
        }
    }

    private static IEnumerable<Shape> Shapes()
    {
        yield return new("one group, mode 2..16", new ModeRule("m", 2, 16, [new GroupRule("players", 0, 16)]), []);
        yield return new("two groups 4..8, mode 8..16", TwoGroups, []);
        yield return new("one group, mode 1..1", new ModeRule("m", 1, 1, [new GroupRule("players", 0, 1)]), []);
        yield return new("8 groups 1..4, mode 8..32",
            new ModeRule("m", 8, 32, Enumerable.Range(0, 8).Select(g => new GroupRule($"team-{g}", 1, 4)).ToArray()), []);
        // 10,000 open matches at 3-3 with room for 10 each: every request goes into an existing match.
        yield return new("two groups 4..8, 10,000 open matches with room",
            TwoGroups, Enumerable.Range(1, 10_000).Select(id => new OpenMatch(id, new Dictionary<string, int> { ["red"] = 3, ["blue"] = 3 })).ToArray());
    }

    private static readonly ModeRule TwoGroups = new("teams", 8, 16, [new GroupRule("red", 4, 8), new GroupRule("blue", 4, 8)]);
}
