using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using FluentAssertions;
using OmgServers.Service.Tests.Infrastructure;
using Xunit;

namespace OmgServers.Service.Tests.Cluster;

/// <summary>
/// deploy/cluster/local.sh end to end: build, private PostgreSQL, three nodes, status, join, stop one, stop all.
/// Tagged so it can be left out (`--filter "Category!=LocalClusterScript"`) or run alone; it takes 20-40 s.
/// </summary>
[Trait("Category", "LocalClusterScript")]
public sealed class LocalClusterScriptTests
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(180); // includes a Release build
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Start_status_join_and_stop_run_a_cluster_of_real_nodes_on_one_postgres()
    {
        var state = TempDirectory.NewPath("local-cluster");
        // Separate bands below the kernel's ephemeral range (32768+), so outgoing connections do not take them.
        var apiPort = FreePortRange(4, 20000, 25000);
        var nodePort = FreePortRange(4, 25000, 30000);
        var pgPort = FreePortRange(1, 30000, 32000);
        var environment = new Dictionary<string, string>
        {
            ["CLUSTER_STATE_DIR"] = state,
            ["CLUSTER_API_PORT"] = apiPort.ToString(),
            ["CLUSTER_NODE_PORT"] = nodePort.ToString(),
            ["CLUSTER_PG_PORT"] = pgPort.ToString(),
            ["OMGSERVERS_ACTORS_SHARD_COUNT"] = "64",
        };
        Task<Scripts.Result> Local(TimeSpan timeout, params string[] arguments) =>
            Scripts.RunAsync(Scripts.Path("deploy/cluster/local.sh"), arguments, Scripts.RepositoryRoot, environment, timeout);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };

        try
        {
            var start = await Local(StartTimeout, "start", "3");
            start.ExitCode.Should().Be(0, start + NodeLogs(state));
            var table = start.Output.Split('\n').Where(l => l.StartsWith("node-")).ToList();
            table.Should().HaveCount(3, start.ToString());
            for (var i = 0; i < 3; i++)
            {
                table[i].Should().StartWith($"node-{i} ").And.Contain(" up ").And.Contain($"http://127.0.0.1:{apiPort + i}")
                    .And.Contain($"http://127.0.0.1:{nodePort + i}");
            }

            start.Output.Should().Contain("64 shards, 0 unowned, ready").And.Contain("local.sh stop");
            File.ReadAllText(Path.Combine(state, "cluster-secret")).Should().MatchRegex("^[0-9a-f]{64}$");
            var view = await ViewAsync(http, apiPort);
            view.Problem(up: ["node-0", "node-1", "node-2"], holders: ["node-0", "node-1", "node-2"]).Should().BeNull(view.ToString());

            var status = await Local(CommandTimeout, "status");
            status.ExitCode.Should().Be(0, status.ToString());
            status.Output.Should().Contain($"PostgreSQL runs on 127.0.0.1:{pgPort}");
            for (var i = 0; i < 3; i++) status.Output.Should().MatchRegex($"node-{i} runs, PID=[0-9]+, API=http://127.0.0.1:{apiPort + i}, READY=UP");

            var join = await Local(CommandTimeout, "join");
            join.ExitCode.Should().Be(0, join + NodeLogs(state));
            join.Output.Should().Contain($"starting node-3: API http://127.0.0.1:{apiPort + 3}");
            await WaitSettledAsync(http, apiPort + 3, ["node-0", "node-1", "node-2", "node-3"]);

            var stopOne = await Local(CommandTimeout, "stop", "node-1");
            stopOne.ExitCode.Should().Be(0, stopOne.ToString());
            stopOne.Output.Should().Contain("node-1 stopped");
            await WaitSettledAsync(http, apiPort, ["node-0", "node-2", "node-3"]);
            (await Reachable(apiPort + 1)).Should().BeFalse("node-1 exited");

            var pids = Enumerable.Range(0, 4).Select(i => Pid(state, i)).ToList();
            var stopAll = await Local(CommandTimeout, "stop");
            stopAll.ExitCode.Should().Be(0, stopAll.ToString());
            stopAll.Output.Should().Contain("stopping PostgreSQL");
            pids.Should().OnlyContain(pid => !Directory.Exists($"/proc/{pid}"), "every node process exited");
            (await Reachable(pgPort)).Should().BeFalse("PostgreSQL stopped");

            var after = await Local(CommandTimeout, "status");
            after.ExitCode.Should().Be(3, after.ToString());
            after.Output.Should().Contain("PostgreSQL is not running").And.Contain("node-0 is stopped");
            File.ReadAllText(Path.Combine(state, "nodes", "node-0", "node.log")).Should().Contain("actor runtime stopped");
        }
        finally
        {
            if (Directory.Exists(state))
            {
                await Local(CommandTimeout, "stop"); // whatever still runs after a failure
                Directory.Delete(state, recursive: true);
            }
        }
    }

    private static async Task<ClusterView> ViewAsync(HttpClient http, int port)
    {
        var text = await http.GetStringAsync($"http://127.0.0.1:{port}/q/cluster", TestContext.Current.CancellationToken);
        return ClusterView.Parse(JsonDocument.Parse(text).RootElement);
    }

    private static async Task WaitSettledAsync(HttpClient http, int port, string[] nodes)
    {
        string? problem = "no answer yet";
        await Eventually.TrueAsync(async () =>
        {
            problem = (await ViewAsync(http, port)).Problem(up: nodes, holders: nodes);
            return problem is null;
        }, TestCluster.SettleDeadline, TimeSpan.FromMilliseconds(200));
        problem.Should().BeNull();
    }

    private static int Pid(string state, int node) =>
        int.Parse(File.ReadAllLines(Path.Combine(state, "nodes", $"node-{node}", "node.env")).Single(l => l.StartsWith("PID="))[4..]);

    private static async Task<bool> Reachable(int port)
    {
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, port, TestContext.Current.CancellationToken);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>The first of <paramref name="count"/> consecutive free loopback ports in [low, high).</summary>
    private static int FreePortRange(int count, int low, int high)
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var first = Random.Shared.Next(low, high - count);
            if (Enumerable.Range(first, count).All(PortFree)) return first;
        }

        throw new InvalidOperationException($"no {count} consecutive free ports found");
    }

    private static bool PortFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static string NodeLogs(string state) =>
        string.Concat(Directory.Exists(Path.Combine(state, "nodes"))
            ? Directory.GetFiles(Path.Combine(state, "nodes"), "node.log", SearchOption.AllDirectories)
                .Select(f => $"\n=== {f}\n{string.Join('\n', File.ReadLines(f).TakeLast(30))}")
            : []);
}
