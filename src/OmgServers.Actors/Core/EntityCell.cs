using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace OmgServers.Actors;

/// <summary>
/// One live entity: its bounded mailbox, the loop that handles one message at a time, activation (recovery),
/// supervision (restart after an exception), timers and passivation.
/// </summary>
internal sealed class EntityCell : IEntityContext, ITimerScheduler
{
    internal static readonly object PassivateSignal = new();
    internal static readonly object StopSignal = new();

    private readonly LocalShard _shard;
    private readonly Channel<Envelope> _mailbox;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Entity? _entity;
    private bool _passivateRequested;
    private Dictionary<string, TimerEntry>? _timers;
    private int _timerGeneration;

    public EntityCell(LocalShard shard, EntityType type, string id, int capacity)
    {
        _shard = shard;
        Type = type;
        Self = new EntityAddress(type.Name, id);
        Capacity = capacity;
        _mailbox = Channel.CreateBounded<Envelope>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait, // writers use TryWrite: full means refused, never blocked
        });
        LastActivityMs = Environment.TickCount64;
        _ = RunAsync();
    }

    public EntityType Type { get; }
    public EntityAddress Self { get; }
    public string Id => Self.Id;
    public int Shard => _shard.Id;
    public long Epoch => _shard.Epoch;
    public int Capacity { get; }
    public ActorRuntime Runtime => _shard.Runtime;
    public ILogger Logger => _shard.Runtime.EntityLogger;
    public ITimerScheduler Timers => this;
    public long LastActivityMs { get; private set; }
    public int Pending => _mailbox.Reader.Count;
    public bool HasInstance => _entity is not null;
    public Task Stopped => _stopped.Task;
    internal Entity? Instance => _entity;

    public bool TryEnqueue(Envelope envelope) => _mailbox.Writer.TryWrite(envelope);

    private async Task RunAsync()
    {
        var reader = _mailbox.Reader;
        try
        {
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                while (reader.TryRead(out var envelope))
                {
                    if (await ProcessAsync(envelope).ConfigureAwait(false))
                        return;
                }
            }
        }
        catch (Exception ex)
        {
            Logger.LogCritical(ex, "mailbox loop of {Entity} crashed", Self);
        }
        finally
        {
            await DeactivateAsync().ConfigureAwait(false);
            FailRemaining(new ShardUnavailableException(Shard, "entity stopped"));
            _shard.Forget(this);
            _stopped.TrySetResult();
        }
    }

    /// <summary>Handles one envelope; true when the cell has stopped for good.</summary>
    private async ValueTask<bool> ProcessAsync(Envelope envelope)
    {
        if (_abortReason is { } reason)
        {
            envelope.Reply?.TrySetException(new ShardUnavailableException(Shard, reason));
            if (envelope.Kind == EnvelopeKind.Reminder)
                Runtime.Reminders.Failed(Self, (ReminderFired)envelope.Message);
            return false;
        }

        if (envelope.Kind == EnvelopeKind.Passivate)
            return await TryStopAsync(force: ReferenceEquals(envelope.Message, StopSignal)).ConfigureAwait(false);

        if (envelope.Kind == EnvelopeKind.Timer && !TimerStillValid(envelope))
            return false;

        if (envelope.Expired)
        {
            envelope.Reply?.TrySetException(new AskTimeoutException(Self, TimeSpan.Zero));
            return false;
        }

        if (!_shard.IsValid)
        {
            // The lease may have passed to another node meanwhile (this process was paused): serve nothing stale.
            envelope.Reply?.TrySetException(new ShardUnavailableException(Shard, "lease not renewed in time on this node"));
            if (envelope.Kind == EnvelopeKind.Reminder)
                Runtime.Reminders.Failed(Self, (ReminderFired)envelope.Message);
            return false;
        }

        if (_entity is null && !await ActivateAsync(envelope).ConfigureAwait(false))
            return false;

        if (envelope.Kind == EnvelopeKind.User && CanBatch(envelope) && NextBatch(envelope) is { Count: > 1 } batch)
            return await ProcessBatchAsync(batch).ConfigureAwait(false);

        try
        {
            var result = await _entity!.InvokeAsync(envelope).ConfigureAwait(false);
            envelope.Reply?.TrySetResult(result);
            if (envelope.Kind == EnvelopeKind.Reminder)
                Runtime.Reminders.Handled(Self, (ReminderFired)envelope.Message, Shard, Epoch);
        }
        catch (Exception ex)
        {
            Logger.LogError(ex, "{Entity} failed handling {Message}; restarting it from its journal", Self, envelope.Message.GetType().Name);
            envelope.Reply?.TrySetException(new EntityFailedException(Self, ex.Message, ex));
            if (envelope.Kind == EnvelopeKind.Reminder)
                Runtime.Reminders.Failed(Self, (ReminderFired)envelope.Message);
            Restart();
        }

        if (envelope.Kind != EnvelopeKind.Timer)
            LastActivityMs = Environment.TickCount64;

        if (_passivateRequested)
        {
            _passivateRequested = false;
            return await TryStopAsync(force: false).ConfigureAwait(false);
        }
        return false;
    }

    /// <summary>Most messages handled as one batch.</summary>
    internal const int MaxBatch = 256;

    private bool CanBatch(Envelope envelope) => _entity!.BatchesEnvelope(envelope);

    /// <summary>The envelope and the ones queued right behind it that batch with it (same message type, not expired).</summary>
    private List<Envelope> NextBatch(Envelope first)
    {
        var batch = new List<Envelope> { first };
        var type = Entity.BatchKey(first.Message).GetType();
        var reader = _mailbox.Reader;
        while (batch.Count < MaxBatch && reader.TryPeek(out var next) && next.Kind == EnvelopeKind.User && !next.Expired
               && Entity.BatchKey(next.Message).GetType() == type && CanBatch(next) && reader.TryRead(out next))
            batch.Add(next);
        return batch;
    }

    private async ValueTask<bool> ProcessBatchAsync(List<Envelope> batch)
    {
        try
        {
            var replies = await _entity!.InvokeBatchAsync(batch).ConfigureAwait(false);
            for (var i = 0; i < batch.Count; i++) batch[i].Reply?.TrySetResult(replies[i]);
        }
        catch (Exception ex)
        {
            Logger.LogError(ex, "{Entity} failed handling a batch of {Count} {Message}; restarting it from its journal", Self, batch.Count, Entity.BatchKey(batch[0].Message).GetType().Name);
            foreach (var envelope in batch) envelope.Reply?.TrySetException(new EntityFailedException(Self, ex.Message, ex));
            Restart();
        }
        LastActivityMs = Environment.TickCount64;
        if (_passivateRequested)
        {
            _passivateRequested = false;
            return await TryStopAsync(force: false).ConfigureAwait(false);
        }
        return false;
    }

    private async ValueTask<bool> ActivateAsync(Envelope trigger)
    {
        Entity? entity = null;
        try
        {
            entity = Type.Factory(Runtime.Services);
            entity.Context = this;
            await entity.RecoverAsync(this, Runtime.Stopping).ConfigureAwait(false);
            await entity.ActivatedAsync().ConfigureAwait(false);
            _entity = entity;
            Runtime.Metrics.Activations.Increment();
            return true;
        }
        catch (Exception ex)
        {
            Logger.LogError(ex, "{Entity} could not be activated", Self);
            entity?.OnStopped();
            trigger.Reply?.TrySetException(new EntityFailedException(Self, "activation failed: " + ex.Message, ex));
            if (trigger.Kind == EnvelopeKind.Reminder)
                Runtime.Reminders.Failed(Self, (ReminderFired)trigger.Message);
            return false;
        }
    }

    private void Restart()
    {
        Runtime.Metrics.Restarts.Increment();
        CancelAll();
        _entity?.OnStopped();
        _entity = null;
    }

    private async ValueTask DeactivateAsync()
    {
        CancelAll();
        if (_entity is null) return;
        var entity = _entity;
        _entity = null;
        try
        {
            await entity.PassivatingAsync().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Logger.LogWarning(ex, "{Entity} threw while passivating", Self);
        }
        entity.OnStopped();
    }

    /// <summary>Passivation: leave only if nothing is waiting. A forced stop (shard hand-off) always leaves after draining.</summary>
    private async ValueTask<bool> TryStopAsync(bool force)
    {
        if (!force && _mailbox.Reader.Count > 0)
            return false;
        await DeactivateAsync().ConfigureAwait(false);
        if (force)
        {
            _mailbox.Writer.TryComplete();
            // Whatever was queued behind the stop signal is handled by nobody: fail it (callers may retry).
            FailRemaining(new ShardUnavailableException(Shard, "shard is moving"));
            return true;
        }
        return _shard.TryRemoveIdle(this, _mailbox);
    }

    /// <summary>The shard lease is gone: refuse everything at once (writes would be fenced anyway).</summary>
    public void Abort(string reason)
    {
        _abortReason = reason;
        _mailbox.Writer.TryComplete();
    }

    private volatile string? _abortReason;

    private void FailRemaining(Exception error)
    {
        while (_mailbox.Reader.TryRead(out var left))
        {
            left.Reply?.TrySetException(error);
            if (left.Kind == EnvelopeKind.Reminder)
                Runtime.Reminders.Failed(Self, (ReminderFired)left.Message);
        }
    }

    public void RequestPassivation() => _mailbox.Writer.TryWrite(new Envelope(PassivateSignal, EnvelopeKind.Passivate));

    /// <summary>Asks the loop to stop after everything queued so far; used by hand-off and shutdown. False if the mailbox is full.</summary>
    public bool RequestStop()
    {
        if (_mailbox.Writer.TryWrite(new Envelope(StopSignal, EnvelopeKind.Passivate))) return true;
        return false;
    }

    // ---- IEntityContext ----

    public bool Tell(EntityAddress to, object message) => Runtime.Tell(to, message);

    public void PipeToSelf<T>(Task<T> task, Func<T, object> onSuccess, Func<Exception, object> onFailure)
    {
        var self = Self;
        var runtime = Runtime;
        task.ContinueWith(t =>
        {
            object message;
            try
            {
                message = t.IsCompletedSuccessfully ? onSuccess(t.Result) : onFailure(t.Exception?.GetBaseException() ?? new TaskCanceledException());
            }
            catch (Exception ex)
            {
                message = onFailure(ex);
            }
            if (!runtime.Tell(self, message))
                runtime.EntityLogger.LogWarning("result piped to {Entity} was not accepted (mailbox full or shard unavailable)", self);
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    public Task SetReminderAsync(string name, DateTimeOffset dueAt) => Runtime.Reminders.SetAsync(Self, Shard, Epoch, name, dueAt);

    public Task CancelReminderAsync(string name) => Runtime.Reminders.CancelAsync(Self, Shard, Epoch, name);

    public void Passivate() => _passivateRequested = true;

    // ---- timers ----

    private sealed class TimerEntry(int generation, ITimer timer)
    {
        public readonly int Generation = generation;
        public readonly ITimer Timer = timer;
        public bool Periodic;
    }

    public void StartSingle(string key, object message, TimeSpan delay) => StartTimer(key, message, delay, periodic: false);

    public void StartPeriodic(string key, object message, TimeSpan interval) => StartTimer(key, message, interval, periodic: true);

    private void StartTimer(string key, object message, TimeSpan due, bool periodic)
    {
        Cancel(key);
        var generation = ++_timerGeneration;
        var writer = _mailbox.Writer;
        var timer = TimeProvider.System.CreateTimer(_ =>
        {
            writer.TryWrite(new Envelope(message, EnvelopeKind.Timer) { TimerKey = key, TimerGeneration = generation });
        }, null, due, periodic ? due : Timeout.InfiniteTimeSpan);
        (_timers ??= new())[key] = new TimerEntry(generation, timer) { Periodic = periodic };
    }

    private bool TimerStillValid(Envelope envelope)
    {
        if (_timers is null || !_timers.TryGetValue(envelope.TimerKey!, out var entry) || entry.Generation != envelope.TimerGeneration)
            return false;
        if (!entry.Periodic)
        {
            entry.Timer.Dispose();
            _timers.Remove(envelope.TimerKey!);
            if (_timers.Count == 0) _timers = null; // an idle entity keeps no empty timer table
        }
        return true;
    }

    public bool IsActive(string key) => _timers?.ContainsKey(key) == true;

    public void Cancel(string key)
    {
        if (_timers is not null && _timers.Remove(key, out var entry))
        {
            entry.Timer.Dispose();
            if (_timers.Count == 0) _timers = null;
        }
    }

    public void CancelAll()
    {
        if (_timers is null) return;
        foreach (var entry in _timers.Values) entry.Timer.Dispose();
        _timers.Clear();
    }
}
