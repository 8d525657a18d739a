using System.Diagnostics;
using FluentAssertions;
using OmgServers.Actors.Cluster;
using OmgServers.Hosting;

namespace OmgServers.Actors.Tests;

/// <summary>Real node processes on 127.0.0.1 sharing one PostgreSQL: formation, SIGKILL, SIGSTOP, leave and join.</summary>
public sealed class ClusterTests(PostgresFixture pg, ITestOutputHelper output)
{
    private const int Shards = 64;
    private const int Entities = 60;
    private const int LeaseTtlMs = 2000;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private readonly string _schema = PostgresFixture.NewSchema();

    private HostProcess StartNode(string node) =>
        HostProcess.Start(pg.ConnectionString, _schema, node, LeaseTtlMs, EmbeddedPostgres.FindFreeLoopbackPort(), Shards);

    private async Task<HostProcess[]> StartClusterAsync(params string[] nodes)
    {
        var hosts = nodes.Select(StartNode).ToArray();
        foreach (var h in hosts) await h.WaitForLineAsync(l => l == "ready", Patience, $"{h.Node} ready");
        await WaitBalancedAsync(hosts);
        return hosts;
    }

    /// <summary>Every shard is held by exactly one of the given nodes and every node holds some.</summary>
    private static async Task WaitBalancedAsync(params HostProcess[] hosts)
    {
        await Eventually.HoldsAsync(async () =>
        {
            var owned = new List<int[]>();
            foreach (var h in hosts) owned.Add(await h.ShardsAsync());
            var all = owned.SelectMany(o => o).ToList();
            return owned.All(o => o.Length > 0) && all.Count == Shards && all.Distinct().Count() == Shards;
        }, Patience, $"{Shards} shards spread over {string.Join(", ", hosts.Select(h => h.Node))}");
    }

    [Fact]
    public async Task Three_nodes_share_the_shards_and_an_ask_from_any_node_reaches_any_entity()
    {
        var hosts = await StartClusterAsync("a", "b", "c");
        await using var a = hosts[0];
        await using var b = hosts[1];
        await using var c = hosts[2];

        a.Send($"load {Entities} 600 16");
        await a.WaitForLineAsync(l => l == "loaded", Patience, "600 writes through node a");
        a.Nacks.Should().BeEmpty();

        // Read everything back through the other two nodes.
        (await b.RequestAsync($"probe {Entities}", l => l.StartsWith("probe "), Patience)).Should().Be($"probe {Entities} 0");
        var total = 0;
        foreach (var e in Enumerable.Range(0, Entities))
        {
            var line = await c.RequestAsync($"get k{e}", l => l.StartsWith($"state k{e} ") || l == $"state k{e}", Patience);
            total += line.Split(' ')[2].Split(',', StringSplitOptions.RemoveEmptyEntries).Length;
        }
        total.Should().Be(1200, "600 asks of two events each, read back through another node");

        var writers = await pg.ScalarAsync<long>($"SELECT count(DISTINCT h.owner) FROM {_schema}.journal j JOIN {_schema}.lease_history h ON h.shard = j.shard AND h.epoch = j.epoch");
        writers.Should().Be(3, "the entities live on all three nodes");
    }

    [Fact]
    public async Task A_killed_node_loses_nothing_acknowledged_and_its_shards_answer_again_within_the_failover_time()
    {
        var hosts = await StartClusterAsync("a", "b", "c");
        await using var a = hosts[0];
        await using var b = hosts[1];
        var c = hosts[2];
        var cShards = await c.ShardsAsync();

        a.Send($"load {Entities} 10000000 8");
        await Eventually.HoldsAsync(() => a.Acks.Count() >= 2000, Patience, "2000 acknowledged writes before the kill");
        var clock = Stopwatch.StartNew();
        c.Kill();
        await c.DisposeAsync();

        // Failover: until every entity (a third of them lived on c) answers again through node a.
        await Eventually.HoldsAsync(async () => (await a.RequestAsync($"probe {Entities}", l => l.StartsWith("probe "), Patience)) == $"probe {Entities} 0",
            Patience, "every entity answers after the kill");
        var failover = clock.Elapsed;
        output.WriteLine($"failover after SIGKILL of a node holding {cShards.Length} of {Shards} shards: {failover.TotalSeconds:0.00} s until all {Entities} entities answered (lease ttl {LeaseTtlMs} ms)");
        failover.Should().BeLessThan(TimeSpan.FromSeconds(10));
        await WaitBalancedAsync(a, b);

        var acksAfterKill = a.Acks.Count();
        await Eventually.HoldsAsync(() => a.Acks.Count() >= acksAfterKill + 1000, Patience, "writes go on after the failover");
        a.Kill(); // stop the load abruptly too; b takes a's shards
        var acked = a.Acks.ToList();
        await VerifyAsync(b, acked);
        a.Nacks.Select(n => n.Split(' ')[3]).Distinct().Should().BeSubsetOf(["NodeUnreachableException", "AskTimeoutException", "ShardUnavailableException"],
            "while the dead node's shards moved, asks failed only with retryable errors");
        output.WriteLine($"acknowledged writes: {acked.Count}; failed asks during the failover: {a.Nacks.Count()}");
    }

    [Fact]
    public async Task A_node_frozen_past_its_lease_writes_nothing_afterwards_and_rejoins()
    {
        var hosts = await StartClusterAsync("a", "b", "c");
        await using var a = hosts[0];
        await using var b = hosts[1];
        await using var c = hosts[2];
        var bShards = await b.ShardsAsync();

        a.Send($"load {Entities} 10000000 8");
        await Eventually.HoldsAsync(() => a.Acks.Count() >= 1500, Patience, "writes under way");
        b.Signal("STOP");
        var frozenAt = DateTime.UtcNow;
        // Wait until every shard b held was taken over at a newer epoch by a or c.
        await Eventually.HoldsAsync(async () => await pg.ScalarAsync<long>($"""
            SELECT count(*) FROM {_schema}.shard_leases WHERE shard = ANY($1) AND owner NOT LIKE 'b/%' AND expires_at > clock_timestamp()
            """, bShards) == bShards.Length, Patience, "b's shards taken over while it is frozen");
        var acksAtResume = a.Acks.Count();
        b.Signal("CONT");
        output.WriteLine($"b frozen for {(DateTime.UtcNow - frozenAt).TotalSeconds:0.0} s");

        // It rejoins: it heartbeats again and gets its share of shards back by hand-off.
        await Eventually.HoldsAsync(async () => (await b.ShardsAsync()).Length > 0, Patience, "b holds shards again");
        await WaitBalancedAsync(a, b, c);
        await Eventually.HoldsAsync(() => a.Acks.Count() >= acksAtResume + 1000, Patience, "writes go on after b rejoined");

        // No row was written under an epoch after a later epoch of the same shard was acquired.
        var stale = await pg.ScalarAsync<long>($"""
            SELECT count(*) FROM {_schema}.journal j
            JOIN {_schema}.lease_history later ON later.shard = j.shard AND later.epoch > j.epoch
            WHERE j.written_at >= later.acquired_at
            """);
        stale.Should().Be(0, "a node that lost its lease never persisted again under it");
        a.Kill();
        await VerifyAsync(c, a.Acks.ToList());
    }

    [Fact]
    public async Task Graceful_leave_and_join_move_shards_with_only_retryable_failures()
    {
        var hosts = await StartClusterAsync("a", "b", "c");
        await using var a = hosts[0];
        await using var b = hosts[1];
        await using var c = hosts[2];

        a.Send($"load {Entities} 10000000 8");
        await Eventually.HoldsAsync(() => a.Acks.Count() >= 1000, Patience, "writes under way");
        await c.RequestAsync("stop", l => l == "stopped", Patience);
        await WaitBalancedAsync(a, b);
        var afterLeave = a.Acks.Count();
        await Eventually.HoldsAsync(() => a.Acks.Count() >= afterLeave + 1000, Patience, "writes go on after c left");

        await using var d = StartNode("d");
        await d.WaitForLineAsync(l => l == "ready", Patience, "d ready");
        await WaitBalancedAsync(a, b, d);
        var afterJoin = a.Acks.Count();
        await Eventually.HoldsAsync(() => a.Acks.Count() >= afterJoin + 1000, Patience, "writes go on after d joined");

        // Drain b like an operator before maintenance: its shards move to a and d.
        (await a.RequestAsync("drain b", l => l.StartsWith("drained "), Patience)).Should().Be("drained b true");
        await Eventually.HoldsAsync(async () => (await b.ShardsAsync()).Length == 0, Patience, "b drained");
        await WaitBalancedAsync(a, d);

        output.WriteLine($"acknowledged: {a.Acks.Count()}, failed asks while shards moved: {a.Nacks.Count()} ({string.Join(", ", a.Nacks.Take(5))})");
        a.Nacks.Select(n => n.Split(' ')[3]).Distinct().Should().BeSubsetOf(["AskTimeoutException", "ShardUnavailableException"]);
        a.Kill();
        await VerifyAsync(d, a.Acks.ToList());
    }

    /// <summary>Every acknowledged write is there, each write's two events both or neither, epochs never go back.</summary>
    private async Task VerifyAsync(HostProcess reader, List<(string Id, int N)> acked)
    {
        var missing = 0;
        var halfApplied = 0;
        for (var e = 0; e < Entities; e++)
        {
            var id = "k" + e;
            var line = await reader.RequestAsync($"get {id}", l => l.StartsWith($"state {id} ") || l == $"state {id}", Patience);
            var fields = line.Split(' ');
            var counts = (fields.Length > 2 ? fields[2] : "").Split(',', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).GroupBy(v => v).ToDictionary(g => g.Key, g => g.Count());
            halfApplied += counts.Count(c => c.Value != 2);
            missing += acked.Where(x => x.Id == id).Count(x => !counts.ContainsKey(x.N));
        }
        missing.Should().Be(0, "every acknowledged write is readable");
        halfApplied.Should().Be(0);
        var epochsBackwards = await pg.ScalarAsync<long>($"""
            SELECT count(*) FROM (SELECT epoch, lag(epoch) OVER (PARTITION BY persistence_id ORDER BY sequence_nr) AS before FROM {_schema}.journal) x
            WHERE epoch < before
            """);
        epochsBackwards.Should().Be(0, "no entity was live on two nodes at once: its writes' epochs never go back");
    }
}
