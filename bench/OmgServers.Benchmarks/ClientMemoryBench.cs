using System.Diagnostics;
using System.Text.Json;

namespace OmgServers.Benchmarks;

/// <summary>
/// Memory per connected idle client: the service process's resident set (VmRSS, Linux's working set) before and after
/// N players each logged in, created a client, were put in a lobby of the sample runtime and acknowledged every
/// message, once their users and players have passivated (what stays is what an idle connected player keeps alive:
/// its client and its place in the lobby's runtime). Run under several GC settings of the service process,
/// each on a fresh process and database; after the measurement the process is left idle for a while and then made to
/// run a full blocking collection from outside (<see cref="InducedGc"/>), to show how much of the growth is live data
/// and how much is collector slack. The managed bytes per client entity, with no slack, come first, measured in this
/// process.
/// </summary>
internal static class ClientMemoryBench
{
    /// <summary>Players made (and settled) before the baseline is taken, so that start-up costs are not charged to clients.</summary>
    private const int WarmUpPlayers = 1000;

    /// <summary>GC settings of the service process, by name (DOTNET_* environment variables; empty = the shipped defaults).</summary>
    public static readonly IReadOnlyDictionary<string, Dictionary<string, string>> Variants = new Dictionary<string, Dictionary<string, string>>
    {
        ["default"] = new(),
        ["conserve"] = new() { ["DOTNET_GCConserveMemory"] = "7" },
        ["gen0-4mb"] = new() { ["DOTNET_GCgen0size"] = "0x400000" },
        ["heaps-1"] = new() { ["DOTNET_GCHeapCount"] = "1" },
        ["workstation"] = new() { ["DOTNET_gcServer"] = "0", ["DOTNET_gcConcurrent"] = "0" },
        ["workstation-conserve"] = new() { ["DOTNET_gcServer"] = "0", ["DOTNET_gcConcurrent"] = "0", ["DOTNET_GCConserveMemory"] = "7" },
        ["workstation-concurrent"] = new() { ["DOTNET_gcServer"] = "0", ["DOTNET_gcConcurrent"] = "1" },
    };

    public static async Task RunAsync(string connection, int clients, IReadOnlyList<string> variants, bool probe)
    {
        await InProcessAsync(connection, clients);
        var rows = new List<string>();
        foreach (var name in variants)
        {
            if (!Variants.TryGetValue(name, out var environment)) throw new ArgumentException($"unknown GC variant {name}; known: {string.Join(", ", Variants.Keys)}");
            rows.Add(await RunOnceAsync(connection, clients, name, environment, probe));
        }
        Console.WriteLine();
        Console.WriteLine($"summary, bytes of service resident set per connected idle client ({clients:N0} clients; goal under 4,096):");
        foreach (var row in rows) Console.WriteLine("  " + row);
    }

    /// <summary>Managed heap per live client entity, after full collections, in this process: no GC slack counted.</summary>
    private static async Task InProcessAsync(string connection, int clients)
    {
        Console.WriteLine();
        Console.WriteLine($"== Managed memory per live client entity (in process, {clients:N0} clients, full GC before and after) ==");
        await using var runtime = await Runtimes.StartAsync(connection, r => OmgServers.Domain.DomainEntities.AddDomainEntities(r));
        var welcome = System.Text.Json.JsonSerializer.SerializeToElement(new { tenant_id = "1", version_id = "2", version_created = "2026-11-21T00:00:00Z" });
        async Task CreateAsync(long id) =>
            await runtime.AskAsync<object>(OmgServers.Domain.Clients.ClientEntity.Address(id),
                new OmgServers.Domain.Clients.ClientCommands.Create(7, 1, 3, 4, id + 1_000_000_000, welcome, DateTimeOffset.UtcNow), TimeSpan.FromSeconds(60));
        await CreateAsync(1); // warm every path
        var before = Settle();
        var next = 1L;
        await Task.WhenAll(Enumerable.Range(0, 64).Select(_ => Task.Run(async () =>
        {
            long id;
            while ((id = Interlocked.Increment(ref next)) <= clients + 1) await CreateAsync(id);
        })));
        var after = Settle();
        Console.WriteLine($"live entities: {runtime.ActiveEntityCount:N0}; managed heap {before / 1024.0 / 1024:N1} MiB → {after / 1024.0 / 1024:N1} MiB: {(after - before) / (double)clients:N0} bytes per client entity (cell, mailbox, entity, state with its welcome message)");
    }

    private static long Settle()
    {
        for (var i = 0; i < 3; i++) { GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true); GC.WaitForPendingFinalizers(); }
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    private static async Task<string> RunOnceAsync(string connection, int clients, string name, Dictionary<string, string> gc, bool probe)
    {
        var settings = gc.Count == 0 ? "the shipped defaults: server GC, concurrent, dynamic adaptation (DATAS)" : string.Join(" ", gc.Select(kv => $"{kv.Key}={kv.Value}"));
        Console.WriteLine();
        Console.WriteLine($"== Memory per connected idle client, GC variant '{name}' ({settings}; {(probe ? "the service's composition in a probe process with GC endpoints" : "real service process")}, {clients:N0} clients after {WarmUpPlayers:N0} warm-up players) ==");
        // Players in lobbies of the sample runtime (1,000 per lobby, the default: one runtime process each), as in
        // production; a client stays connected for 5 minutes (the most allowed; the default is 30 s) without a call,
        // so that the idle clients are still connected when the memory is read.
        var environment = new Dictionary<string, string>(LobbyImage.Environment()) { ["OMGSERVERS_CLIENTS_INACTIVE_INTERVAL"] = "5m" };
        foreach (var (key, value) in gc) environment[key] = value;
        await using var service = await ServiceUnderTest.StartAsync(connection, "clients", environment, 32, probe);
        var deployment = await service.DeployAsync(LobbyImage.VersionConfig(), LobbyImage.ImageId);

        var clock = Stopwatch.StartNew();
        await ConnectAsync(service, deployment, 1);
        await Task.Delay(2000);
        var cold = service.Rss();
        await ConnectAsync(service, deployment, WarmUpPlayers);
        // With the probe, the baseline is taken after a compacting GC, to know the live heap (this lowers it: conservative).
        var heapBefore = probe ? await service.GcAsync(collect: true) : null;
        await Task.Delay(2000);
        var before = service.Rss();
        var warm = clock.Elapsed;
        await ConnectAsync(service, deployment, clients);
        var connected = clock.Elapsed - warm;
        var peak = service.Rss();

        // Users and players passivate 30 s after their last use; what stays is what an idle connected player keeps alive.
        var settle = DateTime.UtcNow.AddSeconds(90);
        long live;
        while ((live = await service.LiveEntitiesAsync()) > clients + WarmUpPlayers + 100 && DateTime.UtcNow < settle) await Task.Delay(1000);
        var after = service.Rss();
        await Task.Delay(10_000);
        var idle = service.Rss();
        var heapIdle = probe ? await service.GcAsync() : null;
        var induced = await InducedGc.CollectAsync(service.Pid, TimeSpan.FromSeconds(2));
        await Task.Delay(5000);
        var collected = service.Rss();
        GcView? heapCompacted = null;
        long compacted = 0;
        if (probe)
        {
            heapCompacted = await service.GcAsync(collect: true);
            await Task.Delay(5000);
            compacted = service.Rss();
        }

        static string MiB(long bytes) => $"{bytes / 1024.0 / 1024:N1} MiB";
        double PerClient(long bytes) => (bytes - before) / (double)clients;
        Console.WriteLine($"{clients:N0} players connected, in the lobby, everything acknowledged, in {connected.TotalSeconds:0} s ({clients / connected.TotalSeconds:N0}/s); live entities once users and players passivated: {live:N0}; "
            + $"{service.RuntimePids().Count} lobby process(es) ({MiB(service.RuntimesRss())}, not counted)");
        Console.WriteLine($"service resident set: {MiB(cold)} with 1 client, {MiB(before)} after the warm-up (baseline), {MiB(peak)} right after the logins, {MiB(after)} once users passivated, {MiB(idle)} 10 s later, "
            + (induced ? $"{MiB(collected)} after a full GC induced from outside" : "(the induced collection failed: no diagnostics socket)")
            + (probe ? $", {MiB(compacted)} after a compacting GC in the process" : ""));
        if (probe)
        {
            Console.WriteLine($"managed heap: {MiB(heapBefore!.HeapSize)} at the baseline (after a compacting GC), as of the last GC {MiB(heapIdle!.HeapSize)} idle ({MiB(heapIdle.Fragmented)} of it free, {MiB(heapIdle.Committed)} committed; "
                + $"GCs gen0/1/2 {heapIdle.Gen0}/{heapIdle.Gen1}/{heapIdle.Gen2}), {MiB(heapCompacted!.HeapSize)} after the compacting GC ({MiB(heapCompacted.Committed)} committed): "
                + $"{(heapCompacted.HeapSize - heapBefore.HeapSize) / (double)clients:N0} managed bytes per client");
        }
        var line = $"{name,-24} {PerClient(after),7:N0} once users passivated, {PerClient(idle),7:N0} 10 s later, "
            + (induced ? $"{PerClient(collected),7:N0} after an induced full GC" : "no induced GC")
            + (probe ? $", {PerClient(compacted),7:N0} after a compacting GC" : "")
            + $"  (from 1 client: {(after - cold) / (double)(clients + WarmUpPlayers):N0})";
        Console.WriteLine("bytes of resident set per connected client: " + line);
        return line;
    }

    /// <summary>
    /// Players that each log in, create a client and interchange until their lobby has greeted them and every message
    /// is acknowledged: what a connected player who has nothing to say looks like.
    /// </summary>
    private static async Task ConnectAsync(ServiceUnderTest service, Deployment deployment, int count)
    {
        var next = -1;
        var players = new PlayerState[count];
        await Task.WhenAll(Enumerable.Range(0, 32).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                var player = await service.NewPlayerAsync(deployment);
                players[i] = new PlayerState(player.ClientId, player.Token);
                await PlayerCalls.InterchangeAsync(service.Http, PlayerCalls.InterchangePath, players[i]);
            }
        })));
        // Welcome, matchmaker and runtime assignment, the lobby's greeting: poll and acknowledge until a call returns nothing.
        var done = new bool[count];
        var greeted = new bool[count];
        var clock = Stopwatch.StartNew();
        var report = TimeSpan.FromSeconds(30);
        while (done.Any(d => !d))
        {
            if (clock.Elapsed > TimeSpan.FromMinutes(10))
                throw new TimeoutException($"{greeted.Count(g => !g)} of {count} players were not greeted by their lobby within 10 minutes\n{service.Tail()}");
            if (clock.Elapsed > report)
            {
                Console.WriteLine($"  ... {greeted.Count(g => g):N0} of {count:N0} players greeted by their lobby after {clock.Elapsed.TotalSeconds:0} s");
                report += TimeSpan.FromSeconds(30);
            }
            await Parallel.ForEachAsync(Enumerable.Range(0, count).Where(i => !done[i]), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, _) =>
            {
                var (_, incoming) = await PlayerCalls.InterchangeAsync(service.Http, PlayerCalls.InterchangePath, players[i]);
                greeted[i] |= incoming.Any(m => m.Qualifier == "SERVER_OUTGOING_MESSAGE");
                done[i] = greeted[i] && incoming.Count == 0;
            });
            if (done.Any(d => !d)) await Task.Delay(200);
        }
    }
}
