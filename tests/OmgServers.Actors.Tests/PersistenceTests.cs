using FluentAssertions;
using OmgServers.Actors.Persistence;

namespace OmgServers.Actors.Tests;

public sealed class PersistenceTests(PostgresFixture pg)
{
    private static EntityAddress Cnt(string id) => new("counter", id);

    [Fact]
    public async Task State_is_replayed_from_the_journal_by_a_new_runtime()
    {
        await using var f = new RuntimeFactory(pg);
        var first = await f.StartAsync();
        for (var i = 1; i <= 10; i++) await first.AskAsync<CounterState>(Cnt("replay"), new Add(i));
        await first.AskAsync<CounterState>(Cnt("replay"), new AddTwice(100));
        await first.StopAsync();

        var second = await f.StartAsync();
        var state = await second.AskAsync<CounterState>(Cnt("replay"), new GetState());
        state.Values.Should().Equal(Enumerable.Range(1, 10).Append(100).Append(100));
        state.Total.Should().Be(255);
    }

    [Fact]
    public async Task Recovery_starts_from_the_latest_snapshot_and_replays_only_the_tail()
    {
        await using var f = new RuntimeFactory(pg);
        var first = await f.StartAsync(counterSnapshotEvery: 5);
        for (var i = 1; i <= 12; i++) await first.AskAsync<CounterState>(Cnt("snap"), new Add(i));
        await Eventually.HoldsAsync(async () => await pg.ScalarAsync<long>($"SELECT coalesce(max(sequence_nr), 0) FROM {f.Schema}.snapshots WHERE persistence_id = 'counter-snap'") == 10,
            TimeSpan.FromSeconds(5), "snapshot at sequence 10 written");
        await first.StopAsync();

        // Remove the journal prefix the snapshot covers: if recovery replayed from the start, the values 1..10 would be gone.
        await pg.ExecAsync($"DELETE FROM {f.Schema}.journal WHERE persistence_id = 'counter-snap' AND sequence_nr <= 10");
        var second = await f.StartAsync(counterSnapshotEvery: 5);
        var state = await second.AskAsync<CounterState>(Cnt("snap"), new GetState());
        state.Values.Should().Equal(Enumerable.Range(1, 12));
        var next = await second.AskAsync<CounterState>(Cnt("snap"), new Add(13));
        next.Values.Should().HaveCount(13);
        (await pg.ScalarAsync<long>($"SELECT max(sequence_nr) FROM {f.Schema}.journal WHERE persistence_id = 'counter-snap'")).Should().Be(13);
    }

    [Fact]
    public async Task Group_commit_batches_many_entities_and_keeps_each_entity_in_order()
    {
        await using var f = new RuntimeFactory(pg);
        var rt = await f.StartAsync(o => o with { JournalWriters = 2 });
        const int entities = 200, perEntity = 25;
        var tasks = Enumerable.Range(0, entities).Select(async e =>
        {
            for (var i = 1; i <= perEntity; i++)
                await rt.AskAsync<CounterState>(Cnt("g" + e), new Add(i));
        });
        await Task.WhenAll(tasks);

        var events = rt.Metrics.JournalEvents.Value;
        var batches = rt.Metrics.JournalBatches.Value;
        events.Should().Be(entities * perEntity);
        batches.Should().BeLessThan(events / 2, "concurrent appends share commits");

        // Sequence numbers are gap-free and the payloads are in send order for every entity.
        var disorder = await pg.ScalarAsync<long>($"""
            SELECT count(*) FROM (
              SELECT persistence_id, sequence_nr,
                     (convert_from(payload, 'UTF8')::jsonb ->> 'n')::int AS n,
                     row_number() OVER (PARTITION BY persistence_id ORDER BY sequence_nr) AS rn
              FROM {f.Schema}.journal) x
            WHERE n <> rn OR sequence_nr <> rn
            """);
        disorder.Should().Be(0);
        for (var e = 0; e < entities; e += 37)
            (await rt.AskAsync<CounterState>(Cnt("g" + e), new GetState())).Values.Should().Equal(Enumerable.Range(1, perEntity));
    }

    [Fact]
    public async Task Group_commits_never_deadlock_with_lease_renewals()
    {
        await using var f = new RuntimeFactory(pg);
        // Renewals every 50 ms lock every lease row while batches key-share-lock them: before the locks were ordered
        // and of compatible strength, this produced "deadlock detected" within a second.
        var rt = await f.StartAsync(o => o with { LeaseRenewInterval = TimeSpan.FromMilliseconds(50), JournalWriters = 4 });
        var renewalsBefore = await pg.ScalarAsync<DateTime>($"SELECT max(expires_at) FROM {f.Schema}.shard_leases");
        await Task.WhenAll(Enumerable.Range(0, 400).Select(async e =>
        {
            for (var i = 1; i <= 30; i++)
                await rt.AskAsync<CounterState>(Cnt("d" + e), new Add(i));
        }));
        rt.Metrics.JournalEvents.Value.Should().Be(400 * 30);
        rt.Metrics.Restarts.Value.Should().Be(0, "no write failed");
        rt.Metrics.LeasesLost.Value.Should().Be(0);
        (await pg.ScalarAsync<DateTime>($"SELECT max(expires_at) FROM {f.Schema}.shard_leases")).Should().BeAfter(renewalsBefore, "leases were renewed during the load");
    }

    [Fact]
    public async Task Of_two_writers_racing_for_the_same_sequence_number_exactly_one_wins()
    {
        await using var f = new RuntimeFactory(pg);
        var rt = await f.StartAsync();
        var shard = rt.ShardOf(Cnt("race"));
        var epoch = rt.LocalShards().Single(s => s.Shard == shard).Epoch;

        for (var round = 0; round < 20; round++)
        {
            var pid = $"counter-race{round}";
            var writes = Enumerable.Range(0, 8).Select(w => new JournalWrite(pid, shard, epoch, 1, ["test.added"], ["{\"n\":1}"u8.ToArray()])).ToArray();
            var outcomes = await Task.WhenAll(writes.Select(async w =>
            {
                try { await rt.Journal.AppendAsync(w); return "ok"; }
                catch (JournalWriteException ex) when (ex.Conflict) { return "conflict"; }
            }));
            outcomes.Count(o => o == "ok").Should().Be(1);
            outcomes.Count(o => o == "conflict").Should().Be(7);
            (await pg.ScalarAsync<long>($"SELECT count(*) FROM {f.Schema}.journal WHERE persistence_id = $1", pid)).Should().Be(1);
        }
    }

    [Fact]
    public async Task A_stale_incarnation_cannot_persist_and_its_entity_restarts_from_the_journal()
    {
        await using var f = new RuntimeFactory(pg);
        var rt = await f.StartAsync(o => o with { LeaseRenewInterval = TimeSpan.FromSeconds(2), LeaseTtl = TimeSpan.FromSeconds(30) });
        await rt.AskAsync<CounterState>(Cnt("stale"), new Add(1));
        var shard = rt.ShardOf(Cnt("stale"));

        // Another node takes the lease (as after a pause longer than the lease) and writes event 2 itself.
        await pg.ExecAsync($"UPDATE {f.Schema}.shard_leases SET owner = 'intruder/1', epoch = epoch + 1, expires_at = clock_timestamp() + interval '1 hour' WHERE shard = $1", shard);
        await pg.ExecAsync($"INSERT INTO {f.Schema}.journal(persistence_id, sequence_nr, shard, epoch, manifest, payload) VALUES ('counter-stale', 2, $1, 999, 'test.added', convert_to('{{\"n\":50}}', 'UTF8'))", shard);

        var act = () => rt.AskAsync<CounterState>(Cnt("stale"), new Add(2), TimeSpan.FromSeconds(3));
        var error = await act.Should().ThrowAsync<ActorRuntimeException>();
        error.Which.Should().Match<ActorRuntimeException>(e => e is EntityFailedException || e is ShardUnavailableException);
        (await pg.ScalarAsync<long>($"SELECT count(*) FROM {f.Schema}.journal WHERE persistence_id = 'counter-stale' AND epoch <> 999")).Should().Be(1, "only the write made while the lease was held is there");
        rt.OwnedShards().Should().NotContain(shard, "the node stops serving a shard whose lease is gone");
        rt.Metrics.LeasesLost.Value.Should().BeGreaterThanOrEqualTo(1);
    }

    [Fact]
    public async Task Deleting_an_entity_removes_its_journal_snapshot_and_reminders()
    {
        await using var f = new RuntimeFactory(pg);
        var rt = await f.StartAsync(counterSnapshotEvery: 2);
        for (var i = 0; i < 4; i++) await rt.AskAsync<CounterState>(Cnt("del"), new Add(1));
        await rt.AskAsync<CounterState>(Cnt("del"), new RemindMe("later", 600_000));
        await rt.AskAsync<CounterState>(Cnt("del"), new DeleteMe());
        (await pg.ScalarAsync<long>($"SELECT count(*) FROM {f.Schema}.journal WHERE persistence_id = 'counter-del'")).Should().Be(0);
        (await pg.ScalarAsync<long>($"SELECT count(*) FROM {f.Schema}.reminders WHERE entity_id = 'del'")).Should().Be(0);
        await Eventually.HoldsAsync(async () => await pg.ScalarAsync<long>($"SELECT count(*) FROM {f.Schema}.snapshots WHERE persistence_id = 'counter-del'") == 0,
            TimeSpan.FromSeconds(5), "snapshot gone");
        (await rt.AskAsync<CounterState>(Cnt("del"), new GetState())).Total.Should().Be(0);
    }
}
