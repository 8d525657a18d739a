using System.Threading.Channels;

namespace OmgServers.Actors;

internal enum ShardState { Active, Stopping, Stopped }

/// <summary>The entities of one shard on the node that holds its lease, under one fencing epoch.</summary>
internal sealed class LocalShard(ActorRuntime runtime, int id, long epoch)
{
    private readonly object _gate = new();
    private readonly Dictionary<EntityAddress, EntityCell> _cells = new();

    public ActorRuntime Runtime { get; } = runtime;
    public int Id { get; } = id;
    public long Epoch { get; } = epoch;
    public volatile ShardState State = ShardState.Active;

    /// <summary>Until when (Environment.TickCount64) the lease is surely still ours: last renewal start + 90% of the TTL.
    /// Past it (a long GC pause, SIGSTOP, a database outage) the shard serves nothing until a renewal succeeds.</summary>
    public long ValidUntilMs = long.MaxValue;

    public bool IsValid => Environment.TickCount64 < Volatile.Read(ref ValidUntilMs);

    public int Count { get { lock (_gate) return _cells.Count; } }

    /// <summary>Puts the envelope into the entity's mailbox, creating the entity's cell if needed.</summary>
    public void Enqueue(EntityType type, string id, Envelope envelope)
    {
        var address = new EntityAddress(type.Name, id);
        lock (_gate)
        {
            if (State != ShardState.Active)
                throw new ShardUnavailableException(Id, "shard is stopping on this node");
            if (!IsValid)
                throw new ShardUnavailableException(Id, "lease not renewed in time on this node");
            if (!_cells.TryGetValue(address, out var cell))
            {
                cell = new EntityCell(this, type, id, type.MailboxCapacity ?? Runtime.Options.MailboxCapacity);
                _cells.Add(address, cell);
            }
            if (!cell.TryEnqueue(envelope))
            {
                Runtime.Metrics.MailboxRejections.Increment();
                throw new MailboxFullException(address, cell.Capacity);
            }
        }
    }

    /// <summary>Removes an idle cell unless a message slipped in meanwhile; completes its mailbox under the same lock senders use.</summary>
    public bool TryRemoveIdle(EntityCell cell, Channel<Envelope> mailbox)
    {
        lock (_gate)
        {
            if (mailbox.Reader.Count > 0) return false;
            mailbox.Writer.TryComplete();
            if (_cells.TryGetValue(cell.Self, out var current) && ReferenceEquals(current, cell))
                _cells.Remove(cell.Self);
            Runtime.Metrics.Passivations.Increment();
            return true;
        }
    }

    public void Forget(EntityCell cell)
    {
        lock (_gate)
        {
            if (_cells.TryGetValue(cell.Self, out var current) && ReferenceEquals(current, cell))
                _cells.Remove(cell.Self);
        }
    }

    public EntityCell[] Cells()
    {
        lock (_gate) return _cells.Values.ToArray();
    }

    /// <summary>Hand-off: refuse new messages, let every mailbox drain, stop every entity.</summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        EntityCell[] cells;
        lock (_gate)
        {
            State = ShardState.Stopping;
            cells = _cells.Values.ToArray();
        }
        foreach (var cell in cells)
            if (!cell.RequestStop()) cell.Abort("shard is moving");
        var all = Task.WhenAll(cells.Select(c => c.Stopped));
        if (await Task.WhenAny(all, Task.Delay(timeout)).ConfigureAwait(false) != all)
            foreach (var cell in cells) cell.Abort("shard stop timed out");
        await all.ConfigureAwait(false);
        State = ShardState.Stopped;
    }

    /// <summary>The lease is lost: refuse and fail everything now.</summary>
    public void Abort(string reason)
    {
        EntityCell[] cells;
        lock (_gate)
        {
            State = ShardState.Stopped;
            cells = _cells.Values.ToArray();
        }
        foreach (var cell in cells) cell.Abort(reason);
    }
}
