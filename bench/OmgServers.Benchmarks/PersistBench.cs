using System.Diagnostics;
using Npgsql;
using NpgsqlTypes;
using OmgServers.Actors;

namespace OmgServers.Benchmarks;

/// <summary>
/// Persisted events per second through the runtime (each entity waits for its event's commit before replying, and the
/// caller waits for the reply), next to raw INSERTs of rows of the same shape and size into a table of the same shape.
/// </summary>
internal static class PersistBench
{
    private const int PayloadBytes = 200;

    public static async Task RunAsync(string connection, int seconds)
    {
        Console.WriteLine();
        Console.WriteLine($"== Persisted events ({PayloadBytes}-byte payloads, default durability) ==");
        await using (var db = NpgsqlDataSource.Create(connection))
        {
            await using var cmd = db.CreateCommand("SELECT current_setting('fsync') || '/' || current_setting('synchronous_commit')");
            Console.WriteLine($"PostgreSQL fsync/synchronous_commit: {await cmd.ExecuteScalarAsync()}");
        }
        Console.WriteLine($"{"case",-58} {"events/s",12} {"vs raw batched",15}");

        var single = await RawAsync(connection, seconds, batch: 1);
        Console.WriteLine($"{"raw: 1 INSERT (autocommit) per event, 1 connection",-58} {single,12:N0}");
        var batched = await RawAsync(connection, seconds, batch: 100);
        Console.WriteLine($"{"raw: 100-row multi-row INSERT per commit, 1 connection",-58} {batched,12:N0} {"1.00x",15}");

        foreach (var (entities, writers) in new[] { (1, 4), (1000, 4), (5000, 4), (10000, 4), (5000, 2), (5000, 8) })
        {
            var (rate, perBatch, p50, p99) = await RuntimeAsync(connection, seconds, entities, writers);
            Console.WriteLine($"{$"runtime: {entities} entities, Ask+persist each, {writers} writers",-58} {rate,12:N0} {rate / batched,14:0.00}x   ({perBatch:0} events/commit, reply p50 {p50:0.00} ms, p99 {p99:0.00} ms)");
        }
    }

    private static byte[] Payload(long n)
    {
        var bytes = new byte[PayloadBytes];
        Random.Shared.NextBytes(bytes);
        BitConverter.TryWriteBytes(bytes, n);
        return bytes;
    }

    private static async Task<double> RawAsync(string connection, int seconds, int batch)
    {
        var schema = "raw_" + Guid.NewGuid().ToString("N")[..8];
        var builder = new NpgsqlDataSourceBuilder(connection);
        builder.ConnectionStringBuilder.MaxAutoPrepare = 8;
        await using var db = builder.Build();
        await using (var create = db.CreateCommand($"CREATE SCHEMA {schema}; CREATE TABLE {schema}.journal (persistence_id text NOT NULL, sequence_nr bigint NOT NULL, shard int NOT NULL, epoch bigint NOT NULL, manifest text NOT NULL, payload bytea NOT NULL, written_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (persistence_id, sequence_nr)); CHECKPOINT;"))
            await create.ExecuteNonQueryAsync();

        var values = string.Join(",", Enumerable.Range(0, batch).Select(i => $"(${i * 3 + 1}, ${i * 3 + 2}, 0, 1, 'bench.event', ${i * 3 + 3})"));
        var sql = $"INSERT INTO {schema}.journal (persistence_id, sequence_nr, shard, epoch, manifest, payload) VALUES {values}";
        await using var conn = await db.OpenConnectionAsync();
        await using var cmd = new NpgsqlCommand(sql, conn);
        for (var i = 0; i < batch; i++)
        {
            cmd.Parameters.Add(new NpgsqlParameter<string> { NpgsqlDbType = NpgsqlDbType.Text });
            cmd.Parameters.Add(new NpgsqlParameter<long> { NpgsqlDbType = NpgsqlDbType.Bigint });
            cmd.Parameters.Add(new NpgsqlParameter<byte[]> { NpgsqlDbType = NpgsqlDbType.Bytea });
        }
        await cmd.PrepareAsync();
        long written = 0;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed.TotalSeconds < seconds)
        {
            for (var i = 0; i < batch; i++)
            {
                var n = written + i;
                ((NpgsqlParameter<string>)cmd.Parameters[i * 3]).TypedValue = "p" + (n % 100);
                ((NpgsqlParameter<long>)cmd.Parameters[i * 3 + 1]).TypedValue = n / 100 + 1;
                ((NpgsqlParameter<byte[]>)cmd.Parameters[i * 3 + 2]).TypedValue = Payload(n);
            }
            await cmd.ExecuteNonQueryAsync();
            written += batch;
        }
        var rate = written / clock.Elapsed.TotalSeconds;
        await using (var drop = new NpgsqlCommand($"DROP SCHEMA {schema} CASCADE", conn)) await drop.ExecuteNonQueryAsync();
        return rate;
    }

    private static async Task<(double Rate, double PerBatch, double P50, double P99)> RuntimeAsync(string connection, int seconds, int entities, int writers)
    {
        await using var runtime = await Runtimes.StartAsync(connection,
            r => r.Entity<Journaling>("journaling").Event<Recorded>("bench.recorded"),
            o => o with { JournalWriters = writers, SnapshotEvery = 0, MailboxCapacity = 16 });
        // Warm up: activate every entity (recovery reads) before the clock starts.
        await Task.WhenAll(Enumerable.Range(0, entities).Select(e => runtime.AskAsync<long>(new EntityAddress("journaling", "e" + e), new Record(Payload(0)), TimeSpan.FromSeconds(60))));
        var batches0 = runtime.Metrics.JournalBatches.Value;
        var events0 = runtime.Metrics.JournalEvents.Value;

        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        var latencies = new List<double>[entities];
        long done = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, entities).Select(e => Task.Run(async () =>
        {
            var to = new EntityAddress("journaling", "e" + e);
            var mine = latencies[e] = new List<double>();
            var payload = Payload(e);
            while (!stop.IsCancellationRequested)
            {
                var t0 = Stopwatch.GetTimestamp();
                await runtime.AskAsync<long>(to, new Record(payload), TimeSpan.FromSeconds(30));
                if (mine.Count < 2000) mine.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                Interlocked.Increment(ref done);
            }
        })));
        var rate = done / clock.Elapsed.TotalSeconds;
        var batches = runtime.Metrics.JournalBatches.Value - batches0;
        var events = runtime.Metrics.JournalEvents.Value - events0;
        var all = latencies.SelectMany(l => l).OrderBy(x => x).ToArray();
        return (rate, batches == 0 ? 0 : (double)events / batches, all[all.Length / 2], all[(int)(all.Length * 0.99)]);
    }
}

public sealed record Record(byte[] Payload);
public sealed record Recorded(byte[] Payload);
public sealed record JournalingState(long Count);

/// <summary>Persists one event per message and replies with its sequence number once the event is durable.</summary>
public sealed class Journaling : PersistentEntity<JournalingState>
{
    protected override JournalingState CreateInitialState() => new(0);
    protected override JournalingState Apply(JournalingState state, object @event) => new(state.Count + 1);

    protected override async ValueTask<object?> HandleAsync(object message)
    {
        if (message is not Record record) return null;
        await PersistAsync(new Recorded(record.Payload));
        return LastSequenceNr;
    }
}
