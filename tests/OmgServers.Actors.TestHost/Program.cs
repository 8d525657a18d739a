// A process that hosts entities on the actor runtime for the kill tests. It reads commands on stdin and answers on
// stdout, one line each, so a test can drive it, SIGKILL it mid-stream and start another one on the same database.
//
//   load <entities> <count> <concurrency>   Asks Pair(n) for n = 1..count over `entities` counters; prints "ack <id> <n>" per reply
//   remind <id> <name> <ms>                 sets a durable reminder; prints "reminded <id> <name>"
//   get <id>                                prints "state <id> <comma-separated values> <comma-separated reminders>"
//   probe <entities>                        Asks Get of k0..k<entities-1> with a 1 s deadline; prints "probe <ok> <failed>"
//   shards                                  prints "shards <count> <comma-separated shard ids>"
//   drain <node> / undrain <node>           marks a node leaving / up; prints "drained <node> <true|false>"
//   stop                                    graceful stop; prints "stopped"
// It prints "ready" when it holds all shards and "fired <id> <name>" when a reminder is handled.
using System.Collections.Concurrent;
using System.Collections.Immutable;
using Microsoft.Extensions.Logging;
using OmgServers.Actors;

var options = ParseArgs(args);
var output = new BlockingCollection<string>();
var writer = new Thread(() => { foreach (var line in output.GetConsumingEnumerable()) { Console.Out.WriteLine(line); Console.Out.Flush(); } }) { IsBackground = true };
writer.Start();

using var loggers = LoggerFactory.Create(b => b
    .SetMinimumLevel(Enum.Parse<LogLevel>(Environment.GetEnvironmentVariable("TESTHOST_LOG_LEVEL") ?? "Warning"))
    .AddSimpleConsole(o => o.SingleLine = true)
    .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace));
var runtime = ActorRuntime.Create(options, r => r.Entity("pair", _ => new PairCounter(output.Add))
    // "k<n>" shards like the n-th of a run of snowflake ids would: CRC-16 spreads short look-alike strings badly.
    .ShardKey(id => (245515657456648192L + long.Parse(id[1..]) * 16_777_216L).ToString())
    .Event<Applied>("testhost.applied")
    .Event<Fired>("testhost.fired"), loggers: loggers);
await runtime.StartAsync();
while (!runtime.IsReady) await Task.Delay(20);
output.Add("ready");

string? line;
while ((line = Console.In.ReadLine()) is not null)
{
    var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
    if (parts.Length == 0) continue;
    switch (parts[0])
    {
        case "load":
            _ = LoadAsync(int.Parse(parts[1]), int.Parse(parts[2]), int.Parse(parts[3]));
            break;
        case "remind":
            await runtime.AskAsync<object?>(new EntityAddress("pair", parts[1]), new SetReminder(parts[2], int.Parse(parts[3])));
            output.Add($"reminded {parts[1]} {parts[2]}");
            break;
        case "get":
            var state = await runtime.AskAsync<PairState>(new EntityAddress("pair", parts[1]), new Get());
            output.Add($"state {parts[1]} {string.Join(',', state.Values)} {string.Join(',', state.Reminders)}");
            break;
        case "probe":
            var n = int.Parse(parts[1]);
            var results = await Task.WhenAll(Enumerable.Range(0, n).Select(async e =>
            {
                try { await runtime.AskAsync<PairState>(new EntityAddress("pair", "k" + e), new Get(), TimeSpan.FromSeconds(1)); return true; }
                catch (ActorRuntimeException) { return false; }
            }));
            output.Add($"probe {results.Count(r => r)} {results.Count(r => !r)}");
            break;
        case "shards":
            var owned = runtime.OwnedShards();
            output.Add($"shards {owned.Length} {string.Join(',', owned)}");
            break;
        case "drain":
        case "undrain":
            var changed = await runtime.SetNodeStateAsync(parts[1], parts[0] == "drain");
            output.Add($"{parts[0]}ed {parts[1]} {changed.ToString().ToLowerInvariant()}");
            break;
        case "stop":
            await runtime.StopAsync();
            output.Add("stopped");
            output.CompleteAdding();
            writer.Join();
            return;
    }
}

async Task LoadAsync(int entities, int count, int concurrency)
{
    var next = 0;
    await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
    {
        int n;
        while ((n = Interlocked.Increment(ref next)) <= count)
        {
            var id = "k" + (n % entities);
            try
            {
                await runtime.AskAsync<object?>(new EntityAddress("pair", id), new Pair(n));
                output.Add($"ack {id} {n}");
            }
            catch (Exception ex)
            {
                output.Add($"nack {id} {n} {ex.GetType().Name}");
                await Task.Delay(50); // a failing node: do not spin
            }
        }
    }));
    output.Add("loaded");
}

static ActorRuntimeOptions ParseArgs(string[] args)
{
    string Arg(string name, string? fallback = null)
    {
        var i = Array.IndexOf(args, "--" + name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback ?? throw new ArgumentException($"--{name} is required");
    }
    var defaults = new ActorRuntimeOptions { ConnectionString = "" };
    var ttl = args.Contains("--lease-ttl-ms") ? TimeSpan.FromMilliseconds(int.Parse(Arg("lease-ttl-ms"))) : defaults.LeaseTtl;
    var renew = args.Contains("--lease-ttl-ms") ? ttl / 4 : defaults.LeaseRenewInterval;
    return new ActorRuntimeOptions
    {
        ConnectionString = Arg("connection"),
        Schema = Arg("schema"),
        NodeId = Arg("node", "testhost"),
        ShardCount = int.Parse(Arg("shards", "16")),
        LeaseTtl = ttl,
        LeaseRenewInterval = renew,
        AskTimeout = TimeSpan.FromSeconds(10),
        ReminderPollInterval = TimeSpan.FromMilliseconds(100),
        ClusterPort = int.Parse(Arg("cluster-port", "0")),
        ClusterSecret = Arg("secret", ""),
        SnapshotEvery = int.Parse(Arg("snapshot-every", "50")),
    };
}

public sealed record Pair(int N);
public sealed record Get;
public sealed record SetReminder(string Name, int InMs);
public sealed record Applied(int N);
public sealed record Fired(string Name);
public sealed record PairState(ImmutableList<int> Values, ImmutableList<string> Reminders);

/// <summary>Each Pair(n) writes two events in one atomic append: after a crash a value is there twice or not at all.</summary>
public sealed class PairCounter(Action<string> report) : PersistentEntity<PairState>
{
    protected override PairState CreateInitialState() => new([], []);

    protected override PairState Apply(PairState state, object @event) => @event switch
    {
        Applied a => state with { Values = state.Values.Add(a.N) },
        Fired f => state with { Reminders = state.Reminders.Add(f.Name) },
        _ => state,
    };

    protected override async ValueTask<object?> HandleAsync(object message)
    {
        switch (message)
        {
            case Pair p:
                await PersistAsync([new Applied(p.N), new Applied(p.N)]);
                return null;
            case Get:
                return State;
            case SetReminder r:
                await Context.SetReminderAsync(r.Name, DateTimeOffset.UtcNow.AddMilliseconds(r.InMs));
                return null;
            case ReminderFired fired:
                await PersistAsync(new Fired(fired.Name));
                report($"fired {Context.Id} {fired.Name}");
                return null;
            default:
                return null;
        }
    }
}
