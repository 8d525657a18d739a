using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using OmgServers.Actors;

namespace OmgServers.Domain.Tests.Entities;

/// <summary>A launcher that runs nothing and remembers every start (with its password) and stop, across runtime restarts.</summary>
public sealed class RecordingLauncher : IRuntimeLauncher
{
    private readonly ConcurrentQueue<RuntimeStart> _starts = new();
    private readonly ConcurrentQueue<long> _stops = new();

    public IReadOnlyList<RuntimeStart> Starts => _starts.ToArray();

    public IReadOnlyList<long> Stops => _stops.ToArray();

    public RuntimeStart? StartOf(long runtimeId) => _starts.FirstOrDefault(s => s.RuntimeId == runtimeId);

    public bool Stopped(long runtimeId) => _stops.Contains(runtimeId);

    public Task StartAsync(RuntimeStart start, CancellationToken ct)
    {
        _starts.Enqueue(start);
        return Task.CompletedTask;
    }

    public Task<bool> StopAsync(long runtimeId, CancellationToken ct)
    {
        _stops.Enqueue(runtimeId);
        return Task.FromResult(_starts.Any(s => s.RuntimeId == runtimeId));
    }
}

/// <summary>Asks <see cref="RelayEntity"/> to send <paramref name="Message"/> to <paramref name="To"/> by reliable delivery.</summary>
public sealed record Relay(EntityAddress To, object Message);

public sealed record Relayed(string To);

public sealed record RelayState(int Sent);

/// <summary>
/// A persistent sender for the tests: it hands any registered domain message to reliable delivery, as a client or a
/// deployment would, so a test can choose the order in which a receiver hears of things (an ADD_CLIENT before the
/// runtime's creation, for one).
/// </summary>
public sealed class RelayEntity : PersistentEntity<RelayState>
{
    public const string TypeName = "testrelay";

    public static EntityAddress Address(string id) => new(TypeName, id);

    public static void Register(EntityRegistryBuilder r) => r.Entity<RelayEntity>(TypeName, _ => new RelayEntity())
        .Event<Relayed>("test.relayed")
        .Message<Relay>("test.relay");

    protected override RelayState CreateInitialState() => new(0);

    protected override RelayState Apply(RelayState state, object @event) => @event is Relayed ? state with { Sent = state.Sent + 1 } : state;

    protected override async ValueTask<object?> HandleAsync(object message)
    {
        if (message is not Relay relay) return null;
        Deliver(relay.To, relay.Message);
        await PersistAsync(new Relayed(relay.To.ToString()));
        return State;
    }
}

/// <summary>Waits for conditions with a deadline; never a fixed sleep where a condition can be observed.</summary>
public static class Eventually
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    /// <summary>Probes until <paramref name="ok"/> holds and returns that probe's value; fails with the last value seen.</summary>
    public static async Task<T> ValueAsync<T>(Func<Task<T>> probe, Func<T, bool> ok, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? Patience);
        while (true)
        {
            var value = await probe();
            if (ok(value)) return value;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"timed out after {(timeout ?? Patience).TotalSeconds:0.#} s waiting for: {what}; last seen: {Describe(value)}");
            await Task.Delay(50);
        }
    }

    public static async Task HoldsAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? Patience);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"timed out after {(timeout ?? Patience).TotalSeconds:0.#} s waiting for: {what}");
            await Task.Delay(20);
        }
    }

    private static string Describe(object? value) => value switch
    {
        null => "null",
        System.Collections.IEnumerable list and not string => "[" + string.Join(", ", list.Cast<object?>().Select(v => v?.ToString())) + "]",
        _ => value.ToString() ?? "",
    };
}

/// <summary>Runs an action repeatedly in the background (a player or a runtime that keeps interchanging) until disposed.</summary>
public sealed class Pump : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    private int _rounds;

    public int Rounds => Volatile.Read(ref _rounds);

    public Pump(Func<Task> action, TimeSpan every)
    {
        _loop = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                await action();
                Interlocked.Increment(ref _rounds);
                try { await Task.Delay(every, _stop.Token); } catch (OperationCanceledException) { }
            }
        });
    }

    /// <summary>Stops the loop and rethrows what the action threw.</summary>
    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await _loop;
        _stop.Dispose();
    }
}

/// <summary>Entity and runtime logs into the test's output (shown for failed tests).</summary>
public sealed class TestOutputLoggerProvider(ITestOutputHelper output) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new Logger(output, categoryName);

    public void Dispose() { }

    private sealed class Logger(ITestOutputHelper output, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            try
            {
                output.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel,-11} {category}: {formatter(state, exception)}{(exception is null ? "" : " " + exception)}");
            }
            catch (InvalidOperationException)
            {
                // The test is over; a background loop still logs.
            }
        }
    }
}
