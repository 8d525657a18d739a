using Npgsql;

namespace OmgServers.Actors.Persistence;

/// <summary>
/// The runtime's own tables, created and upgraded at start-up under an advisory lock (so nodes starting together
/// migrate once). Each step is applied once, in order, and recorded in schema_version.
/// </summary>
internal static class Schema
{
    private static string[] Steps(string s) =>
    [
        // 1: journal, snapshots, leases, reminders, membership, meta
        $"""
        CREATE TABLE IF NOT EXISTS {s}.meta (
            key text PRIMARY KEY,
            value text NOT NULL);
        CREATE TABLE IF NOT EXISTS {s}.journal (
            persistence_id text NOT NULL,
            sequence_nr bigint NOT NULL,
            shard int NOT NULL,
            epoch bigint NOT NULL,
            manifest text NOT NULL,
            payload bytea NOT NULL,
            written_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (persistence_id, sequence_nr));
        CREATE TABLE IF NOT EXISTS {s}.snapshots (
            persistence_id text PRIMARY KEY,
            sequence_nr bigint NOT NULL,
            manifest text NOT NULL,
            payload bytea NOT NULL,
            written_at timestamptz NOT NULL DEFAULT now());
        CREATE TABLE IF NOT EXISTS {s}.shard_leases (
            shard int PRIMARY KEY,
            owner text NULL,
            epoch bigint NOT NULL,
            expires_at timestamptz NOT NULL);
        CREATE TABLE IF NOT EXISTS {s}.reminders (
            entity_type text NOT NULL,
            entity_id text NOT NULL,
            name text NOT NULL,
            shard int NOT NULL,
            due_at timestamptz NOT NULL,
            PRIMARY KEY (entity_type, entity_id, name));
        CREATE INDEX IF NOT EXISTS reminders_shard_due ON {s}.reminders (shard, due_at);
        CREATE TABLE IF NOT EXISTS {s}.members (
            owner text PRIMARY KEY,
            node_id text NOT NULL,
            address text NOT NULL,
            state text NOT NULL,
            started_at timestamptz NOT NULL DEFAULT now(),
            heartbeat_at timestamptz NOT NULL DEFAULT now());
        """,
        // 2: who held which shard at which epoch, since when (audits fencing; the operator view shows it)
        $"""
        CREATE TABLE IF NOT EXISTS {s}.lease_history (
            shard int NOT NULL,
            epoch bigint NOT NULL,
            owner text NOT NULL,
            acquired_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            PRIMARY KEY (shard, epoch));
        """,
        // 3: the public API address of each node, for the operator view
        $"""
        ALTER TABLE {s}.members ADD COLUMN IF NOT EXISTS api_address text NOT NULL DEFAULT '';
        """,
    ];

    public static async Task MigrateAsync(NpgsqlDataSource db, string schema, int shardCount, CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var tx = await conn.BeginTransactionAsync(ct).ConfigureAwait(false);
        await Exec(conn, tx, $"SELECT pg_advisory_xact_lock(hashtext('omgservers.actors.migrate.{schema}'))", ct);
        await Exec(conn, tx, $"CREATE SCHEMA IF NOT EXISTS {schema}; CREATE TABLE IF NOT EXISTS {schema}.schema_version (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())", ct);

        int current;
        await using (var cmd = new NpgsqlCommand($"SELECT coalesce(max(version), 0) FROM {schema}.schema_version", conn, tx))
            current = Convert.ToInt32(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false));

        var steps = Steps(schema);
        if (current > steps.Length)
            throw new InvalidOperationException($"database schema '{schema}' is at version {current}, newer than this build knows ({steps.Length}); upgrade the backend");
        for (var v = current + 1; v <= steps.Length; v++)
        {
            await Exec(conn, tx, steps[v - 1], ct);
            await Exec(conn, tx, $"INSERT INTO {schema}.schema_version(version) VALUES ({v})", ct);
        }

        // The shard count is fixed for the life of the data: another count would move every entity to another shard.
        await using (var cmd = new NpgsqlCommand($"INSERT INTO {schema}.meta(key, value) VALUES ('shard_count', @n) ON CONFLICT (key) DO NOTHING; SELECT value FROM {schema}.meta WHERE key = 'shard_count'", conn, tx))
        {
            cmd.Parameters.AddWithValue("n", shardCount.ToString(System.Globalization.CultureInfo.InvariantCulture));
            var stored = (string)(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
            if (stored != shardCount.ToString(System.Globalization.CultureInfo.InvariantCulture))
                throw new InvalidOperationException($"this database was created with shard-count {stored}, but the configuration says {shardCount}; the shard count cannot change once data exists (set omgservers.actors.shard-count, OMGSERVERS_ACTORS_SHARD_COUNT={stored})");
        }
        await Exec(conn, tx, $"INSERT INTO {schema}.shard_leases(shard, owner, epoch, expires_at) SELECT g, NULL, 0, '-infinity' FROM generate_series(0, {shardCount - 1}) g ON CONFLICT (shard) DO NOTHING", ct);
        await tx.CommitAsync(ct).ConfigureAwait(false);
    }

    private static async Task Exec(NpgsqlConnection conn, NpgsqlTransaction tx, string sql, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(sql, conn, tx);
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }
}
