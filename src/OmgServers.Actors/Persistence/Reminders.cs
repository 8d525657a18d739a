using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;

namespace OmgServers.Actors.Persistence;

/// <summary>
/// Durable one-shot reminders (the Orleans model). A reminder row names an entity and a due time; whichever node owns
/// the entity's shard polls for due rows and delivers <see cref="ReminderFired"/>, activating the entity. The row is
/// deleted after a successful handling (only if it was not moved meanwhile), so a crash in between fires it again:
/// at least once. Writes are fenced by the shard lease like journal appends.
/// </summary>
internal sealed class Reminders
{
    private readonly NpgsqlDataSource _db;
    private readonly ActorRuntime _runtime;
    private readonly ILogger _log;
    private readonly string _setSql;
    private readonly string _cancelSql;
    private readonly string _dueSql;
    private readonly string _doneSql;
    private readonly ConcurrentDictionary<(EntityAddress, string), DateTimeOffset> _inFlight = new();

    public Reminders(NpgsqlDataSource db, string schema, ActorRuntime runtime, ILogger log)
    {
        _db = db;
        _runtime = runtime;
        _log = log;
        const string fence = """
            WITH fence AS (
                SELECT 1 FROM {0}.shard_leases l
                WHERE l.shard = $4 AND l.epoch = $5 AND l.owner = $6 AND l.expires_at > clock_timestamp()
                FOR KEY SHARE OF l)
            """;
        _setSql = string.Format(fence, schema) + $"""
            , up AS (
                INSERT INTO {schema}.reminders (entity_type, entity_id, name, shard, due_at)
                SELECT $1, $2, $3, $4, $7 WHERE EXISTS (SELECT 1 FROM fence)
                ON CONFLICT (entity_type, entity_id, name) DO UPDATE SET due_at = excluded.due_at, shard = excluded.shard)
            SELECT count(*) FROM fence
            """;
        _cancelSql = string.Format(fence, schema) + $"""
            , del AS (
                DELETE FROM {schema}.reminders WHERE entity_type = $1 AND entity_id = $2 AND name = $3 AND EXISTS (SELECT 1 FROM fence))
            SELECT count(*) FROM fence
            """;
        _dueSql = $"SELECT entity_type, entity_id, name, due_at FROM {schema}.reminders WHERE shard = ANY($1) AND due_at <= clock_timestamp() ORDER BY due_at LIMIT 1000";
        _doneSql = $"DELETE FROM {schema}.reminders WHERE entity_type = $1 AND entity_id = $2 AND name = $3 AND due_at = $4";
    }

    public int InFlight => _inFlight.Count;

    public Task SetAsync(EntityAddress entity, int shard, long epoch, string name, DateTimeOffset dueAt) =>
        FencedAsync(_setSql, entity, shard, epoch, name, dueAt);

    public Task CancelAsync(EntityAddress entity, int shard, long epoch, string name) =>
        FencedAsync(_cancelSql, entity, shard, epoch, name, null);

    private async Task FencedAsync(string sql, EntityAddress entity, int shard, long epoch, string name, DateTimeOffset? dueAt)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        await using var cmd = _db.CreateCommand(sql);
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = entity.Type });
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = entity.Id });
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = name });
        cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = shard });
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = epoch });
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _runtime.Owner });
        if (dueAt is { } due)
            cmd.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = due.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        var held = Convert.ToInt64(await cmd.ExecuteScalarAsync().ConfigureAwait(false)) > 0;
        if (!held)
        {
            _runtime.OnFenced(shard, epoch);
            throw new JournalWriteException($"reminder '{name}' of {entity} refused: this node no longer holds shard {shard} at epoch {epoch}", conflict: false, fenced: true);
        }
    }

    /// <summary>One poll: deliver every due reminder of the shards this node owns that is not already being handled.</summary>
    public async Task PollAsync(int[] ownedShards, CancellationToken ct)
    {
        if (ownedShards.Length == 0) return;
        var due = new List<(EntityAddress, string, DateTimeOffset)>();
        await using (var cmd = _db.CreateCommand(_dueSql))
        {
            cmd.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = ownedShards });
            await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
                due.Add((new EntityAddress(reader.GetString(0), reader.GetString(1)), reader.GetString(2), new DateTimeOffset(reader.GetFieldValue<DateTime>(3), TimeSpan.Zero)));
        }
        foreach (var (entity, name, dueAt) in due)
        {
            if (!_inFlight.TryAdd((entity, name), dueAt)) continue;
            try
            {
                _runtime.DeliverReminder(entity, new ReminderFired(name, dueAt));
                _runtime.Metrics.RemindersFired.Increment();
            }
            catch (Exception ex)
            {
                _inFlight.TryRemove((entity, name), out _);
                _log.LogDebug(ex, "reminder {Name} of {Entity} not delivered now; retried on the next poll", name, entity);
            }
        }
    }

    public void Handled(EntityAddress entity, ReminderFired fired, int shard, long epoch)
    {
        _ = CompleteAsync(entity, fired);
    }

    private async Task CompleteAsync(EntityAddress entity, ReminderFired fired)
    {
        try
        {
            await using var cmd = _db.CreateCommand(_doneSql);
            cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = entity.Type });
            cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = entity.Id });
            cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = fired.Name });
            cmd.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = fired.DueAt.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz });
            await cmd.ExecuteNonQueryAsync().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            _log.LogWarning(ex, "could not clear fired reminder {Name} of {Entity}; it will fire again", fired.Name, entity);
        }
        finally
        {
            _inFlight.TryRemove((entity, fired.Name), out _);
        }
    }

    public void Failed(EntityAddress entity, ReminderFired fired) => _inFlight.TryRemove((entity, fired.Name), out _);
}
