namespace OmgServers.Actors;

/// <summary>Base of every failure the runtime reports to a caller. <see cref="Retryable"/> says whether sending again may succeed.</summary>
public abstract class ActorRuntimeException(string message, Exception? inner = null) : Exception(message, inner)
{
    public abstract bool Retryable { get; }
}

/// <summary>No reply came before the Ask's deadline. The message may or may not have been handled.</summary>
public sealed class AskTimeoutException(EntityAddress to, TimeSpan timeout)
    : ActorRuntimeException($"no reply from {to} within {timeout.TotalMilliseconds:0} ms")
{
    public override bool Retryable => true;
}

/// <summary>The entity's mailbox is full: the message was not accepted (it will never be handled).</summary>
public sealed class MailboxFullException(EntityAddress to, int capacity)
    : ActorRuntimeException($"mailbox of {to} is full ({capacity} messages)")
{
    public override bool Retryable => true;
}

/// <summary>The shard of the entity is not active on any reachable node right now (starting, moving, stopping).</summary>
public sealed class ShardUnavailableException(int shard, string reason)
    : ActorRuntimeException($"shard {shard} is unavailable: {reason}")
{
    public int Shard { get; } = shard;
    public override bool Retryable => true;
}

/// <summary>The entity threw while handling the message, or could not be activated. It restarts from its journal.</summary>
public sealed class EntityFailedException(EntityAddress entity, string message, Exception? inner)
    : ActorRuntimeException($"{entity} failed: {message}", inner)
{
    public EntityAddress Entity { get; } = entity;
    public override bool Retryable => false;
}

/// <summary>An entity type or message type that was never registered.</summary>
public sealed class UnknownEntityTypeException(string type)
    : ActorRuntimeException($"entity type '{type}' is not registered")
{
    public override bool Retryable => false;
}

/// <summary>
/// A journal write did not commit. <see cref="Conflict"/>: another writer already holds those sequence numbers
/// (a stale incarnation); <see cref="Fenced"/>: this node no longer holds the shard's lease at the write's epoch;
/// otherwise the outcome is unknown (connection lost mid-commit). In every case the entity restarts from the journal,
/// so it never answers from state that is not durable.
/// </summary>
public sealed class JournalWriteException(string message, bool conflict, bool fenced, Exception? inner = null)
    : ActorRuntimeException(message, inner)
{
    public bool Conflict { get; } = conflict;
    public bool Fenced { get; } = fenced;
    public override bool Retryable => true;
}
