using System.Collections.Concurrent;
using System.Diagnostics;
using OmgServers.Actors;
using OmgServers.Hosting;

namespace OmgServers.Benchmarks;

/// <summary>
/// Cross-node Ask round trips (two runtimes in this process, each with its own cluster port, talking over loopback
/// HTTP/2) next to in-process Asks in the same run; and the failover time after SIGKILL of one of three real node
/// processes with the default lease settings.
/// </summary>
internal static class ClusterBench
{
    public static async Task RunAsync(string connection, int seconds)
    {
        Console.WriteLine();
        Console.WriteLine("== Cross-node Ask round trips (2 nodes, loopback HTTP/2, same 2 cores) ==");
        Console.WriteLine($"{"case",-52} {"round trips/s",15} {"vs local",9}");
        var schema = "bench_" + Guid.NewGuid().ToString("N")[..8];
        await using var a = await StartNodeAsync(connection, schema, "a");
        await using var b = await StartNodeAsync(connection, schema, "b");
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!(a.OwnedShardCount > 0 && b.OwnedShardCount > 0 && a.OwnedShardCount + b.OwnedShardCount == a.Options.ShardCount && a.IsReady && b.IsReady))
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("nodes did not share the shards");
            await Task.Delay(50);
        }
        // Entities whose shard node a holds (local to a) and whose shard node b holds (remote from a).
        var local = Ids(a, own: true);
        var remote = Ids(a, own: false);
        foreach (var callers in new[] { 1, 64 })
        {
            var inProcess = await AskLoopAsync(a, local, callers, seconds);
            var crossNode = await AskLoopAsync(a, remote, callers, seconds);
            Console.WriteLine($"{$"in-process Ask, {callers} caller(s)",-52} {inProcess,15:N0} {"1.00x",9}");
            Console.WriteLine($"{$"cross-node Ask a->b, {callers} caller(s)",-52} {crossNode,15:N0} {crossNode / inProcess,8:0.00}x");
        }

        Console.WriteLine();
        Console.WriteLine("== Failover after SIGKILL (3 node processes, default lease-ttl 5s / renew 1s) ==");
        await FailoverAsync(connection, runs: 3);
    }

    private static string[] Ids(ActorRuntime a, bool own)
    {
        var owned = a.OwnedShards().ToHashSet();
        return Enumerable.Range(0, 100_000).Select(i => (245515657456648192L + i * 16_777_216L).ToString())
            .Where(id => owned.Contains(a.ShardOf(new EntityAddress("echo", id))) == own).Take(64).ToArray();
    }

    private static Task<ActorRuntime> StartNodeAsync(string connection, string schema, string node) =>
        Runtimes.StartAsync(connection, r => r.Entity<Echo>("echo"), o => o with
        {
            Schema = schema,
            NodeId = node,
            ClusterPort = EmbeddedPostgres.FindFreeLoopbackPort(),
            ClusterSecret = "bench",
        }, waitReady: false);

    private static async Task<double> AskLoopAsync(ActorRuntime from, string[] ids, int callers, int seconds)
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        long total = 0;
        var message = new Ping(1);
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, callers).Select(c => Task.Run(async () =>
        {
            var to = new EntityAddress("echo", ids[c % ids.Length]);
            long n = 0;
            while (!stop.IsCancellationRequested)
            {
                await from.AskAsync<Ping>(to, message, TimeSpan.FromSeconds(5));
                n++;
            }
            Interlocked.Add(ref total, n);
        })));
        return total / clock.Elapsed.TotalSeconds;
    }

    private static async Task FailoverAsync(string connection, int runs)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "OmgServers.Actors.TestHost.dll");
        var times = new List<double>();
        for (var run = 1; run <= runs; run++)
        {
            var schema = "failover_" + Guid.NewGuid().ToString("N")[..8];
            var nodes = new[] { "a", "b", "c" }.Select(n => Node.Start(dll, connection, schema, n)).ToArray();
            try
            {
                foreach (var n in nodes) await n.WaitAsync(l => l == "ready", "ready");
                await WaitAsync(async () =>
                {
                    var counts = new List<int>();
                    foreach (var n in nodes) counts.Add(int.Parse((await n.RequestAsync("shards", l => l.StartsWith("shards "))).Split(' ')[1]));
                    return counts.All(c => c > 0) && counts.Sum() == 64;
                });
                var victimShards = (await nodes[2].RequestAsync("shards", l => l.StartsWith("shards "))).Split(' ')[1];
                // Every entity answers before the kill (and is active on its node).
                (await nodes[0].RequestAsync("probe 60", l => l.StartsWith("probe "))).Should("probe 60 0");
                var clock = Stopwatch.StartNew();
                nodes[2].Kill();
                await WaitAsync(async () => await nodes[0].RequestAsync("probe 60", l => l.StartsWith("probe ")) == "probe 60 0");
                times.Add(clock.Elapsed.TotalSeconds);
                Console.WriteLine($"run {run}: node holding {victimShards} of 64 shards killed; every entity answered again after {clock.Elapsed.TotalSeconds:0.00} s");
            }
            finally
            {
                foreach (var n in nodes) n.Kill();
            }
        }
        Console.WriteLine($"failover: median {times.Order().ElementAt(times.Count / 2):0.00} s (min {times.Min():0.00}, max {times.Max():0.00}); governed by omgservers.actors.lease-ttl (+ lease-renew-interval)");
    }

    private static async Task WaitAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("condition not reached in 60 s");
            await Task.Delay(100);
        }
    }

    private static void Should(this string actual, string expected)
    {
        if (actual != expected) throw new InvalidOperationException($"expected '{expected}', got '{actual}'");
    }

    /// <summary>A TestHost node process driven over stdin/stdout.</summary>
    private sealed class Node
    {
        private readonly Process _process;
        private readonly ConcurrentQueue<string> _lines = new();

        private Node(Process process)
        {
            _process = process;
            process.OutputDataReceived += (_, e) => { if (e.Data is not null) _lines.Enqueue(e.Data); };
            process.BeginOutputReadLine();
        }

        public static Node Start(string dll, string connection, string schema, string node)
        {
            var info = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
            foreach (var a in new[] { dll, "--connection", connection, "--schema", schema, "--node", node, "--shards", "64",
                         "--cluster-port", EmbeddedPostgres.FindFreeLoopbackPort().ToString(), "--secret", "bench" })
                info.ArgumentList.Add(a);
            return new Node(Process.Start(info)!);
        }

        public async Task<string> WaitAsync(Func<string, bool> match, string what, int skip = 0)
        {
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (true)
            {
                var found = _lines.Skip(skip).FirstOrDefault(match);
                if (found is not null) return found;
                if (_process.HasExited || DateTime.UtcNow > deadline) throw new TimeoutException($"node never printed: {what}");
                await Task.Delay(10);
            }
        }

        public Task<string> RequestAsync(string command, Func<string, bool> match)
        {
            var skip = _lines.Count;
            _process.StandardInput.WriteLine(command);
            _process.StandardInput.Flush();
            return WaitAsync(match, command, skip);
        }

        public void Kill()
        {
            if (_process.HasExited) return;
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }
    }
}
