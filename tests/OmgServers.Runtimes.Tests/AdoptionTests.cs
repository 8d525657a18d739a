using System.Text.Json.Nodes;
using FluentAssertions;

namespace OmgServers.Runtimes.Tests;

/// <summary>A backend restart: a new host on the same state directory takes over what still runs.</summary>
public sealed class AdoptionTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private readonly Sandbox _sandbox = new();
    private string _exitFile = "";

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;
    public ValueTask DisposeAsync() => _sandbox.DisposeAsync();

    private ProcessHostOptions Options()
    {
        _exitFile = Path.Combine(_sandbox.Root, "exit-now");
        return _sandbox.Options(new()
        {
            ["sleeper"] = _sandbox.Image("sleeper", Scripts.Sleeper),
            ["parent"] = _sandbox.Image("parent", Scripts.Parent),
            ["exit-on-file"] = _sandbox.Image("exit-on-file", Scripts.ExitOnFile, new() { ["EXIT_FILE"] = _exitFile }),
        });
    }

    [Fact]
    public async Task A_new_host_adopts_running_runtimes_reports_dead_ones_and_stops_adopted_ones()
    {
        var options = Options();
        var first = _sandbox.Host(options);
        var kept = await first.StartAsync(Sandbox.Launch(1, "parent"), Ct);
        var diedWhileDown = await first.StartAsync(Sandbox.Launch(2, "sleeper"), Ct);
        var endsLater = await first.StartAsync(Sandbox.Launch(3, "exit-on-file"), Ct);
        foreach (var instance in new[] { kept, diedWhileDown, endsLater }) _sandbox.KillOnDispose(instance.ProcessId!.Value);
        var log = await Eventually.LogContainsAsync(first.LogPath(1), "ready", Deadline);
        var child = int.Parse(log.Split('\n').Single(l => l.StartsWith("child-pid=")).Split('=')[1]);
        _sandbox.KillOnDispose(child);
        await Eventually.LogContainsAsync(first.LogPath(3), "ready", Deadline);

        // The backend goes away without stopping anything; one runtime dies while nobody watches.
        await first.DisposeAsync();
        Proc.Kill(diedWhileDown.ProcessId!.Value);
        await Eventually.HoldsAsync(() => !Proc.IsRunning(diedWhileDown.ProcessId!.Value), Deadline, "runtime 2 is dead");

        var second = _sandbox.Host(options);
        var listed = await second.ListAsync(Ct);

        listed.Select(i => i.RuntimeId).Should().Equal(1, 3);
        listed[0].ProcessId.Should().Be(kept.ProcessId);
        listed[0].StartedAt.Should().Be(kept.StartedAt);
        File.Exists(Path.Combine(second.RuntimeDirectory(2), "runtime.json")).Should().BeFalse("the dead runtime's record is cleaned");

        await using var exits = new ExitWatch(second.Exits);
        var dead = await exits.NextAsync(Deadline);
        dead.RuntimeId.Should().Be(2);
        dead.ExitCode.Should().BeNull("nobody was its parent when it ended");

        // An adopted runtime that ends later is noticed by polling.
        File.WriteAllText(_exitFile, "");
        var later = await exits.NextAsync(Deadline);
        later.RuntimeId.Should().Be(3);
        later.ExitCode.Should().BeNull("an adopted runtime is not the host's child");
        (await second.ListAsync(Ct)).Select(i => i.RuntimeId).Should().Equal(1);

        // The adopted runtime stops like any other, children included.
        (await second.StopAsync(1, Ct)).Should().BeTrue();
        Proc.IsRunning(kept.ProcessId!.Value).Should().BeFalse();
        Proc.IsRunning(child).Should().BeFalse();
        (await second.ListAsync(Ct)).Should().BeEmpty();
        File.Exists(Path.Combine(second.RuntimeDirectory(1), "runtime.json")).Should().BeFalse();
    }

    [Fact]
    public async Task A_recorded_pid_that_now_belongs_to_another_process_is_never_touched()
    {
        var options = Options();
        using var stranger = Proc.StartStranger();
        _sandbox.KillOnDispose(stranger.Id);
        await Eventually.HoldsAsync(() => Proc.IsRunning(stranger.Id) && Proc.ProcessGroup(stranger.Id) == stranger.Id, Deadline, "the stranger leads its group");
        var ticks = Proc.StartTicks(stranger.Id);
        var bootId = File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim();

        // Records as a previous host would have left them, but the pid is now the stranger's:
        // 7 has another start time, 8 the same start time in another boot.
        WriteRecord(options, 7, stranger.Id, ticks + 12345, bootId);
        WriteRecord(options, 8, stranger.Id, ticks, "00000000-0000-0000-0000-000000000000");
        // 9 is a record nobody can read.
        Directory.CreateDirectory(Path.Combine(options.StateDirectory, "runtimes", "9"));
        File.WriteAllText(Path.Combine(options.StateDirectory, "runtimes", "9", "runtime.json"), "{ not json");

        var host = _sandbox.Host(options);
        (await host.ListAsync(Ct)).Should().BeEmpty();
        (await host.StopAsync(7, Ct)).Should().BeFalse();
        (await host.StopAsync(8, Ct)).Should().BeFalse();

        await using var exits = new ExitWatch(host.Exits);
        var reported = new[] { await exits.NextAsync(Deadline), await exits.NextAsync(Deadline), await exits.NextAsync(Deadline) };
        reported.Select(e => e.RuntimeId).Should().BeEquivalentTo([7L, 8L, 9L]);
        reported.Single(e => e.RuntimeId == 7).Reason.Should().Contain("another process");
        Proc.IsRunning(stranger.Id).Should().BeTrue("a reused pid and its group are never signalled");
        foreach (var id in new[] { 7, 8, 9 })
            File.Exists(Path.Combine(options.StateDirectory, "runtimes", id.ToString(), "runtime.json")).Should().BeFalse();
    }

    [Fact]
    public async Task Only_one_live_host_per_state_directory()
    {
        var options = Options();
        var first = _sandbox.Host(options);
        await first.ListAsync(Ct);

        var second = _sandbox.Host(options);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => second.ListAsync(Ct));
        error.Message.Should().Contain("in use");

        await first.DisposeAsync();
        var third = _sandbox.Host(options);
        (await third.ListAsync(Ct)).Should().BeEmpty("the lock is released with the first host");
    }

    private static void WriteRecord(ProcessHostOptions options, long runtimeId, int pid, ulong ticks, string bootId)
    {
        var directory = Path.Combine(options.StateDirectory, "runtimes", runtimeId.ToString());
        Directory.CreateDirectory(directory);
        var record = new JsonObject
        {
            ["runtime_id"] = runtimeId,
            ["host_name"] = "process",
            ["image_id"] = "process:sleeper",
            ["qualifier"] = "LOBBY",
            ["pid"] = pid,
            ["process_start_ticks"] = ticks,
            ["boot_id"] = bootId,
            ["started_at"] = DateTimeOffset.UtcNow,
            ["cpu_limit_millicores"] = 100,
            ["memory_limit_megabytes"] = 512,
            ["memory_limit_enforcement"] = "none",
            ["labels"] = new JsonObject(),
        };
        File.WriteAllText(Path.Combine(directory, "runtime.json"), record.ToJsonString());
    }
}
