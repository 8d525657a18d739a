using OmgServers.Hosting;
using FluentAssertions;

namespace OmgServers.Actors.Tests;

public sealed class ShardingTests(PostgresFixture pg)
{
    [Fact]
    public void Crc16_arc_matches_the_check_value_and_the_contract()
    {
        Crc16Arc.Compute("123456789"u8).Should().Be(0xBB3D);
        Crc16Arc.Compute("123456789").Should().Be(0xBB3D);
        Crc16Arc.Compute("").Should().Be(0);
        Crc16Arc.ShardOf("123456789", 1).Should().Be(0);
        Crc16Arc.ShardOf("123456789", 256).Should().Be(0xBB3D % 256);
    }

    [Fact]
    public void Ids_spread_over_the_shards()
    {
        var counts = new int[256];
        for (var i = 0; i < 100_000; i++)
            counts[Crc16Arc.ShardOf((245515657456648192L + i * 4096L).ToString(), 256)]++;
        counts.Should().OnlyContain(c => c > 0);
        counts.Max().Should().BeLessThan(3 * counts.Min() + 200);
    }

    [Fact]
    public async Task A_single_node_takes_every_shard_lease_and_releases_them_on_stop()
    {
        await using var f = new RuntimeFactory(pg);
        var rt = await f.StartAsync();
        rt.OwnedShards().Should().HaveCount(16);
        (await pg.ScalarAsync<long>($"SELECT count(*) FROM {f.Schema}.shard_leases WHERE owner = $1 AND expires_at > clock_timestamp()", rt.Owner)).Should().Be(16);
        rt.ShardOf(new EntityAddress("counter", "123456789")).Should().Be(0xBB3D % 16);
        await rt.StopAsync();
        (await pg.ScalarAsync<long>($"SELECT count(*) FROM {f.Schema}.shard_leases WHERE owner IS NOT NULL")).Should().Be(0);
    }

    [Fact]
    public async Task A_second_node_cannot_take_shards_whose_leases_are_live_and_takes_them_when_released()
    {
        await using var f = new RuntimeFactory(pg);
        var first = await f.StartAsync();
        var second = ActorRuntime.Create(f.Options(o => o with { NodeId = "node-1" }), r => RuntimeFactory.Register(r, f.Probe));
        await second.StartAsync();
        try
        {
            second.OwnedShardCount.Should().Be(0);
            await first.AskAsync<CounterState>(new EntityAddress("counter", "x"), new Add(1));
            await first.StopAsync();
            await Eventually.HoldsAsync(() => second.IsReady, TimeSpan.FromSeconds(10), "second node took the released shards");
            var state = await second.AskAsync<CounterState>(new EntityAddress("counter", "x"), new Add(2));
            state.Values.Should().Equal(1, 2);
            var epochs = await pg.ScalarAsync<long>($"SELECT count(DISTINCT epoch) FROM {f.Schema}.journal WHERE persistence_id = 'counter-x'");
            epochs.Should().Be(2, "each owner writes under its own fencing epoch");
        }
        finally
        {
            await second.DisposeAsync();
        }
    }

    [Fact]
    public async Task The_shard_count_cannot_change_once_data_exists()
    {
        await using var f = new RuntimeFactory(pg);
        var rt = await f.StartAsync();
        await rt.StopAsync();
        var other = ActorRuntime.Create(f.Options(o => o with { ShardCount = 32 }), r => RuntimeFactory.Register(r, f.Probe));
        var act = () => other.StartAsync();
        (await act.Should().ThrowAsync<InvalidOperationException>()).Which.Message.Should().Contain("shard-count 16");
    }

    [Fact]
    public void Bad_options_are_refused_with_the_setting_named()
    {
        var ok = new ActorRuntimeOptions { ConnectionString = "Host=x" };
        ((Action)(() => ActorRuntime.Create(ok with { ShardCount = 0 }, _ => { }))).Should().Throw<ArgumentException>().WithMessage("*shard-count*");
        ((Action)(() => ActorRuntime.Create(ok with { MailboxCapacity = 0 }, _ => { }))).Should().Throw<ArgumentException>().WithMessage("*mailbox-capacity*");
        ((Action)(() => ActorRuntime.Create(ok with { LeaseRenewInterval = TimeSpan.FromSeconds(10) }, _ => { }))).Should().Throw<ArgumentException>().WithMessage("*lease-renew-interval*");
        ((Action)(() => ActorRuntime.Create(ok with { Schema = "drop table" }, _ => { }))).Should().Throw<ArgumentException>().WithMessage("*schema*");
    }
}

public sealed class StartRetryTests
{
    [Fact]
    public async Task A_start_that_failed_because_the_database_was_down_can_be_retried_and_then_keeps_its_leases()
    {
        // Where the embedded PostgreSQL starts in the background, the runtime's first start attempt fails; the retry
        // must leave the runtime fully alive (its lease loop running), not just started.
        var port = OmgServers.Hosting.EmbeddedPostgres.FindFreeLoopbackPort();
        var options = new ActorRuntimeOptions
        {
            ConnectionString = OmgServers.Hosting.EmbeddedPostgres.LoopbackConnectionString(port, "retry") + ";Timeout=2",
            ShardCount = 8,
            LeaseTtl = TimeSpan.FromSeconds(2),
            LeaseRenewInterval = TimeSpan.FromMilliseconds(300),
        };
        await using var runtime = ActorRuntime.Create(options, r => RuntimeFactory.Register(r, new Probe()));
        var first = () => runtime.StartAsync();
        await first.Should().ThrowAsync<Exception>();
        runtime.ResetAfterFailedStart();

        await using var pg = await OmgServers.Hosting.EmbeddedPostgres.StartAsync(new OmgServers.Hosting.EmbeddedPostgresOptions
        {
            DataDirectory = Path.Combine(Path.GetTempPath(), "omgservers-retry-" + Guid.NewGuid().ToString("N")[..8]),
            Port = port,
            Database = "retry",
            Throwaway = true,
        });
        await runtime.StartAsync();
        await Eventually.HoldsAsync(() => runtime.IsReady, TimeSpan.FromSeconds(10), "ready after the retry");
        // Three lease lifetimes later it must still hold everything: only a running renewal loop achieves that.
        var until = DateTime.UtcNow.AddSeconds(6);
        await Eventually.HoldsAsync(() => DateTime.UtcNow > until || !runtime.IsReady, TimeSpan.FromSeconds(10), "three lease lifetimes pass");
        runtime.IsReady.Should().BeTrue("the leases were renewed");
        runtime.Metrics.LeasesLost.Value.Should().Be(0);
        (await runtime.AskAsync<CounterState>(new EntityAddress("counter", "1"), new Add(1))).Total.Should().Be(1);
    }
}
