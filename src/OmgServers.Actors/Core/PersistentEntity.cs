using System.Text.Json;
using OmgServers.Actors.Persistence;

namespace OmgServers.Actors;

/// <summary>
/// An event-sourced entity: <see cref="State"/> is the fold of its journal by the pure <see cref="Apply"/>.
/// A handler decides, then calls <see cref="PersistAsync(object)"/>; the events are applied only after their
/// group commit returned, so whatever the handler replies afterwards is durable. On activation the entity
/// recovers from its latest snapshot plus the journal tail. A failed write (stale writer, lost lease, unknown
/// outcome) fails the handler and the entity restarts from the journal.
///
/// Reliable delivery: <see cref="Deliver"/> writes the message into the entity's outbox atomically with the
/// handler's events, then sends it until the receiver confirms (at least once, in order per receiver). A persistent
/// receiver records each delivery's sequence number atomically with the events it wrote while handling it and
/// confirms duplicates without handling them again, so the pair gives effectively-once processing.
/// </summary>
public abstract class PersistentEntity<TState> : Entity where TState : class
{
    private const string OutboxReminder = "omg.actors.outbox";
    private const string RedeliverTimer = "omg.actors.redeliver";
    private const string ConfirmationsTimer = "omg.actors.confirmations";

    private EntityCell _cell = null!;
    private string _persistenceId = null!;
    private JsonSerializerOptions _json = null!;
    private TypeNames _names = null!;
    private long _snapshotSeq;
    private volatile bool _snapshotInFlight;
    // Allocated on first use: most entities never take part in reliable delivery, and every live entity costs memory.
    private Dictionary<string, long>? _inboxOrNull;
    private SortedDictionary<long, OutboxEnqueued>? _outboxOrNull;
    private Dictionary<string, long>? _sentAtMsOrNull;
    private Dictionary<string, long> _inbox => _inboxOrNull ??= new(StringComparer.Ordinal);
    private SortedDictionary<long, OutboxEnqueued> _outbox => _outboxOrNull ??= new();
    private Dictionary<string, long> _sentAtMs => _sentAtMsOrNull ??= new(StringComparer.Ordinal);
    private int OutboxCount => _outboxOrNull?.Count ?? 0;
    private static readonly TimeSpan ConfirmationsDelay = TimeSpan.FromMilliseconds(50);
    private long _nextDeliverySeq = 1;
    private List<object>? _pendingInternal;
    // Confirmations already applied in memory, written with the next persist (or by a short timer): a confirmation
    // lost in a crash only makes the message go out again, and receivers drop duplicates.
    private List<long>? _unwrittenConfirmations;
    private bool _deferred;
    private (string Sender, long Seq)? _currentDelivery;
    private bool _outboxReminderArmed;
    private bool _stopped;

    protected TState State { get; private set; } = null!;

    /// <summary>Sequence number of the last event applied (0 for a new entity).</summary>
    protected long LastSequenceNr { get; private set; }

    protected abstract TState CreateInitialState();

    /// <summary>Folds one event into the state. Pure: no clock, no I/O, no randomness (it runs again at every replay).</summary>
    protected abstract TState Apply(TState state, object @event);

    protected Task PersistAsync(object @event) => PersistAsync([@event]);

    /// <summary>Appends the events atomically (with any pending outbox entries), waits for the commit, then applies them.</summary>
    protected async Task PersistAsync(IReadOnlyList<object> events)
    {
        if (_stopped) throw new InvalidOperationException($"{Context.Self} persisted after it stopped");
        var all = new List<object>(events.Count + 2);
        if (_currentDelivery is { } delivery) all.Add(new InboxMarked(delivery.Sender, delivery.Seq));
        if (_pendingInternal is { Count: > 0 }) all.AddRange(_pendingInternal);
        var confirmations = _unwrittenConfirmations is { Count: > 0 } ? _unwrittenConfirmations.Count : 0;
        for (var i = 0; i < confirmations; i++) all.Add(new OutboxConfirmed(_unwrittenConfirmations![i]));
        all.AddRange(events);
        if (all.Count == 0) return;

        var manifests = new string[all.Count];
        var payloads = new byte[all.Count][];
        for (var i = 0; i < all.Count; i++)
        {
            var type = all[i].GetType();
            manifests[i] = _names.NameOf(type);
            payloads[i] = JsonSerializer.SerializeToUtf8Bytes(all[i], type, _json);
        }

        var outboxWasEmpty = OutboxCount == 0;
        await Context.Runtime.Journal.AppendAsync(new JournalWrite(_persistenceId, _cell.Shard, _cell.Epoch, LastSequenceNr + 1, manifests, payloads)).ConfigureAwait(false);

        foreach (var evt in all)
        {
            ApplyAny(evt);
            LastSequenceNr++;
        }
        _currentDelivery = null;
        _pendingInternal?.Clear();
        if (_unwrittenConfirmations is not null)
        {
            _unwrittenConfirmations.RemoveRange(0, confirmations);
            if (_unwrittenConfirmations.Count == 0) _unwrittenConfirmations = null;
        }
        MaybeSnapshot();

        if (OutboxCount > 0)
        {
            if (outboxWasEmpty || !_outboxReminderArmed) await ArmOutboxReminderAsync().ConfigureAwait(false);
            SendPending();
        }
    }

    /// <summary>
    /// Sends <paramref name="message"/> to <paramref name="target"/> at least once: it is stored with the next persist of
    /// this handler (or at its end) and sent again until the target confirms. Register the message type with Message&lt;T&gt;.
    /// </summary>
    protected void Deliver(EntityAddress target, object message)
    {
        var manifest = _names.NameOf(message.GetType());
        var element = JsonSerializer.SerializeToElement(message, message.GetType(), _json);
        (_pendingInternal ??= new()).Add(new OutboxEnqueued(_nextDeliverySeq++, target.Type, target.Id, manifest, element));
    }

    /// <summary>
    /// Called while handling a reliably delivered message: the message is not taken now (for example the entity is not
    /// ready for it yet). Nothing the handler persisted counts as its receipt, no confirmation is sent, and the sender
    /// delivers it again after its redelivery interval. The handler must not have changed state because of it.
    /// </summary>
    protected void DeferDelivery() => _deferred = true;

    /// <summary>
    /// Whether a reliably delivered message is recorded in the receiver's inbox (one entry per sender, kept for good) to
    /// drop its duplicates. Return false for messages whose handling is idempotent by the entity's own state and that
    /// come from many short-lived senders: a redelivery only ever repeats a sender's latest message (one is in flight
    /// per receiver), so such a handler sees at most that message again.
    /// </summary>
    protected virtual bool RecordsDelivery(object message) => true;

    /// <summary>Number of deliveries not yet confirmed.</summary>
    protected int UnconfirmedDeliveries => OutboxCount;

    /// <summary>Deletes this entity's journal, snapshot and reminders, resets it to the initial state and passivates it.</summary>
    protected async Task DeleteAsync()
    {
        await Context.Runtime.Journal.DeleteAsync(Context.Self, _persistenceId, _cell.Shard, _cell.Epoch).ConfigureAwait(false);
        State = CreateInitialState();
        LastSequenceNr = 0;
        _snapshotSeq = 0;
        _inboxOrNull?.Clear();
        _outboxOrNull?.Clear();
        _pendingInternal?.Clear();
        _unwrittenConfirmations?.Clear();
        _currentDelivery = null;
        Context.Passivate();
    }

    internal override bool CanPassivate => OutboxCount == 0 && (_unwrittenConfirmations?.Count ?? 0) == 0;

    internal override async Task RecoverAsync(EntityCell cell, CancellationToken ct)
    {
        _cell = cell;
        _persistenceId = cell.Type.PersistenceIdOf(cell.Id);
        _json = cell.Runtime.Json;
        _names = cell.Runtime.Registry.Names;
        State = CreateInitialState();

        await cell.Runtime.Journal.RecoverAsync(_persistenceId,
            (seq, _, payload) =>
            {
                var envelope = JsonSerializer.Deserialize<SnapshotEnvelope>(payload, _json)!;
                State = envelope.State.Deserialize<TState>(_json)!;
                _nextDeliverySeq = envelope.NextDeliverySeq;
                foreach (var entry in envelope.Outbox) _outbox[entry.Seq] = entry;
                foreach (var (sender, delivered) in envelope.Inbox) _inbox[sender] = delivered;
                LastSequenceNr = _snapshotSeq = seq;
            },
            (seq, manifest, payload) =>
            {
                var evt = JsonSerializer.Deserialize(payload, _names.TypeOf(manifest), _json)
                          ?? throw new InvalidOperationException($"event {seq} of {_persistenceId} deserialized to null");
                ApplyAny(evt);
                LastSequenceNr = seq;
            }, ct).ConfigureAwait(false);

        if (OutboxCount > 0)
        {
            Context.Timers.StartPeriodic(RedeliverTimer, RedeliverTick.Instance, Context.Runtime.Options.RedeliveryInterval);
            SendPending();
        }
    }

    internal override async ValueTask<object?> InvokeAsync(Envelope envelope)
    {
        switch (envelope.Message)
        {
            case DeliveryOutcome outcome:
                await OnDeliveryOutcomeAsync(outcome).ConfigureAwait(false);
                return null;
            case RedeliverTick:
                SendPending();
                return null;
            case ReminderFired { Name: OutboxReminder }:
                _outboxReminderArmed = false;
                if (OutboxCount > 0)
                {
                    await ArmOutboxReminderAsync().ConfigureAwait(false);
                    SendPending();
                }
                return null;
            case ReliableDelivery delivery:
                if (_inboxOrNull is not null && _inboxOrNull.TryGetValue(delivery.SenderKey, out var highest) && delivery.Seq <= highest)
                    return new DeliveryConfirmed(delivery.Seq);
                _currentDelivery = RecordsDelivery(delivery.Message) ? (delivery.SenderKey, delivery.Seq) : null;
                _deferred = false;
                try
                {
                    await HandleAsync(delivery.Message).ConfigureAwait(false);
                    if (_deferred) _currentDelivery = null;
                    await FlushPendingAsync().ConfigureAwait(false);
                }
                finally
                {
                    _currentDelivery = null;
                }
                if (_deferred)
                {
                    _deferred = false;
                    return null;
                }
                return new DeliveryConfirmed(delivery.Seq);
            case FlushConfirmations:
                if (_unwrittenConfirmations is { Count: > 0 }) await PersistAsync([]).ConfigureAwait(false);
                return null;
            default:
                var result = await HandleAsync(envelope.Message).ConfigureAwait(false);
                await FlushPendingAsync().ConfigureAwait(false);
                return result;
        }
    }

    /// <summary>A batch handler's reply for a reliably delivered message it does not take now (see <see cref="DeferDelivery"/>).</summary>
    protected static readonly object NotTakenNow = new();

    internal override async ValueTask<object?[]> InvokeBatchAsync(IReadOnlyList<Envelope> envelopes)
    {
        // Only messages that leave no inbox entry are batched (see Batches below), so receipts need no marks here;
        // duplicates that the inbox does know are answered at once.
        var replies = new object?[envelopes.Count];
        var taken = new List<int>(envelopes.Count);
        foreach (var (envelope, i) in envelopes.Select((e, i) => (e, i)))
        {
            if (envelope.Message is ReliableDelivery d && _inboxOrNull is not null && _inboxOrNull.TryGetValue(d.SenderKey, out var highest) && d.Seq <= highest)
                replies[i] = new DeliveryConfirmed(d.Seq);
            else
                taken.Add(i);
        }
        if (taken.Count == 0) return replies;
        _currentDelivery = null;
        var results = await HandleBatchAsync(taken.Select(i => BatchKey(envelopes[i].Message)).ToList()).ConfigureAwait(false);
        await FlushPendingAsync().ConfigureAwait(false);
        for (var k = 0; k < taken.Count; k++)
        {
            var i = taken[k];
            replies[i] = envelopes[i].Message is ReliableDelivery d
                ? (ReferenceEquals(results[k], NotTakenNow) ? null : new DeliveryConfirmed(d.Seq))
                : results[k];
        }
        return replies;
    }

    /// <summary>A persistent entity batches only messages whose reliable delivery leaves no inbox entry.</summary>
    internal override bool BatchesEnvelope(Envelope envelope) =>
        Batches(BatchKey(envelope.Message)) && (envelope.Message is not ReliableDelivery d || !RecordsDelivery(d.Message));

    internal override void OnStopped() => _stopped = true;

    private Task FlushPendingAsync() =>
        _currentDelivery is not null || _pendingInternal is { Count: > 0 } ? PersistAsync([]) : Task.CompletedTask;

    private void ApplyAny(object evt)
    {
        switch (evt)
        {
            case InboxMarked marked:
                _inbox[marked.Sender] = Math.Max(marked.Seq, _inbox.GetValueOrDefault(marked.Sender));
                break;
            case OutboxEnqueued enqueued:
                _outbox[enqueued.Seq] = enqueued;
                _nextDeliverySeq = Math.Max(_nextDeliverySeq, enqueued.Seq + 1);
                break;
            case OutboxConfirmed confirmed:
                _outbox.Remove(confirmed.Seq);
                break;
            default:
                State = Apply(State, evt);
                break;
        }
    }

    private async Task ArmOutboxReminderAsync()
    {
        var options = Context.Runtime.Options;
        await Context.SetReminderAsync(OutboxReminder, DateTimeOffset.UtcNow + options.RedeliveryInterval * 3).ConfigureAwait(false);
        _outboxReminderArmed = true;
        if (!Context.Timers.IsActive(RedeliverTimer))
            Context.Timers.StartPeriodic(RedeliverTimer, RedeliverTick.Instance, options.RedeliveryInterval);
    }

    /// <summary>Sends the oldest unconfirmed delivery of every receiver that has none in flight.</summary>
    private void SendPending()
    {
        if (OutboxCount == 0) return;
        var runtime = Context.Runtime;
        var interval = runtime.Options.RedeliveryInterval;
        var now = Environment.TickCount64;
        var heads = new HashSet<string>(StringComparer.Ordinal);
        var senderKey = Context.Self.ToString();
        foreach (var entry in _outbox.Values)
        {
            var targetKey = entry.TargetType + "/" + entry.TargetId;
            if (!heads.Add(targetKey)) continue;
            if (_sentAtMs.TryGetValue(targetKey, out var sentAt) && now - sentAt < (long)(interval.TotalMilliseconds * 2)) continue;
            if (sentAt != 0) runtime.Metrics.Redeliveries.Increment();
            _sentAtMs[targetKey] = now;
            var message = JsonSerializer.Deserialize(entry.Message, _names.TypeOf(entry.Manifest), _json)!;
            var seq = entry.Seq;
            var ask = runtime.AskAsync<object?>(new EntityAddress(entry.TargetType, entry.TargetId), new ReliableDelivery(senderKey, seq, message), interval, runtime.Stopping);
            Context.PipeToSelf(ask,
                reply => new DeliveryOutcome(seq, targetKey, reply is DeliveryConfirmed c && c.Seq == seq),
                _ => new DeliveryOutcome(seq, targetKey, false));
        }
    }

    private Task OnDeliveryOutcomeAsync(DeliveryOutcome outcome)
    {
        _sentAtMs.Remove(outcome.TargetKey);
        if (outcome.Confirmed && _outbox.Remove(outcome.Seq))
        {
            (_unwrittenConfirmations ??= new()).Add(outcome.Seq);
            if (!Context.Timers.IsActive(ConfirmationsTimer))
                Context.Timers.StartSingle(ConfirmationsTimer, FlushConfirmations.Instance, ConfirmationsDelay);
        }
        if (OutboxCount == 0)
        {
            Context.Timers.Cancel(RedeliverTimer);
            // Most entities deliver now and then: an idle one keeps no empty bookkeeping (memory per live entity).
            _outboxOrNull = null;
            _sentAtMsOrNull = null;
        }
        else if (outcome.Confirmed)
            SendPending();
        return Task.CompletedTask;
    }

    private void MaybeSnapshot()
    {
        var every = _cell.Type.SnapshotEvery ?? Context.Runtime.Options.SnapshotEvery;
        if (every <= 0 || _snapshotInFlight || LastSequenceNr - Interlocked.Read(ref _snapshotSeq) < every) return;
        var envelope = new SnapshotEnvelope(
            JsonSerializer.SerializeToElement(State, _json),
            _nextDeliverySeq,
            _outboxOrNull?.Values.ToList() ?? [],
            _inboxOrNull is null ? [] : new Dictionary<string, long>(_inboxOrNull));
        var payload = JsonSerializer.SerializeToUtf8Bytes(envelope, _json);
        var seq = LastSequenceNr;
        _snapshotInFlight = true;
        _ = SaveSnapshotAsync(seq, payload);
    }

    private async Task SaveSnapshotAsync(long seq, byte[] payload)
    {
        try
        {
            await Context.Runtime.Journal.SaveSnapshotAsync(_persistenceId, seq, SnapshotEnvelope.Manifest, payload).ConfigureAwait(false);
            Interlocked.Exchange(ref _snapshotSeq, seq);
        }
        catch (Exception ex)
        {
            Context.Runtime.EntityLogger.LogSnapshotFailed(ex, Context.Self);
        }
        finally
        {
            _snapshotInFlight = false;
        }
    }
}

internal sealed record InboxMarked(string Sender, long Seq);

internal sealed record OutboxEnqueued(long Seq, string TargetType, string TargetId, string Manifest, JsonElement Message);

internal sealed record OutboxConfirmed(long Seq);

internal sealed record DeliveryOutcome(long Seq, string TargetKey, bool Confirmed);

internal sealed class FlushConfirmations
{
    public static readonly FlushConfirmations Instance = new();
}

internal sealed class RedeliverTick
{
    public static readonly RedeliverTick Instance = new();
}

internal sealed record SnapshotEnvelope(JsonElement State, long NextDeliverySeq, List<OutboxEnqueued> Outbox, Dictionary<string, long> Inbox)
{
    public const string Manifest = "omg.actors.snapshot";
}
