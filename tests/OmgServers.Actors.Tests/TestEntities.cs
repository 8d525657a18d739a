using System.Collections.Concurrent;
using System.Collections.Immutable;

namespace OmgServers.Actors.Tests;

public sealed record Add(int N);
public sealed record AddTwice(int N);
public sealed record GetState;
public sealed record Fail(string Why);
public sealed record SlowAdd(int N, int DelayMs);
public sealed record RemindMe(string Name, int InMs);
public sealed record StartTimer(string Key, int Ms, bool Periodic);
public sealed record StopTimer(string Key);
public sealed record PassivateNow;
public sealed record DeleteMe;
public sealed record SendReliably(string To, int N);

public sealed record Added(int N);
public sealed record Reminded(string Name);

public sealed record CounterState(int Total, ImmutableList<int> Values, ImmutableList<string> Reminders);

/// <summary>An event-sourced counter that remembers every value in order.</summary>
public sealed class Counter(Probe? probe = null) : PersistentEntity<CounterState>
{
    protected override CounterState CreateInitialState() => new(0, [], []);

    protected override CounterState Apply(CounterState state, object @event) => @event switch
    {
        Added a => state with { Total = state.Total + a.N, Values = state.Values.Add(a.N) },
        Reminded r => state with { Reminders = state.Reminders.Add(r.Name) },
        _ => state,
    };

    protected override Task OnActivateAsync()
    {
        probe?.Activated(Context.Self);
        return Task.CompletedTask;
    }

    protected override async ValueTask<object?> HandleAsync(object message)
    {
        switch (message)
        {
            case Add add:
                await PersistAsync(new Added(add.N));
                return State;
            case AddTwice add:
                await PersistAsync([new Added(add.N), new Added(add.N)]);
                return State;
            case SlowAdd slow:
                await Task.Delay(slow.DelayMs);
                await PersistAsync(new Added(slow.N));
                return State;
            case GetState:
                return State;
            case Fail fail:
                throw new InvalidOperationException(fail.Why);
            case RemindMe remind:
                await Context.SetReminderAsync(remind.Name, DateTimeOffset.UtcNow.AddMilliseconds(remind.InMs));
                return State;
            case ReminderFired fired:
                await PersistAsync(new Reminded(fired.Name));
                probe?.Reminded(Context.Self, fired.Name);
                return null;
            case PassivateNow:
                Context.Passivate();
                return State;
            case DeleteMe:
                await DeleteAsync();
                return State;
            case SendReliably send:
                Deliver(new EntityAddress("counter", send.To), new Add(send.N));
                await PersistAsync(new Added(0));
                return State;
            default:
                return null;
        }
    }
}

public sealed record OpenGate;
public sealed record GateOpened;
public sealed record GateAdded(int N);
public sealed record CountDeferrals;
public sealed record AddUnrecorded(int N);
public sealed record SendToGate(string To, int N, bool Recorded);
public sealed record GateState(bool Open, ImmutableList<int> Values);

/// <summary>Takes deliveries only once opened (it defers them before); <see cref="AddUnrecorded"/> skips the inbox.</summary>
public sealed class Gate : PersistentEntity<GateState>
{
    private int _deferrals;

    protected override GateState CreateInitialState() => new(false, []);

    protected override GateState Apply(GateState state, object @event) => @event switch
    {
        GateOpened => state with { Open = true },
        GateAdded a => state with { Values = state.Values.Add(a.N) },
        _ => state,
    };

    protected override bool RecordsDelivery(object message) => message is not AddUnrecorded;

    protected override async ValueTask<object?> HandleAsync(object message)
    {
        switch (message)
        {
            case OpenGate:
                await PersistAsync(new GateOpened());
                return State;
            case Add or AddUnrecorded when !State.Open:
                _deferrals++;
                DeferDelivery();
                return null;
            case CountDeferrals:
                return _deferrals;
            case Add add:
                await PersistAsync(new GateAdded(add.N));
                return State;
            case AddUnrecorded add:
                await PersistAsync(new GateAdded(add.N));
                return State;
            case SendToGate send:
                Deliver(new EntityAddress("gate", send.To), send.Recorded ? new Add(send.N) : new AddUnrecorded(send.N));
                return State;
            case GetState:
                return State;
            default:
                return null;
        }
    }
}

public sealed record Append(int N);
public sealed record AppendedAll(int[] Ns);
public sealed record CountBatches;
public sealed record Appended(ImmutableList<int> Values);

/// <summary>Batches <see cref="Append"/>: queued ones are written together; it counts the batches of more than one.</summary>
public sealed class Batcher : PersistentEntity<Appended>
{
    private int _batches;

    protected override Appended CreateInitialState() => new([]);

    protected override Appended Apply(Appended state, object @event) => @event is AppendedAll a ? new(state.Values.AddRange(a.Ns)) : state;

    protected override bool Batches(object message) => message is Append;

    protected override async ValueTask<IReadOnlyList<object?>> HandleBatchAsync(IReadOnlyList<object> messages)
    {
        if (messages.Count > 1) _batches++;
        await PersistAsync(new AppendedAll(messages.Cast<Append>().Select(a => a.N).ToArray()));
        return messages.Select(_ => (object?)State.Values.Count).ToList();
    }

    protected override async ValueTask<object?> HandleAsync(object message)
    {
        switch (message)
        {
            case Append append:
                await PersistAsync(new AppendedAll([append.N]));
                return State.Values.Count;
            case CountBatches:
                return _batches;
            case GetState:
                return State;
            default:
                return null;
        }
    }
}

/// <summary>A plain entity that records what it received, in order, and what its timers did.</summary>
public sealed class Recorder(Probe? probe = null) : Entity
{
    private readonly List<object> _received = new();

    protected override async ValueTask<object?> HandleAsync(object message)
    {
        switch (message)
        {
            case GetState:
                return _received.ToArray();
            case SlowAdd slow:
                probe?.Enter(Context.Self);
                await Task.Delay(slow.DelayMs);
                probe?.Exit(Context.Self);
                _received.Add(slow.N);
                return slow.N;
            case StartTimer start:
                if (start.Periodic) Context.Timers.StartPeriodic(start.Key, new Add(-1), TimeSpan.FromMilliseconds(start.Ms));
                else Context.Timers.StartSingle(start.Key, new Add(-1), TimeSpan.FromMilliseconds(start.Ms));
                return null;
            case StopTimer stop:
                Context.Timers.Cancel(stop.Key);
                return null;
            case Fail fail:
                throw new InvalidOperationException(fail.Why);
            case Add { N: -1 }:
                probe?.Ticked(Context.Self);
                _received.Add(-1);
                return null;
            default:
                _received.Add(message);
                return message;
        }
    }

    protected override Task OnActivateAsync()
    {
        probe?.Activated(Context.Self);
        return Task.CompletedTask;
    }
}

/// <summary>Collects what entities report, for assertions across activations.</summary>
public sealed class Probe
{
    private int _concurrent;
    public int MaxConcurrent;
    public ConcurrentQueue<EntityAddress> Activations { get; } = new();
    public ConcurrentQueue<(EntityAddress, string)> Reminders { get; } = new();
    public ConcurrentQueue<EntityAddress> Ticks { get; } = new();

    public void Activated(EntityAddress a) => Activations.Enqueue(a);
    public void Reminded(EntityAddress a, string name) => Reminders.Enqueue((a, name));
    public void Ticked(EntityAddress a) => Ticks.Enqueue(a);

    public void Enter(EntityAddress a)
    {
        var now = Interlocked.Increment(ref _concurrent);
        int seen;
        while (now > (seen = Volatile.Read(ref MaxConcurrent)) && Interlocked.CompareExchange(ref MaxConcurrent, now, seen) != seen) { }
    }

    public void Exit(EntityAddress a) => Interlocked.Decrement(ref _concurrent);
}

public static class Eventually
{
    /// <summary>Waits until <paramref name="condition"/> holds, failing after <paramref name="timeout"/>.</summary>
    public static async Task HoldsAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"timed out after {timeout.TotalSeconds:0.#}s waiting for: {what}");
            await Task.Delay(20);
        }
    }

    public static async Task HoldsAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"timed out after {timeout.TotalSeconds:0.#}s waiting for: {what}");
            await Task.Delay(50);
        }
    }
}
