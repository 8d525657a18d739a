using System.Diagnostics;
using System.Threading.Channels;
using OmgServers.Actors;

namespace OmgServers.Benchmarks;

/// <summary>Ask round trips through the runtime's mailboxes vs a bare Channel ping-pong, with 1 and many concurrent callers.</summary>
internal static class AskBench
{
    public static async Task RunAsync(string connection, int seconds)
    {
        Console.WriteLine();
        Console.WriteLine("== Ask round trips (in process) ==");
        Console.WriteLine($"{"case",-44} {"round trips/s",15} {"vs bare",9}");
        // The echo entity is not persistent: no database work on the message path (the runtime still holds its leases there).
        foreach (var callers in new[] { 1, 64 })
        {
            var bare = await BarePingPongAsync(callers, seconds);
            var runtime = await RuntimeAskAsync(connection, callers, seconds);
            Console.WriteLine($"{$"bare Channel<T> ping-pong, {callers} pair(s)",-44} {bare,15:N0} {"1.00x",9}");
            Console.WriteLine($"{$"runtime Ask, {callers} caller(s) -> {callers} entities",-44} {runtime,15:N0} {runtime / bare,8:0.00}x");
        }
    }

    private static async Task<double> BarePingPongAsync(int pairs, int seconds)
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        long total = 0;
        var tasks = Enumerable.Range(0, pairs).Select(_ => Task.Run(async () =>
        {
            var ping = Channel.CreateBounded<int>(new BoundedChannelOptions(1000) { SingleReader = true });
            var pong = Channel.CreateBounded<int>(new BoundedChannelOptions(1000) { SingleReader = true });
            var responder = Task.Run(async () =>
            {
                await foreach (var x in ping.Reader.ReadAllAsync()) await pong.Writer.WriteAsync(x + 1);
            });
            long n = 0;
            var sw = Stopwatch.StartNew();
            while (!stop.IsCancellationRequested)
            {
                await ping.Writer.WriteAsync(1);
                await pong.Reader.ReadAsync();
                n++;
            }
            ping.Writer.Complete();
            await responder;
            Interlocked.Add(ref total, n);
        })).ToArray();
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(tasks);
        return total / clock.Elapsed.TotalSeconds;
    }

    private static async Task<double> RuntimeAskAsync(string connection, int callers, int seconds)
    {
        await using var runtime = await Runtimes.StartAsync(connection, r => r.Entity<Echo>("echo"));
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        long total = 0;
        var message = new Ping(1);
        var tasks = Enumerable.Range(0, callers).Select(c => Task.Run(async () =>
        {
            var to = new EntityAddress("echo", "e" + c);
            long n = 0;
            while (!stop.IsCancellationRequested)
            {
                await runtime.AskAsync<Ping>(to, message, TimeSpan.FromSeconds(5));
                n++;
            }
            Interlocked.Add(ref total, n);
        })).ToArray();
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(tasks);
        return total / clock.Elapsed.TotalSeconds;
    }
}

public sealed record Ping(int N);

public sealed class Echo : Entity
{
    protected override ValueTask<object?> HandleAsync(object message) => ValueTask.FromResult<object?>(message);
}
