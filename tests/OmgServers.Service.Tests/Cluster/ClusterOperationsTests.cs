using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Text.Json;
using FluentAssertions;
using OmgServers.Service.Tests.Infrastructure;
using Xunit;

namespace OmgServers.Service.Tests.Cluster;

/// <summary>
/// Real service processes clustered on one database, operated the way an operator does: GET /q/cluster on every node,
/// `omgserversctl.sh cluster drain|undrain|show`, SIGTERM for a graceful leave, and the loopback-only guard.
/// </summary>
public sealed class ClusterOperationsTests(TestPostgres postgres)
{
    private static readonly string[] ThreeNodes = ["node-0", "node-1", "node-2"];

    [Fact]
    public async Task Every_node_sees_every_shard_owned_once_and_the_cli_drains_and_undrains_a_node()
    {
        await using var cluster = await TestCluster.StartAsync(postgres, 3);

        var views = await cluster.WaitSettledAsync([0, 1, 2], up: ThreeNodes, holders: ThreeNodes);
        views.Select(v => v.SelfNodeId).Should().Equal(ThreeNodes);
        foreach (var view in views)
        {
            view.ShardCount.Should().Be(TestCluster.ShardCount);
            view.Nodes.Should().OnlyContain(n => n.Address.StartsWith("http://localhost:"),
                "the default node address is the host of OMGSERVERS_SERVER_URI (default http://localhost:8080) with the cluster port");
            view.Nodes.Should().OnlyContain(n => n.ApiAddress == "http://localhost:8080", "each node records its OMGSERVERS_SERVER_URI");
        }

        var ctlDirectory = TempDirectory.NewPath("ctl");
        try
        {
            var show = await Ctl(ctlDirectory, cluster, 2, "cluster", "show");
            show.ExitCode.Should().Be(0, show.ToString());
            var rows = show.Output.Split('\n').Where(l => l.StartsWith("node-")).ToList();
            rows.Should().HaveCount(3, show.ToString());
            rows.Should().ContainSingle(r => r.StartsWith("node-2 *"), "the answering node is marked");
            rows.Should().OnlyContain(r => r.Contains(" up ") && r.Contains("s ago"), show.ToString());
            show.Output.Should().Contain($"Shards {TestCluster.ShardCount}, unowned 0, ready");

            // Drain node-1 through the CLI (called on node-0): it keeps running and holds nothing; the others hold all.
            var drain = await Ctl(ctlDirectory, cluster, 0, "cluster", "drain", "node-1");
            drain.ExitCode.Should().Be(0, drain.ToString());
            drain.Output.Should().Contain("NODE_ID=node-1, STATE=leaving");
            views = await cluster.WaitSettledAsync([0, 1, 2], up: ["node-0", "node-2"], holders: ["node-0", "node-2"]);
            views.Should().OnlyContain(v => v.Nodes.Single(n => n.NodeId == "node-1").State == "leaving");
            cluster[1].HasExited.Should().BeFalse("a drained node keeps running");
            (await cluster[1].GetJsonAsync("/q/health/ready")).Status.Should().Be(HttpStatusCode.OK, "the live nodes serve every shard");

            var undrain = await Ctl(ctlDirectory, cluster, 1, "cluster", "undrain", "node-1");
            undrain.ExitCode.Should().Be(0, undrain.ToString());
            undrain.Output.Should().Contain("NODE_ID=node-1, STATE=up");
            await cluster.WaitSettledAsync([0, 1, 2], up: ThreeNodes, holders: ThreeNodes);

            var unknown = await Ctl(ctlDirectory, cluster, 0, "cluster", "drain", "node-9");
            unknown.ExitCode.Should().Be(1, unknown.ToString());
            unknown.Errors.Should().Contain("HTTP_CODE=404").And.Contain("SERVER_NOT_FOUND");

            File.ReadAllText(Path.Combine(ctlDirectory, "logs")).Should().Contain($"POST http://127.0.0.1:{cluster[0].Port}/q/cluster/nodes/node-1/drain");
        }
        finally
        {
            Directory.Delete(ctlDirectory, recursive: true);
        }
    }

    [Fact]
    public async Task A_node_stopped_with_SIGTERM_hands_its_shards_to_the_others_before_its_leases_could_expire()
    {
        // Leases far longer than the wait: if the shards move in time, they were handed off, not taken over after expiry.
        await using var cluster = await TestCluster.StartAsync(postgres, 3, new Dictionary<string, string>
        {
            ["OMGSERVERS_ACTORS_LEASE_TTL"] = "60s",
        });
        await cluster.WaitSettledAsync([0, 1, 2], up: ThreeNodes, holders: ThreeNodes);

        var left = DateTime.UtcNow;
        (await cluster[2].TerminateAsync(TimeSpan.FromSeconds(30))).Should().Be(0, cluster[2].Describe());
        var views = await cluster.WaitSettledAsync([0, 1], up: ["node-0", "node-1"], holders: ["node-0", "node-1"]);
        (DateTime.UtcNow - left).Should().BeLessThan(TimeSpan.FromSeconds(45), "a graceful leave does not wait for the 60 s lease TTL");
        views.Should().OnlyContain(v => v.Nodes.All(n => n.NodeId != "node-2"), "a node that left unregisters itself");
        cluster[2].Output.Should().Contain(line => line.Contains("actor runtime stopped"), cluster[2].Describe());
    }

    [Fact]
    public async Task The_cluster_endpoints_refuse_callers_that_are_not_on_loopback()
    {
        // A non-loopback address of this machine: a connection to it stays on this host, but the server sees that
        // address as the caller. Machines with only a loopback interface cannot show the difference.
        var address = NetworkInterface.GetAllNetworkInterfaces()
            .Where(i => i.OperationalStatus == OperationalStatus.Up && i.NetworkInterfaceType != NetworkInterfaceType.Loopback)
            .SelectMany(i => i.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));
        Assert.SkipWhen(address is null, "no non-loopback IPv4 address to call from on this machine");

        await using var cluster = await TestCluster.StartAsync(postgres, 1, new Dictionary<string, string>
        {
            ["OMGSERVERS_SERVER_HOST"] = "0.0.0.0", // the API on every interface, so both kinds of caller reach it
        });
        using var remote = new HttpClient { BaseAddress = new Uri($"http://{address}:{cluster[0].Port}"), Timeout = TimeSpan.FromSeconds(10) };
        var ct = TestContext.Current.CancellationToken;

        using (var health = await remote.GetAsync("/q/health/ready", ct))
        {
            health.StatusCode.Should().Be(HttpStatusCode.OK, "the non-loopback address reaches the same server");
        }

        using (var show = await remote.GetAsync("/q/cluster", ct))
        {
            show.StatusCode.Should().Be(HttpStatusCode.Forbidden);
            JsonDocument.Parse(await show.Content.ReadAsStringAsync(ct)).RootElement.TryGetProperty("nodes", out _).Should().BeFalse();
        }

        using (var drain = await remote.PostAsync("/q/cluster/nodes/node-0/drain", null, ct))
        {
            drain.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        }

        var view = await cluster.ViewAsync(0);
        view.Problem(up: ["node-0"], holders: ["node-0"]).Should().BeNull("the refused drain changed nothing: {0}", view);
    }

    private static Task<Scripts.Result> Ctl(string directory, TestCluster cluster, int node, params string[] arguments) =>
        Scripts.RunAsync(Scripts.Path("omgserversctl.sh"), [.. arguments, "--url", $"http://127.0.0.1:{cluster[node].Port}"], directory,
            new Dictionary<string, string> { ["OMGSERVERSCTL_DIRECTORY"] = directory });
}
