using System.Text.Json;
using FluentAssertions;

namespace OmgServers.Service.Tests.Cluster;

/// <summary>The body of GET /q/cluster, as one node sees the cluster.</summary>
public sealed record ClusterView(string Self, int ShardCount, int UnownedShards, bool Ready, IReadOnlyList<ClusterView.Node> Nodes)
{
    public sealed record Node(string NodeId, string Owner, string Address, string ApiAddress, string State, IReadOnlyList<int> Shards);

    /// <summary>The node id of the node that answered (self is the lease owner, node id + "/" + incarnation).</summary>
    public string SelfNodeId => Self.Split('/')[0];

    public static ClusterView Parse(JsonElement body) => new(
        body.GetProperty("self").GetString()!,
        body.GetProperty("shard_count").GetInt32(),
        body.GetProperty("unowned_shards").GetInt32(),
        body.GetProperty("ready").GetBoolean(),
        body.GetProperty("nodes").EnumerateArray().Select(n =>
        {
            var shards = n.GetProperty("shards").EnumerateArray().Select(s => s.GetInt32()).ToList();
            n.GetProperty("shard_count").GetInt32().Should().Be(shards.Count, "shard_count counts the shards listed");
            return new Node(
                n.GetProperty("node_id").GetString()!,
                n.GetProperty("owner").GetString()!,
                n.GetProperty("address").GetString()!,
                n.GetProperty("api_address").GetString()!,
                n.GetProperty("state").GetString()!,
                shards);
        }).ToList());

    /// <summary>
    /// What differs from a settled cluster in which exactly <paramref name="up"/> are up, exactly <paramref name="holders"/>
    /// hold shards, every shard has one owner and the answering node is ready; null when nothing does.
    /// </summary>
    public string? Problem(IEnumerable<string> up, IEnumerable<string> holders)
    {
        var problems = new List<string>();
        var upNow = Nodes.Where(n => n.State == "up").Select(n => n.NodeId).Order().ToList();
        var upWanted = up.Order().ToList();
        if (!upNow.SequenceEqual(upWanted)) problems.Add($"up nodes [{string.Join(", ", upNow)}], want [{string.Join(", ", upWanted)}]");

        var holdingNow = Nodes.Where(n => n.Shards.Count > 0).Select(n => n.NodeId).Order().ToList();
        var holdingWanted = holders.Order().ToList();
        if (!holdingNow.SequenceEqual(holdingWanted)) problems.Add($"nodes holding shards [{string.Join(", ", holdingNow)}], want [{string.Join(", ", holdingWanted)}]");

        if (UnownedShards != 0) problems.Add($"{UnownedShards} unowned shards");
        var owned = Nodes.SelectMany(n => n.Shards).Order().ToList();
        if (!owned.SequenceEqual(Enumerable.Range(0, ShardCount)))
        {
            var twice = owned.GroupBy(s => s).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
            var missing = Enumerable.Range(0, ShardCount).Except(owned).ToList();
            problems.Add($"shards owned twice [{string.Join(", ", twice)}], not owned [{string.Join(", ", missing)}]");
        }

        if (!Ready) problems.Add("not ready");
        return problems.Count == 0 ? null : $"{SelfNodeId} sees: {string.Join("; ", problems)}";
    }

    public override string ToString() =>
        $"{Self}: {ShardCount} shards, {UnownedShards} unowned, ready={Ready}; " +
        string.Join("; ", Nodes.Select(n => $"{n.NodeId} {n.State} {n.Shards.Count} shards at {n.Address}"));
}
