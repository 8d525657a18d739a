using Npgsql;
using NpgsqlTypes;

namespace OmgServers.Actors.Cluster;

/// <summary>A node as the membership table shows it.</summary>
public sealed record Member(string Owner, string NodeId, string Address, string State, DateTime StartedAt, DateTime HeartbeatAt, string ApiAddress = "")
{
    public const string Up = "up";
    public const string Leaving = "leaving";

    public bool IsUp => State == Up;
}

/// <summary>
/// Cluster membership kept in PostgreSQL (the way Orleans' ADO.NET clustering keeps it in SQL tables): each node
/// (incarnation) has a row with its address, state and heartbeat. A node whose heartbeat is older than the dead-after
/// time is not a member any more. PostgreSQL is the discovery service: no seed node has to be up for another to join.
/// </summary>
internal sealed class Membership(NpgsqlDataSource db, string schema, string owner)
{
    private readonly string _setStateSql = $"UPDATE {schema}.members SET state = $2 WHERE node_id = $1 AND heartbeat_at > clock_timestamp() - $3";
    private readonly string _pruneSql = $"DELETE FROM {schema}.members WHERE heartbeat_at < clock_timestamp() - interval '1 hour'";
    private readonly string _allSql = $"SELECT owner, node_id, address, state, started_at, heartbeat_at, api_address FROM {schema}.members ORDER BY node_id, owner";

    /// <summary>Heartbeats this node and returns the live members (this node included while its row exists).</summary>
    public async Task<List<Member>> HeartbeatAsync(TimeSpan deadAfter, CancellationToken ct)
    {
        await using var batch = db.CreateBatch();
        var beat = new NpgsqlBatchCommand($"UPDATE {schema}.members SET heartbeat_at = clock_timestamp() WHERE owner = $1");
        beat.Parameters.Add(new NpgsqlParameter<string> { TypedValue = owner });
        var read = new NpgsqlBatchCommand($"SELECT owner, node_id, address, state, started_at, heartbeat_at, api_address FROM {schema}.members WHERE heartbeat_at > clock_timestamp() - $1 ORDER BY node_id, owner");
        read.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = deadAfter, NpgsqlDbType = NpgsqlDbType.Interval });
        batch.BatchCommands.Add(beat);
        batch.BatchCommands.Add(read);
        await using var reader = await batch.ExecuteReaderAsync(ct).ConfigureAwait(false);
        return await ReadMembersAsync(reader, ct).ConfigureAwait(false);
    }

    /// <summary>Every row, live or not (operator view).</summary>
    public async Task<List<Member>> AllAsync(CancellationToken ct)
    {
        await using var cmd = db.CreateCommand(_allSql);
        await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        return await ReadMembersAsync(reader, ct).ConfigureAwait(false);
    }

    /// <summary>Marks every live incarnation of a node as up or leaving; returns how many rows changed.</summary>
    public async Task<int> SetStateAsync(string nodeId, string state, TimeSpan deadAfter, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand(_setStateSql);
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = nodeId });
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = state });
        cmd.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = deadAfter, NpgsqlDbType = NpgsqlDbType.Interval });
        return await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    public async Task PruneAsync(CancellationToken ct)
    {
        await using var cmd = db.CreateCommand(_pruneSql);
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    private static async Task<List<Member>> ReadMembersAsync(NpgsqlDataReader reader, CancellationToken ct)
    {
        var members = new List<Member>();
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
            members.Add(new Member(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3),
                reader.GetFieldValue<DateTime>(4), reader.GetFieldValue<DateTime>(5), reader.GetString(6)));
        return members;
    }
}

/// <summary>
/// Rendezvous (highest random weight) hashing: every node computes the same owner for a shard from the same member
/// list, and a join or leave moves only the shards that the changed node wins or loses (about 1/n of them).
/// </summary>
public static class Rendezvous
{
    public static string? Winner(int shard, IReadOnlyList<Member> candidates)
    {
        string? best = null;
        ulong bestWeight = 0;
        foreach (var m in candidates)
        {
            var w = Weight(m.NodeId, shard);
            if (best is null || w > bestWeight || (w == bestWeight && string.CompareOrdinal(m.Owner, best) > 0))
            {
                best = m.Owner;
                bestWeight = w;
            }
        }
        return best;
    }

    private static ulong Weight(string nodeId, int shard)
    {
        // FNV-1a over the node id, then a splitmix64 finalizer mixed with the shard.
        var h = 14695981039346656037UL;
        foreach (var c in nodeId)
        {
            h ^= c;
            h *= 1099511628211UL;
        }
        var z = h ^ ((ulong)(uint)shard * 0x9E3779B97F4A7C15UL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}

/// <summary>Who holds each shard right now, with the holder's address: the routing table for remote hops.</summary>
public sealed class ShardDirectory
{
    private volatile Entry?[] _entries;

    public ShardDirectory(int shardCount) => _entries = new Entry?[shardCount];

    public sealed record Entry(string Owner, long Epoch, string Address);

    public Entry? this[int shard] => _entries[shard];

    internal void Replace(Entry?[] entries) => _entries = entries;

    internal void Forget(int shard, string owner)
    {
        var current = _entries;
        if (current[shard] is { } e && e.Owner == owner)
        {
            var copy = (Entry?[])current.Clone();
            copy[shard] = null;
            _entries = copy;
        }
    }

    public int Covered => _entries.Count(e => e is not null);
    public IReadOnlyList<Entry?> Snapshot() => _entries;
}
