using FluentAssertions;
using OmgServers.Runtimes;
using OmgServers.Service.Tests.Infrastructure;
using Xunit;

namespace OmgServers.Service.Tests.Lobbies;

/// <summary>
/// Hosting reconciles what runs with what should (issue: "a leftover process nobody owns is stopped"): a runtime process
/// left in the node's process-host directory with no runtime entity behind it is adopted at start and stopped by the
/// next reconcile, while the lobby of a real deployment keeps running.
/// </summary>
public sealed class ReconcileTests(TestPostgres postgres)
{
    [Fact]
    public async Task A_leftover_runtime_process_that_no_entity_owns_is_stopped_and_owned_ones_keep_running()
    {
        var stateDir = TempDirectory.NewPath("reconcile-state");
        const long leftoverId = 4_242_424_242;
        int leftoverPid;
        // A runtime as a crashed backend could leave it: started by a process host on the node's directory, never known
        // to the database.
        await using (var host = new ProcessRuntimeHost(new ProcessHostOptions
        {
            StateDirectory = stateDir,
            Images = { ["sleeper"] = new ProcessImage { Command = "sleep", Arguments = ["300"] } },
        }))
        {
            var instance = await host.StartAsync(new RuntimeLaunch(leftoverId, RuntimeQualifiers.Lobby, "process:sleeper", "pw", "http://127.0.0.1:1", 0, 0,
                new Dictionary<string, string>()), TestContext.Current.CancellationToken);
            leftoverPid = instance.ProcessId!.Value;
        }
        ProcessTable.Signal(leftoverPid, 0).Should().BeTrue("the leftover outlives its host, as a container outlives the backend");

        await using var backend = await LobbyBackend.StartAsync(postgres, new Dictionary<string, string> { ["OMGSERVERS_RUNTIMES_PROCESS_STATE_DIR"] = stateDir });
        try
        {
            var game = await backend.NewGameAsync();
            var player = await backend.NewPlayerAsync(game);
            var lobbyRuntime = await player.JoinLobbyAsync();

            (await Eventually.TrueAsync(() => !IsAlive(leftoverPid), TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(200)))
                .Should().BeTrue("the reconcile (every 15 s) stops a runtime no entity wants\n" + backend.Describe());
            backend.Service.Output.Should().Contain(line => line.Contains($"Reconcile stopped runtime {leftoverId}"));
            ProcessTable.OfRuntime(lobbyRuntime).Should().NotBeEmpty("the deployment's lobby is wanted and keeps running");
            (await player.SendAsync(new { echo = "still here" })).Status.Should().Be(System.Net.HttpStatusCode.OK);
        }
        finally
        {
            if (IsAlive(leftoverPid)) ProcessTable.Signal(leftoverPid, ProcessTable.SigKill);
        }
    }

    // Alive and not a zombie: a stopped runtime may linger as a zombie until its parent (this test's host, gone) is reaped.
    private static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var state = stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[0];
            return state != "Z" && state != "X";
        }
        catch (IOException)
        {
            return false;
        }
    }
}
