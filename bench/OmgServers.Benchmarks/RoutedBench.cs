using System.Diagnostics;
using System.Text.Json;

namespace OmgServers.Benchmarks;

/// <summary>
/// End-to-end routed messages: players send CLIENT_OUTGOING_MESSAGE {"echo": n} through the real service to the
/// sample lobby runtime (a real process the service starts, polling the runtime interchange with the SDK's default
/// cadence), which answers RESPOND_CLIENT {"echo": n}; the player polls its interchange until the echo comes back and
/// acknowledges it. Reported: echoes received per second and the latency from the call that sent a message to the
/// end of the call that returned its echo.
/// </summary>
/// <remarks>
/// Each player keeps up to <c>window</c> echoes in flight: every call carries one new message while it has room and
/// acknowledges what the previous call returned; a player with a full window polls. Between two calls a player waits
/// <c>poll</c>, so that the polls of the waiting players do not crowd out the work being measured.
/// </remarks>
internal static class RoutedBench
{
    public static async Task RunAsync(string connection, int seconds, int players, int loops, int window, TimeSpan poll, int? perLobby)
    {
        Console.WriteLine();
        Console.WriteLine($"== Routed messages player -> lobby runtime -> player (real service process, sample lobby processes; {players:N0} players, "
            + $"{(perLobby is { } n ? $"{n} per lobby" : "lobby size: the service default")}, {loops} HTTP/1.1 connections, up to {window} echoes in flight per player, {poll.TotalMilliseconds:0} ms between a player's calls, {seconds} s) ==");
        if (!File.Exists(LobbyImage.Dll)) throw new InvalidOperationException($"the sample lobby is not built: {LobbyImage.Dll}");

        var environment = LobbyImage.Environment();
        if (perLobby is { } size) environment["OMGSERVERS_RUNTIMES_MAX_CLIENTS_PER_LOBBY"] = size.ToString();
        await using var service = await ServiceUnderTest.StartAsync(connection, "routed", environment, loops);
        var deployment = await service.DeployAsync(LobbyImage.VersionConfig(), LobbyImage.ImageId);
        var clock = Stopwatch.StartNew();
        var states = (await service.NewPlayersAsync(deployment, players)).Select(p => new PlayerState(p.ClientId, p.Token)).ToArray();
        Console.WriteLine($"set-up: {players:N0} players (create-user, create-token, create-client) in {clock.Elapsed.TotalSeconds:0.0} s");
        using var http = PlayerCalls.NewClient(service.Port, loops);

        // Wait until every player has its lobby: the runtime's ADD_CLIENT answer {"text":"welcome"} has come back.
        clock.Restart();
        var assigned = new bool[players];
        var seen = new HashSet<string>();
        var deadline = DateTime.UtcNow.AddSeconds(180);
        while (assigned.Any(a => !a))
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"{assigned.Count(a => a)} of {players} players got the lobby's welcome within 180 s; qualifiers seen: {string.Join(", ", seen)}; "
                    + $"live entities {await service.LiveEntitiesAsync()}\nservice log tail:\n{service.Tail()}");
            var pending = Enumerable.Range(0, players).Where(i => !assigned[i]).ToArray();
            await Parallel.ForEachAsync(pending, new ParallelOptions { MaxDegreeOfParallelism = loops }, async (i, ct) =>
            {
                var (_, incoming) = await PlayerCalls.InterchangeAsync(http, PlayerCalls.InterchangePath, states[i]);
                foreach (var message in incoming)
                {
                    lock (seen) seen.Add(message.Qualifier);
                    if (message.Qualifier == "SERVER_OUTGOING_MESSAGE" && message.Body.TryGetProperty("message", out var m) && m.TryGetProperty("text", out _))
                        assigned[i] = true;
                }
            });
            if (assigned.Any(a => !a)) await Task.Delay(200);
        }
        Console.WriteLine($"every player is in a lobby after {clock.Elapsed.TotalSeconds:0.0} s (messages seen: {string.Join(", ", seen.Order())})");

        var sent = new Dictionary<long, long>[players]; // echo number -> timestamp of the call that sent it
        for (var i = 0; i < players; i++) sent[i] = [];
        var next = new long[players];
        var latencies = new List<double>[players];
        for (var i = 0; i < players; i++) latencies[i] = [];
        var sendCalls = new List<double>[players]; // latency of the calls that carried a message
        var pollCalls = new List<double>[players]; // and of the others
        for (var i = 0; i < players; i++) (sendCalls[i], pollCalls[i]) = ([], []);
        var calls = 0L;
        long messagesOut = 0;
        var measuring = false;
        var gate = new SemaphoreSlim(loops);

        async Task PlayerLoopAsync(int i, CancellationToken stop)
        {
            while (!stop.IsCancellationRequested)
            {
                var outgoing = new List<string>(1);
                await gate.WaitAsync();
                long t0;
                double ms;
                List<Incoming> incoming;
                try
                {
                    t0 = Stopwatch.GetTimestamp();
                    if (sent[i].Count < window)
                    {
                        var n = ++next[i];
                        sent[i][n] = t0;
                        outgoing.Add($"{{\"echo\":{n}}}");
                    }
                    (ms, incoming) = await PlayerCalls.InterchangeAsync(http, PlayerCalls.InterchangePath, states[i], outgoing);
                }
                finally
                {
                    gate.Release();
                }
                var now = Stopwatch.GetTimestamp();
                Interlocked.Increment(ref calls);
                Interlocked.Add(ref messagesOut, outgoing.Count);
                if (measuring) (outgoing.Count > 0 ? sendCalls[i] : pollCalls[i]).Add(ms);
                foreach (var message in incoming)
                {
                    if (message.Qualifier != "SERVER_OUTGOING_MESSAGE" || !message.Body.TryGetProperty("message", out var m)
                        || !m.TryGetProperty("echo", out var echo) || echo.ValueKind != JsonValueKind.Number) continue;
                    if (sent[i].Remove(echo.GetInt64(), out var sentAt) && measuring)
                        latencies[i].Add(Stopwatch.GetElapsedTime(sentAt, now).TotalMilliseconds);
                }
                if (poll > TimeSpan.Zero) await Task.Delay(poll, CancellationToken.None);
            }
        }

        // Warm-up, then the measurement: the same loops go on, only the recording starts and stops.
        using var stopAll = new CancellationTokenSource();
        var running = Enumerable.Range(0, players).Select(i => Task.Run(() => PlayerLoopAsync(i, stopAll.Token))).ToArray();
        await Task.Delay(TimeSpan.FromSeconds(3));
        var calls0 = Interlocked.Read(ref calls);
        var out0 = Interlocked.Read(ref messagesOut);
        var cpu0 = service.Cpu();
        var runtimeCpu0 = service.RuntimesCpu();
        var machine0 = ProcessStats.MachineTicks();
        var client0 = Process.GetCurrentProcess().TotalProcessorTime;
        measuring = true;
        clock.Restart();
        await Task.Delay(TimeSpan.FromSeconds(seconds));
        measuring = false;
        var elapsed = clock.Elapsed.TotalSeconds;
        var serverCpu = (service.Cpu() - cpu0).TotalSeconds / elapsed;
        var clientCpu = (Process.GetCurrentProcess().TotalProcessorTime - client0).TotalSeconds / elapsed;
        var runtimeCpu = (service.RuntimesCpu() - runtimeCpu0).TotalSeconds / elapsed;
        var runtimes = service.RuntimePids().Count;
        var machine1 = ProcessStats.MachineTicks();
        var busy = 1 - (double)(machine1.Idle - machine0.Idle) / Math.Max(1, machine1.Total - machine0.Total);
        var callRate = (Interlocked.Read(ref calls) - calls0) / elapsed;
        var outRate = (Interlocked.Read(ref messagesOut) - out0) / elapsed;
        stopAll.Cancel();
        try { await Task.WhenAll(running); }
        catch (Exception ex) { Console.WriteLine($"a player loop failed: {ex.Message}"); }

        var all = latencies.SelectMany(l => l).ToArray();
        Array.Sort(all);
        var lost = sent.Sum(s => s.Count);
        Console.WriteLine($"routed echoes received: {all.Length / elapsed:N0}/s (sent {outRate:N0}/s), send -> receive p50 {LoadLoops.Percentile(all, 0.5):0.0} ms, p99 {LoadLoops.Percentile(all, 0.99):0.0} ms, max {(all.Length > 0 ? all[^1] : double.NaN):0.0} ms");
        var sends = sendCalls.SelectMany(l => l).Order().ToArray();
        var polls = pollCalls.SelectMany(l => l).Order().ToArray();
        Console.WriteLine($"player interchange calls {callRate:N0}/s: with a message p50 {LoadLoops.Percentile(sends, 0.5):0.0} ms, p99 {LoadLoops.Percentile(sends, 0.99):0.0} ms ({sends.Length:N0}); "
            + $"polls p50 {LoadLoops.Percentile(polls, 0.5):0.0} ms, p99 {LoadLoops.Percentile(polls, 0.99):0.0} ms ({polls.Length:N0})");
        Console.WriteLine($"CPU: service {serverCpu:P0}, lobby processes {runtimeCpu:P0} ({runtimes} running, {service.RuntimesRss() / 1024.0 / 1024:N0} MiB resident), load client {clientCpu:P0}, machine {busy:P0} of {Environment.ProcessorCount} cores; echoes still in flight at the end: {lost:N0}");
        Console.WriteLine("(a lobby runtime calls its interchange again at once while it has answers to send, else 100 ms later: the SDK's default cadence adds up to 100 ms to an echo)");
    }
}
