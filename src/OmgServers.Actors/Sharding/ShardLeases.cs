using Npgsql;
using NpgsqlTypes;

namespace OmgServers.Actors.Sharding;

/// <summary>
/// Shard ownership by lease in PostgreSQL. A lease row holds the owner (node id + incarnation), a fencing epoch that
/// grows by one at every change of owner, and an expiry computed by the database clock (so node clocks do not matter).
/// A lease can be taken only when it has expired or was released. Journal and reminder writes check the lease at
/// the write's epoch inside the same statement.
/// </summary>
internal sealed class ShardLeases(NpgsqlDataSource db, string schema, string owner, int shardCount)
{
    // Take-over locks FOR UPDATE, which waits for writers' key-share locks: a batch that passed its fence commits
    // before the lease changes hands. Every statement locks lease rows in shard order, so they cannot deadlock.
    private readonly string _acquireSql = $"""
        WITH free AS (
            SELECT shard FROM {schema}.shard_leases
            WHERE shard = ANY($3) AND (owner IS NULL OR expires_at < clock_timestamp())
            ORDER BY shard
            FOR UPDATE)
        , taken AS (
            UPDATE {schema}.shard_leases l SET owner = $1, epoch = l.epoch + 1, expires_at = clock_timestamp() + $2
            FROM free WHERE l.shard = free.shard
            RETURNING l.shard, l.epoch)
        , history AS (
            INSERT INTO {schema}.lease_history (shard, epoch, owner) SELECT shard, epoch, $1 FROM taken)
        SELECT shard, epoch FROM taken
        """;
    // Renewal is a non-key update (FOR NO KEY UPDATE), which does not conflict with the owner's own writes.
    private readonly string _renewSql = $"""
        WITH mine AS (
            SELECT l.shard FROM {schema}.shard_leases l
            JOIN unnest($3::int[], $4::bigint[]) AS w(shard, epoch) ON l.shard = w.shard AND l.epoch = w.epoch
            WHERE l.owner = $1
            ORDER BY l.shard
            FOR NO KEY UPDATE OF l)
        UPDATE {schema}.shard_leases l SET expires_at = clock_timestamp() + $2
        FROM mine WHERE l.shard = mine.shard
        RETURNING l.shard
        """;
    private readonly string _releaseSql = $"""
        WITH mine AS (SELECT shard FROM {schema}.shard_leases WHERE owner = $1 AND shard = ANY($2) ORDER BY shard FOR UPDATE)
        UPDATE {schema}.shard_leases l SET owner = NULL, expires_at = '-infinity' FROM mine WHERE l.shard = mine.shard
        """;
    private readonly string _directorySql = $"""
        SELECT l.shard, l.owner, l.epoch, coalesce(m.address, '') FROM {schema}.shard_leases l
        LEFT JOIN {schema}.members m ON m.owner = l.owner
        WHERE l.owner IS NOT NULL AND l.expires_at > clock_timestamp()
        """;
    private readonly int _shardCount = shardCount;

    public string Owner { get; } = owner;

    public async Task<List<(int Shard, long Epoch)>> AcquireAsync(int[] shards, TimeSpan ttl, CancellationToken ct)
    {
        var result = new List<(int, long)>();
        if (shards.Length == 0) return result;
        await using var cmd = db.CreateCommand(_acquireSql);
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Owner });
        cmd.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = ttl, NpgsqlDbType = NpgsqlDbType.Interval });
        cmd.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = shards });
        await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
            result.Add((reader.GetInt32(0), reader.GetInt64(1)));
        return result;
    }

    /// <summary>Extends the given leases; returns the shards still held (the others were lost).</summary>
    public async Task<HashSet<int>> RenewAsync(IReadOnlyList<(int Shard, long Epoch)> held, TimeSpan ttl, CancellationToken ct)
    {
        var kept = new HashSet<int>();
        if (held.Count == 0) return kept;
        await using var cmd = db.CreateCommand(_renewSql);
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Owner });
        cmd.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = ttl, NpgsqlDbType = NpgsqlDbType.Interval });
        cmd.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = held.Select(h => h.Shard).ToArray() });
        cmd.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = held.Select(h => h.Epoch).ToArray() });
        await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
            kept.Add(reader.GetInt32(0));
        return kept;
    }

    public async Task ReleaseAsync(int[] shards, CancellationToken ct)
    {
        if (shards.Length == 0) return;
        await using var cmd = db.CreateCommand(_releaseSql);
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Owner });
        cmd.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = shards });
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    /// <summary>The live holder of every shard with its address (null where none): the routing table.</summary>
    public async Task<Cluster.ShardDirectory.Entry?[]> DirectoryAsync(CancellationToken ct)
    {
        var result = new Cluster.ShardDirectory.Entry?[_shardCount];
        await using var cmd = db.CreateCommand(_directorySql);
        await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            var shard = reader.GetInt32(0);
            if (shard < _shardCount) result[shard] = new Cluster.ShardDirectory.Entry(reader.GetString(1), reader.GetInt64(2), reader.GetString(3));
        }
        return result;
    }
}
