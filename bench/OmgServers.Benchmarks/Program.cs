// Benchmarks of the actor runtime and the service, each next to its floor measured in the same run:
//   persist      persisted events/s through the runtime (many entities, each waiting for durability before its reply)
//                vs raw one-INSERT-per-event and raw 100-row multi-row INSERTs from one connection
//   ask          in-process Ask round trips/s vs a bare Channel<T> ping-pong
//   cluster      cross-node Ask round trips/s vs in-process, and the failover time after SIGKILL of a node process
//   login        player logins/s and p99 through the real service vs raw RS256 signatures and bcrypt verifications
//   interchange  player interchange calls/s, p50, p99 through the real service process vs a bare Kestrel endpoint (its own
//                process) reading and answering the same JSON, and the same plus an RS256 token check, driven by one
//                load client (HTTP/1.1 keep-alive); --players N (1000), --loops N concurrent calls (64), --rounds N (2)
//   routed       end-to-end routed messages/s and send -> receive p50/p99, player -> sample lobby runtime (a real process
//                the service starts) -> player; --players N (100), --loops N connections (64), --window N echoes in
//                flight per player (4), --poll-ms N between a player's calls (20), --per-lobby N players per lobby
//                (the service's default when absent; smaller spreads the players over more runtime processes)
//   clients      memory per connected idle client: service resident set before/after N clients (--clients N, 20000) in
//                lobbies of the sample, under GC variants of the service process (--gc default; others: conserve,
//                gen0-4mb, heaps-1, workstation, workstation-conserve, workstation-concurrent; comma-separated), each
//                also after idling and after a full GC induced from outside; --probe runs the service's composition in a
//                child process with GC endpoints instead of the binary, to split the resident set into heap and slack
//   matchmaker   matchmaking requests accepted per second by one matchmaker entity, one per message vs batched per interchange
//   matching     one matchmaking step (MatchingStep.Run) over 100,000 waiting requests, per mode shape: median ms vs the
//                < 200 ms goal and requests matched/s; --runs N (9); pure CPU, starts no PostgreSQL
// Usage: dotnet run -c Release --project bench/OmgServers.Benchmarks -- [persist|ask|cluster|login|interchange|routed|clients|matching|all] [--seconds N] [--connection CS]
// Without --connection it starts a private PostgreSQL with default durability (fsync on, synchronous_commit on).
// "all" runs every mode but routed, which needs runtime processes.
using System.Diagnostics;
using OmgServers.Benchmarks;
using OmgServers.Hosting;

if (args.Length == 3 && args[0] == BareEchoServer.Mode)
{
    // The floor of the interchange benchmark, started by it as a child process.
    await BareEchoServer.RunAsync(int.Parse(args[1]), args[2]);
    return 0;
}
if (args.Length >= 1 && args[0] == ProbeHost.Mode)
{
    // The service with GC endpoints, started by the memory benchmark (--probe) as a child process.
    return await ProbeHost.RunAsync(args[1..]);
}

var mode = args.FirstOrDefault(a => !a.StartsWith("--")) ?? "all";
var seconds = int.Parse(Arg("--seconds") ?? "5");
var connection = Arg("--connection");

Console.WriteLine($"OmgServers.Akka actor runtime benchmarks; {Environment.ProcessorCount} cores, .NET {Environment.Version}, server GC {System.Runtime.GCSettings.IsServerGC}, {seconds} s per measurement");
if (mode is "matching") { MatchingBench.Run(int.Parse(Arg("--runs") ?? "9")); return 0; } // pure CPU: no PostgreSQL

EmbeddedPostgres? pg = null;
string? pgDir = null;
try
{
    if (connection is null)
    {
        pgDir = Path.Combine(Path.GetTempPath(), "omgservers-bench-" + Guid.NewGuid().ToString("N")[..8]);
        var sw = Stopwatch.StartNew();
        pg = await EmbeddedPostgres.StartAsync(new EmbeddedPostgresOptions { DataDirectory = pgDir, Database = "bench", Throwaway = false });
        connection = pg.ConnectionString;
        Console.WriteLine($"private PostgreSQL started in {sw.Elapsed.TotalSeconds:0.0} s (default durability)");
    }

    if (mode is "ask" or "all") await AskBench.RunAsync(connection!, seconds);
    if (mode is "persist" or "all") await PersistBench.RunAsync(connection!, seconds);
    if (mode is "cluster" or "all") await ClusterBench.RunAsync(connection!, seconds);
    if (mode is "login" or "all") await LoginBench.RunAsync(connection!, seconds);
    if (mode is "interchange" or "all")
        await InterchangeBench.RunAsync(connection!, seconds, int.Parse(Arg("--players") ?? "1000"), int.Parse(Arg("--loops") ?? "64"), int.Parse(Arg("--rounds") ?? "2"));
    if (mode is "routed")
        await RoutedBench.RunAsync(connection!, seconds, int.Parse(Arg("--players") ?? "100"), int.Parse(Arg("--loops") ?? "64"),
            int.Parse(Arg("--window") ?? "4"), TimeSpan.FromMilliseconds(int.Parse(Arg("--poll-ms") ?? "20")), Arg("--per-lobby") is { } perLobby ? int.Parse(perLobby) : null);
    if (mode is "matchmaker") await MatchmakerBench.RunAsync(connection!, int.Parse(Arg("--requests") ?? "100000"), int.Parse(Arg("--callers") ?? "32"));
    if (mode is "matchstart") await MatchStartBench.RunAsync(connection!, int.Parse(Arg("--matches") ?? "10"), int.Parse(Arg("--size") ?? "2"));
    if (mode is "clients" or "all")
        await ClientMemoryBench.RunAsync(connection!, int.Parse(Arg("--clients") ?? "20000"), (Arg("--gc") ?? "default").Split(','), args.Contains("--probe"));
}
finally
{
    if (pg is not null) await pg.DisposeAsync();
    if (pgDir is not null && Directory.Exists(pgDir)) try { Directory.Delete(pgDir, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
}
return 0;

string? Arg(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}
