using Microsoft.Extensions.Logging;

namespace OmgServers.Actors;

/// <summary>
/// An entity actor: one instance per (type, id) on the node that owns its shard, one message at a time.
/// <see cref="HandleAsync"/> returns the reply of an Ask (ignored for a Tell). Expected failures are reply values;
/// an exception fails the caller's Ask with <see cref="EntityFailedException"/> and restarts the entity
/// (a persistent one replays its journal before the next message).
/// Handlers must not block and should not await other entities: run slow work with
/// <see cref="IEntityContext.PipeToSelf{T}"/> and handle its result as a message.
/// </summary>
public abstract class Entity
{
    public IEntityContext Context { get; internal set; } = null!;

    /// <summary>Called once per activation, after recovery and before the first message.</summary>
    protected virtual Task OnActivateAsync() => Task.CompletedTask;

    /// <summary>Handles one message. The returned value is the Ask's reply.</summary>
    protected abstract ValueTask<object?> HandleAsync(object message);

    /// <summary>Called when the entity is passivated or its shard stops. Do not persist here.</summary>
    protected virtual Task OnPassivateAsync() => Task.CompletedTask;

    internal Task ActivatedAsync() => OnActivateAsync();
    internal Task PassivatingAsync() => OnPassivateAsync();

    internal virtual Task RecoverAsync(EntityCell cell, CancellationToken ct) => Task.CompletedTask;

    internal virtual async ValueTask<object?> InvokeAsync(Envelope envelope)
    {
        if (envelope.Message is ReliableDelivery delivery)
        {
            // A non-persistent receiver gets at-least-once delivery without de-duplication.
            await HandleAsync(delivery.Message);
            return new DeliveryConfirmed(delivery.Seq);
        }
        return await HandleAsync(envelope.Message);
    }

    /// <summary>
    /// Whether <paramref name="message"/> may be handled together with the messages of the same type queued behind it
    /// (<see cref="HandleBatchAsync"/>): one handler run, one write and one commit for all of them. Default: no.
    /// </summary>
    protected virtual bool Batches(object message) => false;

    /// <summary>
    /// Handles messages of one type that were queued together, in order, as one unit of work (the entity's state is
    /// not seen by anyone in between); returns one reply per message, in order. The default handles them one by one.
    /// A persistent entity writes what it persists here in one commit and replies only after it.
    /// </summary>
    protected virtual async ValueTask<IReadOnlyList<object?>> HandleBatchAsync(IReadOnlyList<object> messages)
    {
        var replies = new object?[messages.Count];
        for (var i = 0; i < messages.Count; i++) replies[i] = await HandleAsync(messages[i]);
        return replies;
    }

    internal virtual bool BatchesEnvelope(Envelope envelope) => Batches(BatchKey(envelope.Message));

    /// <summary>The message a batch is checked with: a reliable delivery's content.</summary>
    internal static object BatchKey(object message) => message is ReliableDelivery d ? d.Message : message;

    internal virtual async ValueTask<object?[]> InvokeBatchAsync(IReadOnlyList<Envelope> envelopes)
    {
        var replies = await HandleBatchAsync(envelopes.Select(e => BatchKey(e.Message)).ToList());
        return envelopes.Select((e, i) => e.Message is ReliableDelivery d ? new DeliveryConfirmed(d.Seq) : replies[i]).ToArray();
    }

    internal virtual void OnStopped() { }

    internal virtual bool CanPassivate => true;
}

/// <summary>What an entity can do besides changing its own state.</summary>
public interface IEntityContext
{
    EntityAddress Self { get; }
    string Id { get; }
    int Shard { get; }

    /// <summary>The fencing epoch of the shard lease this activation runs under.</summary>
    long Epoch { get; }

    ILogger Logger { get; }
    ActorRuntime Runtime { get; }
    ITimerScheduler Timers { get; }

    /// <summary>Fire-and-forget send. False when the message was not accepted (full mailbox, shard unavailable).</summary>
    bool Tell(EntityAddress to, object message);

    /// <summary>Runs no code on the mailbox: when <paramref name="task"/> ends, the mapped result arrives as a message to self.</summary>
    void PipeToSelf<T>(Task<T> task, Func<T, object> onSuccess, Func<Exception, object> onFailure);

    /// <summary>Sets (or moves) a durable reminder. When due, <see cref="ReminderFired"/> is delivered, activating the entity if needed,
    /// on whichever node owns the shard then, also after a crash. Delivered at least once; cancelled after a successful handling.</summary>
    Task SetReminderAsync(string name, DateTimeOffset dueAt);

    Task CancelReminderAsync(string name);

    /// <summary>Stops this entity after the current message (its mailbox, if not empty, reactivates it).</summary>
    void Passivate();
}

/// <summary>Delivered when a durable reminder falls due.</summary>
public sealed record ReminderFired(string Name, DateTimeOffset DueAt);

/// <summary>In-memory timers: lost on passivation, restart or crash. Use reminders for deadlines that must survive.</summary>
public interface ITimerScheduler
{
    void StartSingle(string key, object message, TimeSpan delay);
    void StartPeriodic(string key, object message, TimeSpan interval);
    bool IsActive(string key);
    void Cancel(string key);
    void CancelAll();
}

/// <summary>Wrapper of a message sent with at-least-once delivery (see <see cref="PersistentEntity{TState}.Deliver"/>).</summary>
public sealed record ReliableDelivery(string SenderKey, long Seq, object Message);

/// <summary>The receiver's confirmation of a <see cref="ReliableDelivery"/>: it is durable (or was a duplicate).</summary>
public sealed record DeliveryConfirmed(long Seq);

internal enum EnvelopeKind : byte { User, Timer, Reminder, Passivate }

internal sealed class Envelope(object message, EnvelopeKind kind)
{
    public readonly object Message = message;
    public readonly EnvelopeKind Kind = kind;
    public TaskCompletionSource<object?>? Reply;
    public long DeadlineMs;
    public CancellationToken Cancellation;
    public string? TimerKey;
    public int TimerGeneration;

    public bool Expired => Cancellation.IsCancellationRequested || (DeadlineMs != 0 && Environment.TickCount64 > DeadlineMs);
}
