using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;

namespace OmgServers.Actors.Persistence;

/// <summary>One entity's atomic append: its events, numbered from <see cref="FirstSeq"/>, under a shard lease epoch.</summary>
internal sealed class JournalWrite(string persistenceId, int shard, long epoch, long firstSeq, string[] manifests, byte[][] payloads)
{
    public readonly string PersistenceId = persistenceId;
    public readonly int Shard = shard;
    public readonly long Epoch = epoch;
    public readonly long FirstSeq = firstSeq;
    public readonly string[] Manifests = manifests;
    public readonly byte[][] Payloads = payloads;
    public readonly TaskCompletionSource Done = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>
/// The event journal. Appends from all entities go through one queue; a few writers drain it in group commits:
/// one INSERT of many rows (unnest of arrays) and one commit per batch, so throughput grows with load while an idle
/// system still writes each event at once. Every batch is fenced: rows are inserted only for shards whose lease this
/// node holds at the write's epoch. The statement key-share-locks those lease rows (in shard order): a take-over
/// locks them FOR UPDATE and so waits for the batch to commit, while the owner's own renewals (non-key updates)
/// never conflict with its writes.
/// The (persistence_id, sequence_nr) key refuses a stale writer; a conflicting batch is retried one entity at a time
/// so only the stale entity fails. A write completes only after its commit returned: replies come after durability.
/// </summary>
internal sealed class Journal
{
    private readonly NpgsqlDataSource _db;
    private readonly string _owner;
    private readonly int _maxBatchEvents;
    private readonly ILogger _log;
    private readonly Channel<JournalWrite> _queue = Channel.CreateUnbounded<JournalWrite>(new UnboundedChannelOptions { SingleReader = false, SingleWriter = false });
    private readonly Task[] _writers;
    private readonly string _appendSql;
    private readonly string _snapshotSql;
    private readonly string _recoverSql;
    private readonly string _deleteSql;
    private readonly Action<int, long> _onFenced;
    private readonly RuntimeMetrics _metrics;

    public Journal(NpgsqlDataSource db, string schema, string owner, int maxBatchEvents, int writers, ILogger log, RuntimeMetrics metrics, Action<int, long> onFenced)
    {
        _db = db;
        _owner = owner;
        _maxBatchEvents = maxBatchEvents;
        _log = log;
        _metrics = metrics;
        _onFenced = onFenced;
        _appendSql = $"""
            WITH fence AS (
                SELECT l.shard, l.epoch FROM {schema}.shard_leases l
                JOIN unnest($7::int[], $8::bigint[]) AS w(shard, epoch) ON l.shard = w.shard AND l.epoch = w.epoch
                WHERE l.owner = $9 AND l.expires_at > clock_timestamp()
                ORDER BY l.shard
                FOR KEY SHARE OF l),
            ins AS (
                INSERT INTO {schema}.journal (persistence_id, sequence_nr, shard, epoch, manifest, payload)
                SELECT t.pid, t.seq, t.shard, t.epoch, t.manifest, t.payload
                FROM unnest($1::text[], $2::bigint[], $3::int[], $4::bigint[], $5::text[], $6::bytea[]) AS t(pid, seq, shard, epoch, manifest, payload)
                WHERE (t.shard, t.epoch) IN (SELECT shard, epoch FROM fence))
            SELECT shard, epoch FROM fence
            """;
        _snapshotSql = $"""
            INSERT INTO {schema}.snapshots (persistence_id, sequence_nr, manifest, payload) VALUES ($1, $2, $3, $4)
            ON CONFLICT (persistence_id) DO UPDATE SET sequence_nr = excluded.sequence_nr, manifest = excluded.manifest, payload = excluded.payload, written_at = now()
            WHERE {schema}.snapshots.sequence_nr < excluded.sequence_nr
            """;
        // Recovery in one round trip: the snapshot (if any) first, then the journal tail after it.
        _recoverSql = $"""
            WITH s AS (SELECT sequence_nr, manifest, payload FROM {schema}.snapshots WHERE persistence_id = $1)
            SELECT 1 AS part, sequence_nr, manifest, payload FROM s
            UNION ALL
            SELECT 2, j.sequence_nr, j.manifest, j.payload FROM {schema}.journal j
            WHERE j.persistence_id = $1 AND j.sequence_nr > coalesce((SELECT sequence_nr FROM s), 0)
            ORDER BY part, sequence_nr
            """;
        _deleteSql = $"""
            WITH fence AS (
                SELECT l.shard FROM {schema}.shard_leases l
                WHERE l.shard = $2 AND l.epoch = $3 AND l.owner = $4 AND l.expires_at > clock_timestamp()
                FOR KEY SHARE OF l),
            j AS (DELETE FROM {schema}.journal WHERE persistence_id = $1 AND EXISTS (SELECT 1 FROM fence)),
            s AS (DELETE FROM {schema}.snapshots WHERE persistence_id = $1 AND EXISTS (SELECT 1 FROM fence)),
            r AS (DELETE FROM {schema}.reminders WHERE entity_type = $5 AND entity_id = $6 AND EXISTS (SELECT 1 FROM fence))
            SELECT count(*) FROM fence
            """;
        _writers = Enumerable.Range(0, writers).Select(_ => Task.Run(WriterLoopAsync)).ToArray();
    }

    public Task AppendAsync(JournalWrite write)
    {
        if (!_queue.Writer.TryWrite(write))
            write.Done.TrySetException(new JournalWriteException("the journal is stopped", conflict: false, fenced: false));
        return write.Done.Task;
    }

    /// <summary>Writes everything queued, then stops the writers.</summary>
    public async Task FlushAndStopAsync()
    {
        _queue.Writer.TryComplete();
        await Task.WhenAll(_writers).ConfigureAwait(false);
    }

    private async Task WriterLoopAsync()
    {
        var batch = new List<JournalWrite>();
        var reader = _queue.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            var events = 0;
            while (events < _maxBatchEvents && reader.TryRead(out var write))
            {
                batch.Add(write);
                events += write.Payloads.Length;
            }
            if (batch.Count == 0) continue;
            await WriteBatchAsync(batch, events).ConfigureAwait(false);
        }
    }

    private async Task WriteBatchAsync(List<JournalWrite> batch, int events, int attempt = 1)
    {
        try
        {
            var accepted = await ExecuteAppendAsync(batch, events).ConfigureAwait(false);
            _metrics.JournalBatches.Increment();
            _metrics.JournalEvents.Add(events);
            foreach (var write in batch)
            {
                if (accepted.Contains((write.Shard, write.Epoch)))
                {
                    write.Done.TrySetResult();
                }
                else
                {
                    _onFenced(write.Shard, write.Epoch);
                    write.Done.TrySetException(new JournalWriteException($"write to {write.PersistenceId} refused: this node no longer holds shard {write.Shard} at epoch {write.Epoch}", conflict: false, fenced: true));
                }
            }
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation && batch.Count > 1)
        {
            // Some entity in the batch is stale. Retry each entity alone so that only the stale one fails.
            foreach (var write in batch)
                await WriteBatchAsync([write], write.Payloads.Length).ConfigureAwait(false);
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            var write = batch[0];
            _metrics.JournalConflicts.Increment();
            write.Done.TrySetException(new JournalWriteException($"write to {write.PersistenceId} from sequence number {write.FirstSeq} conflicts with events already in the journal (a stale writer)", conflict: true, fenced: false, ex));
        }
        catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.SerializationFailure && attempt < 3)
        {
            // Rolled back by the server: nothing was written, so the batch can simply go again.
            _log.LogDebug("journal batch hit {State}; retrying", ex.SqlState);
            await WriteBatchAsync(batch, events, attempt + 1).ConfigureAwait(false);
        }
        catch (PostgresException ex)
        {
            // The server refused the statement: it was rolled back, nothing of the batch is in the journal.
            _log.LogError(ex, "journal batch of {Events} events refused by PostgreSQL", events);
            foreach (var write in batch)
                write.Done.TrySetException(new JournalWriteException($"write to {write.PersistenceId} refused by the database: {ex.SqlState} {ex.MessageText}", conflict: false, fenced: false, ex));
        }
        catch (Exception ex)
        {
            // Connection lost, timeout, server gone: the commit may or may not have happened. Callers restart from the journal.
            _log.LogError(ex, "journal batch of {Events} events failed; outcome unknown", events);
            foreach (var write in batch)
                write.Done.TrySetException(new JournalWriteException($"write to {write.PersistenceId} failed, outcome unknown: {ex.Message}", conflict: false, fenced: false, ex));
        }
    }

    private async Task<HashSet<(int, long)>> ExecuteAppendAsync(List<JournalWrite> batch, int events)
    {
        var pids = new string[events];
        var seqs = new long[events];
        var shards = new int[events];
        var epochs = new long[events];
        var manifests = new string[events];
        var payloads = new byte[events][];
        var fences = new HashSet<(int Shard, long Epoch)>();
        var i = 0;
        foreach (var write in batch)
        {
            for (var k = 0; k < write.Payloads.Length; k++, i++)
            {
                pids[i] = write.PersistenceId;
                seqs[i] = write.FirstSeq + k;
                shards[i] = write.Shard;
                epochs[i] = write.Epoch;
                manifests[i] = write.Manifests[k];
                payloads[i] = write.Payloads[k];
            }
            fences.Add((write.Shard, write.Epoch));
        }

        await using var cmd = _db.CreateCommand(_appendSql);
        cmd.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = pids, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        cmd.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = seqs, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        cmd.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = shards, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Integer });
        cmd.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = epochs, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        cmd.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = manifests, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        cmd.Parameters.Add(new NpgsqlParameter<byte[][]> { TypedValue = payloads, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bytea });
        cmd.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = fences.Select(f => f.Shard).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Integer });
        cmd.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = fences.Select(f => f.Epoch).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _owner, NpgsqlDbType = NpgsqlDbType.Text });

        var accepted = new HashSet<(int, long)>();
        await using var reader = await cmd.ExecuteReaderAsync().ConfigureAwait(false);
        while (await reader.ReadAsync().ConfigureAwait(false))
            accepted.Add((reader.GetInt32(0), reader.GetInt64(1)));
        return accepted;
    }

    /// <summary>Reads the latest snapshot (passed to <paramref name="onSnapshot"/>) and the events after it, in one round trip.</summary>
    public async Task RecoverAsync(string persistenceId, Action<long, string, byte[]> onSnapshot, Action<long, string, byte[]> onEvent, CancellationToken ct)
    {
        await using var cmd = _db.CreateCommand(_recoverSql);
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = persistenceId });
        await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            var seq = reader.GetInt64(1);
            var manifest = reader.GetString(2);
            var payload = reader.GetFieldValue<byte[]>(3);
            if (reader.GetInt32(0) == 1) onSnapshot(seq, manifest, payload);
            else onEvent(seq, manifest, payload);
        }
    }

    public async Task SaveSnapshotAsync(string persistenceId, long sequenceNr, string manifest, byte[] payload)
    {
        await using var cmd = _db.CreateCommand(_snapshotSql);
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = persistenceId });
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = sequenceNr });
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = manifest });
        cmd.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = payload });
        await cmd.ExecuteNonQueryAsync().ConfigureAwait(false);
        _metrics.Snapshots.Increment();
    }

    /// <summary>Deletes an entity's journal, snapshot and reminders, fenced like an append.</summary>
    public async Task DeleteAsync(EntityAddress address, string persistenceId, int shard, long epoch)
    {
        await using var cmd = _db.CreateCommand(_deleteSql);
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = persistenceId });
        cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = shard });
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = epoch });
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _owner });
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = address.Type });
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = address.Id });
        var fenced = Convert.ToInt64(await cmd.ExecuteScalarAsync().ConfigureAwait(false)) == 0;
        if (fenced)
        {
            _onFenced(shard, epoch);
            throw new JournalWriteException($"delete of {persistenceId} refused: this node no longer holds shard {shard} at epoch {epoch}", conflict: false, fenced: true);
        }
    }
}
