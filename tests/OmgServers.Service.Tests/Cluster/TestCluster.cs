using System.Net;
using System.Security.Cryptography;
using FluentAssertions;
using OmgServers.Hosting;
using OmgServers.Service.Tests.Infrastructure;
using Xunit;

namespace OmgServers.Service.Tests.Cluster;

/// <summary>
/// Real service processes forming one cluster on 127.0.0.1: each with its own API port and cluster port, instance id
/// i (node id node-i), one shared secret, and one database of their own on the test PostgreSQL.
/// </summary>
public sealed class TestCluster : IAsyncDisposable
{
    public const int ShardCount = 32;
    public static readonly TimeSpan StartDeadline = TimeSpan.FromSeconds(60);
    public static readonly TimeSpan SettleDeadline = TimeSpan.FromSeconds(30);

    private readonly ServiceProcess[] _nodes;

    private TestCluster(ServiceProcess[] nodes, string work)
    {
        _nodes = nodes;
        WorkDirectory = work;
    }

    public string WorkDirectory { get; }

    public ServiceProcess this[int index] => _nodes[index];

    public int Count => _nodes.Length;

    public static string NodeId(int index) => $"node-{index}";

    /// <summary>Starts <paramref name="count"/> nodes on a fresh database and waits until every one is ready.</summary>
    public static async Task<TestCluster> StartAsync(TestPostgres postgres, int count, IReadOnlyDictionary<string, string>? extra = null)
    {
        var database = await postgres.CreateDatabaseAsync("cluster", TestContext.Current.CancellationToken);
        var secret = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        var work = TempDirectory.NewPath("cluster");
        var nodes = new ServiceProcess[count];
        for (var i = 0; i < count; i++)
        {
            var environment = new Dictionary<string, string>
            {
                ["OMGSERVERS_DATABASE_URL"] = database,
                ["OMGSERVERS_SERVER_INSTANCE_ID"] = i.ToString(),
                ["OMGSERVERS_ACTORS_CLUSTER_PORT"] = EmbeddedPostgres.FindFreeLoopbackPort().ToString(),
                ["OMGSERVERS_ACTORS_CLUSTER_SECRET"] = secret,
                ["OMGSERVERS_ACTORS_SHARD_COUNT"] = ShardCount.ToString(),
            };
            foreach (var (name, value) in extra ?? new Dictionary<string, string>()) environment[name] = value;
            nodes[i] = ServiceProcess.Start(environment, Path.Combine(work, NodeId(i)));
        }

        var cluster = new TestCluster(nodes, work);
        for (var i = 0; i < count; i++)
        {
            (await nodes[i].WaitForStatusAsync("/q/health/ready", HttpStatusCode.OK, StartDeadline))
                .Should().BeTrue($"{NodeId(i)} becomes ready\n{nodes[i].Describe()}");
        }

        return cluster;
    }

    public async Task<ClusterView> ViewAsync(int index)
    {
        var (status, body) = await _nodes[index].GetJsonAsync("/q/cluster");
        status.Should().Be(HttpStatusCode.OK, body.ToString());
        return ClusterView.Parse(body);
    }

    /// <summary>
    /// Waits until every node in <paramref name="observers"/> sees exactly <paramref name="up"/> up and exactly
    /// <paramref name="holders"/> holding shards, each shard owned once, then asserts it (so a timeout names what differs).
    /// </summary>
    public async Task<IReadOnlyList<ClusterView>> WaitSettledAsync(IEnumerable<int> observers, IEnumerable<string> up, IEnumerable<string> holders)
    {
        var watchers = observers.ToList();
        var upList = up.ToList();
        var holderList = holders.ToList();
        var problems = new List<string>();
        await Eventually.TrueAsync(async () =>
        {
            problems.Clear();
            foreach (var i in watchers)
            {
                if (await ViewAsync(i) is var view && view.Problem(upList, holderList) is { } problem) problems.Add(problem);
            }

            return problems.Count == 0;
        }, SettleDeadline, TimeSpan.FromMilliseconds(200));
        problems.Should().BeEmpty("the cluster settles within {0}; last views:\n{1}", SettleDeadline,
            string.Join('\n', await Task.WhenAll(watchers.Select(async i => (await ViewAsync(i)).ToString()))));

        var views = new List<ClusterView>();
        foreach (var i in watchers) views.Add(await ViewAsync(i));
        return views;
    }

    public string Describe() => string.Join("\n", _nodes.Select((n, i) => $"=== {NodeId(i)}\n{n.Describe()}"));

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes) await node.DisposeAsync();
        try
        {
            Directory.Delete(WorkDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
