// Benchmarks of the actor runtime, each next to its floor measured in the same run:
//   persist  persisted events/s through the runtime (many entities, each waiting for durability before its reply)
//            vs raw one-INSERT-per-event and raw 100-row multi-row INSERTs from one connection
//   ask      in-process Ask round trips/s vs a bare Channel<T> ping-pong
//   cluster  cross-node Ask round trips/s vs in-process, and the failover time after SIGKILL of a node process
//   login    player logins/s and p99 through the real service vs raw RS256 signatures and bcrypt verifications
//   clients  memory per connected client (service resident set before/after N live clients; --clients N)
// Usage: dotnet run -c Release --project bench/OmgServers.Benchmarks -- [persist|ask|cluster|login|clients|all] [--seconds N] [--connection CS]
// Without --connection it starts a private PostgreSQL with default durability (fsync on, synchronous_commit on).
using System.Diagnostics;
using OmgServers.Benchmarks;
using OmgServers.Hosting;

var mode = args.FirstOrDefault(a => !a.StartsWith("--")) ?? "all";
var seconds = int.Parse(Arg("--seconds") ?? "5");
var connection = Arg("--connection");

Console.WriteLine($"OmgServers.Akka actor runtime benchmarks; {Environment.ProcessorCount} cores, .NET {Environment.Version}, server GC {System.Runtime.GCSettings.IsServerGC}, {seconds} s per measurement");

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
    if (mode is "clients" or "all") await ClientMemoryBench.RunAsync(connection!, int.Parse(Arg("--clients") ?? "20000"));
}
finally
{
    if (pg is not null) await pg.DisposeAsync();
    if (pgDir is not null && Directory.Exists(pgDir)) try { Directory.Delete(pgDir, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
}

string? Arg(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}
