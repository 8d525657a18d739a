using System.Diagnostics;
using System.Text.Json;
using OmgServers.Actors;
using OmgServers.Contracts;
using OmgServers.Domain;
using OmgServers.Domain.Matchmaking;

namespace OmgServers.Benchmarks;

/// <summary>
/// Matchmaking requests accepted per second by one matchmaker entity (each acceptance written before the reply), as
/// lobby runtimes send them: one delivery per runtime interchange holding that tick's requests (a batch), compared
/// with one request per message in the same run. Then the time of the entity's step over everything that waits.
/// The mode needs more players than are sent, so requests wait and only acceptance is measured.
/// </summary>
internal static class MatchmakerBench
{
    public static async Task RunAsync(string connection, int requests, int callers)
    {
        Console.WriteLine();
        Console.WriteLine($"== Matchmaker: requests accepted per second ({requests:N0} requests, {callers} concurrent senders) ==");
        await using var runtime = await Runtimes.StartAsync(connection, r => r.AddDomainEntities());
        var config = JsonSerializer.SerializeToElement(new
        {
            modes = new[] { new { name = "crowd", min_players = 1_000_000, max_players = 1_000_000, groups = new[] { new { name = "all", min_players = 0, max_players = 1_000_000 } } } },
            user_data = new { },
        }, WireJson.Options);

        foreach (var batch in new[] { 1, 20, 100 })
        {
            var matchmaker = MatchmakerEntity.Address(Random.Shared.NextInt64(1, long.MaxValue));
            await runtime.AskAsync<object?>(matchmaker, new MatchmakerCommands.Start(1, 2, 3, 4, 5, config, "process:none", DateTimeOffset.UtcNow));
            var count = batch == 1 ? Math.Min(requests, 20_000) : requests;
            var next = 0L;
            var sw = Stopwatch.StartNew();
            await Parallel.ForEachAsync(Enumerable.Range(0, callers), new ParallelOptions { MaxDegreeOfParallelism = callers }, async (_, _) =>
            {
                while (true)
                {
                    var first = Interlocked.Add(ref next, batch) - batch;
                    if (first >= count) return;
                    var items = Enumerable.Range(0, (int)Math.Min(batch, count - first))
                        .Select(i => new MatchmakerCommands.Request(first + i + 1, first + i + 1, "crowd")).ToList();
                    object message = batch == 1 ? items[0] : new MatchmakerCommands.Requests(items);
                    await runtime.AskAsync<object?>(matchmaker, message, TimeSpan.FromSeconds(30));
                }
            });
            var elapsed = sw.Elapsed;
            var view = await runtime.AskAsync<MatchmakerView>(matchmaker, new MatchmakerCommands.GetView());
            var waiting = view.Queues.Sum(q => q.Waiting);
            Console.WriteLine($"{(batch == 1 ? "one request per message" : $"batches of {batch}"),-26} {count / elapsed.TotalSeconds,12:N0} requests/s   ({count:N0} in {elapsed.TotalSeconds:0.00} s; {waiting:N0} waiting, goal > 10,000/s)");
            if (waiting != count) Console.WriteLine($"  !! expected {count:N0} waiting");
        }
    }
}
