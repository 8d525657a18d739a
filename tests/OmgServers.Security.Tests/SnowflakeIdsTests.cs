using System.Diagnostics;

namespace OmgServers.Security.Tests;

public sealed class SnowflakeIdsTests
{
    [Fact]
    public void Upstream_fixture_id_decodes_to_2024_01_08()
    {
        var parts = SnowflakeIds.Decode(245515657456648192);

        parts.Timestamp.UtcDateTime.Date.Should().Be(new DateTime(2024, 1, 8));
        parts.Timestamp.Should().Be(DateTimeOffset.Parse("2024-01-08T05:07:52.549Z"));
        parts.InstanceId.Should().Be(0);
        parts.Sequence.Should().Be(0);
    }

    [Fact]
    public void Layout_is_timestamp_shift_24_instance_shift_12_sequence()
    {
        var at = DateTimeOffset.FromUnixTimeMilliseconds(SnowflakeIds.EpochUnixMilliseconds + 1000);
        var ids = new SnowflakeIds(1023, new ManualClock(at));

        long first = ids.Next();
        long second = ids.Next();

        first.Should().Be((1000L << 24) | (1023L << 12) | 0);
        second.Should().Be(first + 1);
        (first & (3L << 22)).Should().Be(0, "bits 22-23 are always zero");
        var parts = SnowflakeIds.Decode(second);
        parts.Timestamp.Should().Be(at);
        parts.InstanceId.Should().Be(1023);
        parts.Sequence.Should().Be(1);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(513)]
    [InlineData(1023)]
    public void Instance_bits_hold_the_instance_id(int instance)
    {
        var ids = new SnowflakeIds(instance);
        for (int i = 0; i < 10_000; i++)
            SnowflakeIds.Decode(ids.Next()).InstanceId.Should().Be(instance);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(1024)]
    public void Instance_id_must_fit_10_bits(int instance)
    {
        var act = () => new SnowflakeIds(instance);
        act.Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void Ids_from_the_system_clock_are_near_now()
    {
        var before = DateTimeOffset.UtcNow;
        long id = new SnowflakeIds(3).Next();

        SnowflakeIds.Decode(id).Timestamp.Should().BeCloseTo(before, TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task Four_threads_make_800k_unique_increasing_ids()
    {
        var ids = new SnowflakeIds(7);
        const int PerThread = 200_000;
        var batches = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Factory.StartNew(() =>
        {
            var mine = new long[PerThread];
            for (int i = 0; i < PerThread; i++)
                mine[i] = ids.Next();
            return mine;
        }, TaskCreationOptions.LongRunning)));

        foreach (var batch in batches)
        {
            for (int i = 1; i < batch.Length; i++)
                batch[i].Should().BeGreaterThan(batch[i - 1]);
        }
        var all = batches.SelectMany(b => b).ToArray();
        all.Distinct().Count().Should().Be(4 * PerThread);
        all.Should().OnlyContain(id => id > 0);
    }

    [Fact]
    public void A_backwards_clock_keeps_the_last_timestamp_and_advances_the_sequence()
    {
        var clock = new ManualClock(DateTimeOffset.Parse("2025-01-22T18:03:11.482Z"));
        var ids = new SnowflakeIds(0, clock);
        long before = ids.Next();

        clock.Advance(TimeSpan.FromSeconds(-5));
        long during = ids.Next();
        long during2 = ids.Next();
        clock.Advance(TimeSpan.FromSeconds(5) + TimeSpan.FromMilliseconds(1));
        long after = ids.Next();

        during.Should().Be(before + 1);
        during2.Should().Be(before + 2);
        SnowflakeIds.Decode(during2).Timestamp.Should().Be(DateTimeOffset.Parse("2025-01-22T18:03:11.482Z"));
        after.Should().BeGreaterThan(during2);
        SnowflakeIds.Decode(after).Timestamp.Should().Be(DateTimeOffset.Parse("2025-01-22T18:03:11.483Z"));
        SnowflakeIds.Decode(after).Sequence.Should().Be(0);
    }

    [Fact]
    public void An_exhausted_millisecond_waits_for_the_next_one()
    {
        // The clock stands still for the 4096 ids of one millisecond and for the first 50 polls after them.
        var start = DateTimeOffset.Parse("2025-01-22T18:03:11.482Z");
        int reads = 0;
        const int StillReads = SnowflakeIds.MaxSequence + 1 + 50;
        var clock = new FuncClock(() => ++reads <= StillReads ? start : start.AddMilliseconds(1));
        var ids = new SnowflakeIds(0, clock, maxClockWait: TimeSpan.FromSeconds(10));
        var first = new long[SnowflakeIds.MaxSequence + 1];
        for (int i = 0; i < first.Length; i++)
            first[i] = ids.Next();

        long next = ids.Next();

        SnowflakeIds.Decode(first[^1]).Sequence.Should().Be(SnowflakeIds.MaxSequence);
        reads.Should().BeGreaterThan(StillReads, "the call polled the clock until it moved on instead of failing");
        next.Should().BeGreaterThan(first[^1]);
        var parts = SnowflakeIds.Decode(next);
        parts.Timestamp.Should().Be(start.AddMilliseconds(1));
        parts.Sequence.Should().Be(0);
    }

    [Fact]
    public void A_clock_that_never_moves_on_fails_with_ID_GENERATOR_FAILED_after_the_wait_limit()
    {
        var clock = new ManualClock(DateTimeOffset.Parse("2025-01-22T18:03:11.482Z"));
        var ids = new SnowflakeIds(0, clock, maxClockWait: TimeSpan.FromMilliseconds(100));
        for (int i = 0; i <= SnowflakeIds.MaxSequence; i++)
            ids.Next();

        var watch = Stopwatch.StartNew();
        var act = () => ids.Next();

        act.Should().Throw<IdGeneratorFailedException>();
        watch.Elapsed.Should().BeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(100));
        IdGeneratorFailedException.Qualifier.Should().Be("ID_GENERATOR_FAILED");
    }

    [Fact]
    public void A_clock_before_the_epoch_fails()
    {
        var ids = new SnowflakeIds(0, new ManualClock(DateTimeOffset.Parse("2020-01-01T00:00:00Z")));
        var act = () => ids.Next();
        act.Should().Throw<IdGeneratorFailedException>();
    }
}
