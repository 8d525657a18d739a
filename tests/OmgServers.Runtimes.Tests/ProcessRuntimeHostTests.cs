using System.Diagnostics;
using FluentAssertions;

namespace OmgServers.Runtimes.Tests;

/// <summary>Start, list, stop, capacity, exits and the runtime's environment, with real processes.</summary>
public sealed class ProcessRuntimeHostTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private readonly Sandbox _sandbox = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;
    public ValueTask DisposeAsync() => _sandbox.DisposeAsync();

    private ProcessRuntimeHost NewHost(Action<ProcessHostOptions>? configure = null, CapturingLogger<ProcessRuntimeHost>? logger = null)
    {
        var options = _sandbox.Options(new()
        {
            ["sleeper"] = _sandbox.Image("sleeper", Scripts.Sleeper, new() { ["GAME_MODE"] = "deathmatch", ["OMGSERVERS_RUNTIME_ID"] = "image-must-not-win" }),
            ["crash"] = _sandbox.Image("crash", Scripts.Crash),
            ["stubborn"] = _sandbox.Image("stubborn", Scripts.Stubborn),
            ["parent"] = _sandbox.Image("parent", Scripts.Parent),
            ["orphaner"] = _sandbox.Image("orphaner", Scripts.Orphaner),
            ["quiet"] = _sandbox.Image("quiet", Scripts.Quiet),
        });
        configure?.Invoke(options);
        return _sandbox.Host(options, logger);
    }

    [Fact]
    public async Task Start_list_and_graceful_stop()
    {
        var host = NewHost();
        var instance = await host.StartAsync(Sandbox.Launch(11, "sleeper"), Ct);

        instance.RuntimeId.Should().Be(11);
        instance.HostName.Should().Be("process");
        instance.ImageId.Should().Be("process:sleeper");
        var pid = instance.ProcessId!.Value;
        Proc.IsRunning(pid).Should().BeTrue();
        Proc.ProcessGroup(pid).Should().Be(pid, "a runtime leads its own process group");
        (await host.ListAsync(Ct)).Should().ContainSingle().Which.Should().Be(instance);
        await Eventually.LogContainsAsync(host.LogPath(11), "ready", Deadline);

        var clock = Stopwatch.StartNew();
        (await host.StopAsync(11, Ct)).Should().BeTrue();

        clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(5), "SIGTERM ends it well before the 10 s grace period");
        Proc.IsRunning(pid).Should().BeFalse();
        Eventually.Read(host.LogPath(11)).Should().Contain("got-term", "it was asked with SIGTERM, not killed");
        (await host.ListAsync(Ct)).Should().BeEmpty();
        File.Exists(Path.Combine(host.RuntimeDirectory(11), "runtime.json")).Should().BeFalse();
        (await host.StopAsync(11, Ct)).Should().BeFalse("stopping again finds nothing");
        (await host.StopAsync(999, Ct)).Should().BeFalse();

        // A stop produces no exit: the next exit seen is the crash started afterwards.
        await using var exits = new ExitWatch(host.Exits);
        await host.StartAsync(Sandbox.Launch(12, "crash"), Ct);
        (await exits.NextAsync(Deadline)).RuntimeId.Should().Be(12);
    }

    [Fact]
    public async Task Stop_kills_after_the_grace_period_when_SIGTERM_is_ignored()
    {
        var host = NewHost(o => o.StopGracePeriod = TimeSpan.FromSeconds(1));
        var pid = (await host.StartAsync(Sandbox.Launch(21, "stubborn"), Ct)).ProcessId!.Value;
        await Eventually.LogContainsAsync(host.LogPath(21), "ready", Deadline);

        var clock = Stopwatch.StartNew();
        (await host.StopAsync(21, Ct)).Should().BeTrue();

        clock.Elapsed.Should().BeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(950), "it survived SIGTERM for the grace period");
        clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(6));
        Proc.IsRunning(pid).Should().BeFalse();
        (await host.ListAsync(Ct)).Should().BeEmpty();
    }

    [Fact]
    public async Task Stopping_kills_the_runtimes_children_with_its_group()
    {
        var host = NewHost();
        var pid = (await host.StartAsync(Sandbox.Launch(31, "parent"), Ct)).ProcessId!.Value;
        var log = await Eventually.LogContainsAsync(host.LogPath(31), "ready", Deadline);
        var child = int.Parse(log.Split('\n').Single(l => l.StartsWith("child-pid=")).Split('=')[1]);
        _sandbox.KillOnDispose(child);
        Proc.IsRunning(child).Should().BeTrue();
        Proc.ProcessGroup(child).Should().Be(pid);

        (await host.StopAsync(31, Ct)).Should().BeTrue();

        Proc.IsRunning(pid).Should().BeFalse();
        Proc.IsRunning(child).Should().BeFalse("the child is in the runtime's process group");
    }

    [Fact]
    public async Task Start_is_idempotent_per_runtime_id()
    {
        var host = NewHost();
        var concurrent = await Task.WhenAll(
            host.StartAsync(Sandbox.Launch(41, "sleeper"), Ct),
            host.StartAsync(Sandbox.Launch(41, "sleeper"), Ct));
        var again = await host.StartAsync(Sandbox.Launch(41, "sleeper"), Ct);

        concurrent[1].Should().Be(concurrent[0]);
        again.Should().Be(concurrent[0]);
        (await host.ListAsync(Ct)).Should().ContainSingle();
        Directory.GetDirectories(Path.Combine(_sandbox.State, "runtimes")).Should().ContainSingle();
    }

    [Fact]
    public async Task Start_beyond_capacity_throws_a_typed_exception_until_a_slot_frees()
    {
        var host = NewHost(o => o.MaxRuntimes = 2);
        await host.StartAsync(Sandbox.Launch(51, "quiet"), Ct);
        await host.StartAsync(Sandbox.Launch(52, "quiet"), Ct);

        var full = await Assert.ThrowsAsync<RuntimeHostFullException>(() => host.StartAsync(Sandbox.Launch(53, "quiet"), Ct));
        full.HostName.Should().Be("process");
        full.Capacity.Should().Be(2);
        (await host.StartAsync(Sandbox.Launch(52, "quiet"), Ct)).RuntimeId.Should().Be(52, "a running one is returned even when full");

        await host.StopAsync(51, Ct);
        (await host.StartAsync(Sandbox.Launch(53, "quiet"), Ct)).RuntimeId.Should().Be(53);
        (await host.ListAsync(Ct)).Select(i => i.RuntimeId).Should().Equal(52, 53);
    }

    [Fact]
    public async Task A_crash_is_reported_exactly_once_with_its_exit_code()
    {
        var host = NewHost();
        await using var exits = new ExitWatch(host.Exits);
        await host.StartAsync(Sandbox.Launch(61, "crash"), Ct);

        var exit = await exits.NextAsync(Deadline);

        exit.RuntimeId.Should().Be(61);
        exit.ExitCode.Should().Be(3);
        exit.Reason.Should().Contain("3");
        (await host.ListAsync(Ct)).Should().BeEmpty();
        (await host.StopAsync(61, Ct)).Should().BeFalse("it is gone; its exit was reported");
        File.Exists(Path.Combine(host.RuntimeDirectory(61), "runtime.json")).Should().BeFalse();
        Eventually.Read(host.LogPath(61)).Should().Contain("crashing", "the log of an ended runtime is kept");

        // Once: the next exit is a later crash, not 61 again. The host restarted nothing.
        await host.StartAsync(Sandbox.Launch(62, "crash"), Ct);
        (await exits.NextAsync(Deadline)).RuntimeId.Should().Be(62);
        (await host.ListAsync(Ct)).Should().BeEmpty();
    }

    [Fact]
    public async Task A_runtime_that_ends_leaves_no_processes_behind()
    {
        var host = NewHost();
        await using var exits = new ExitWatch(host.Exits);
        await host.StartAsync(Sandbox.Launch(71, "orphaner"), Ct);

        var exit = await exits.NextAsync(Deadline);
        var log = await Eventually.LogContainsAsync(host.LogPath(71), "child-pid=", Deadline);
        var child = int.Parse(log.Split('\n').Single(l => l.StartsWith("child-pid=")).Split('=')[1]);
        _sandbox.KillOnDispose(child);

        exit.ExitCode.Should().Be(7);
        await Eventually.HoldsAsync(() => !Proc.IsRunning(child), Deadline, "the orphaned child is killed like the rest of a container");
    }

    [Fact]
    public async Task The_runtime_gets_the_contract_variables_and_nothing_of_the_backend()
    {
        Environment.SetEnvironmentVariable("BACKEND_SECRET_FOR_RUNTIMES_TEST", "backend-only");
        var host = NewHost();
        var launch = Sandbox.Launch(81, "sleeper", RuntimeQualifiers.Match) with { ServiceUrl = "http://127.0.0.1:18080" };
        var pid = (await host.StartAsync(launch, Ct)).ProcessId!.Value;

        var log = await Eventually.LogContainsAsync(host.LogPath(81), "ready", Deadline);

        log.Should().Contain("OMGSERVERS_RUNTIME_ID=81\n", "the contract's value wins over the image's");
        log.Should().Contain("OMGSERVERS_RUNTIME_QUALIFIER=MATCH\n");
        log.Should().Contain("OMGSERVERS_QUALIFIER=MATCH\n");
        log.Should().Contain("OMGSERVERS_SERVICE_URL=http://127.0.0.1:18080\n");
        log.Should().Contain("GAME_MODE=deathmatch\n");
        log.Should().Contain($"cwd={Path.Combine(host.RuntimeDirectory(81), "work")}\n");
        log.Should().NotContain("BACKEND_SECRET_FOR_RUNTIMES_TEST");
        Proc.Environment(pid).Should().Contain($"OMGSERVERS_PASSWORD={Sandbox.Password}\n", "the password reaches the runtime in its environment");
        Proc.CommandLine(pid).Should().NotContain(Sandbox.Password, "never on the command line, which every user can read");
    }

    [Fact]
    public async Task The_password_appears_in_no_log_and_no_file_of_the_host()
    {
        var logger = new CapturingLogger<ProcessRuntimeHost>();
        var host = NewHost(o => o.StopGracePeriod = TimeSpan.FromMilliseconds(500), logger);
        await using var exits = new ExitWatch(host.Exits);
        await host.StartAsync(Sandbox.Launch(91, "quiet"), Ct);
        await host.StartAsync(Sandbox.Launch(92, "stubborn"), Ct);
        var record = File.ReadAllText(Path.Combine(host.RuntimeDirectory(91), "runtime.json"));
        await host.StartAsync(Sandbox.Launch(93, "crash"), Ct);
        await exits.NextAsync(Deadline);
        await Eventually.LogContainsAsync(host.LogPath(92), "ready", Deadline);
        await host.StopAsync(91, Ct);
        await host.StopAsync(92, Ct);
        await Assert.ThrowsAsync<RuntimeImageNotSupportedException>(() => host.StartAsync(Sandbox.Launch(94, "unknown"), Ct));

        record.Should().Contain("\"pid\"").And.Contain("\"process_start_ticks\"").And.NotContain(Sandbox.Password);
        logger.Entries.Should().NotBeEmpty();
        logger.Texts.Should().Contain(t => t.Contains("started"));
        logger.Texts.Should().NotContain(t => t.Contains(Sandbox.Password));
        foreach (var file in Directory.EnumerateFiles(_sandbox.State, "*", SearchOption.AllDirectories))
            Eventually.Read(file).Should().NotContain(Sandbox.Password, file);
        Sandbox.Launch(95, "quiet").ToString().Should().NotContain(Sandbox.Password).And.Contain("Password = ***");
    }

    [Fact]
    public async Task Unenforced_limits_are_warned_about_once()
    {
        var logger = new CapturingLogger<ProcessRuntimeHost>();
        var host = NewHost(logger: logger);
        var pid = (await host.StartAsync(Sandbox.Launch(101, "quiet", memory: 64), Ct)).ProcessId!.Value;
        await host.StartAsync(Sandbox.Launch(102, "quiet", memory: 64), Ct);
        await Eventually.LogContainsAsync(host.LogPath(101), "ready", Deadline);

        logger.Entries.Where(e => e.Level == Microsoft.Extensions.Logging.LogLevel.Warning && e.Text.Contains("does not enforce CPU limits"))
            .Should().ContainSingle();
        Proc.Limits(pid).Should().MatchRegex(@"Max address space\s+unlimited");
    }

    [Fact]
    public async Task Address_space_mode_caps_the_runtimes_memory()
    {
        var host = NewHost(o =>
        {
            o.MemoryLimit = ProcessMemoryLimit.AddressSpace;
            o.Images["hog"] = _sandbox.Image("hog", Scripts.MemoryHog);
        });
        await using var exits = new ExitWatch(host.Exits);
        var pid = (await host.StartAsync(Sandbox.Launch(111, "quiet", memory: 256), Ct)).ProcessId!.Value;
        await Eventually.LogContainsAsync(host.LogPath(111), "ready", Deadline); // the wrapper has applied the limit and exec'd
        Proc.Limits(pid).Should().MatchRegex(@"Max address space\s+268435456\s+268435456\s+bytes");

        await host.StartAsync(Sandbox.Launch(112, "hog", memory: 32), Ct);
        var exit = await exits.NextAsync(Deadline);
        exit.RuntimeId.Should().Be(112);
        exit.ExitCode.Should().NotBe(0, "holding 100 MB under a 32 MiB cap fails");
        Eventually.Read(host.LogPath(112)).Should().NotContain("allocated 100000000");

        var free = await host.StartAsync(Sandbox.Launch(113, "hog", memory: 0), Ct);
        await Eventually.LogContainsAsync(host.LogPath(113), "allocated 100000000", Deadline);
        Proc.IsRunning(free.ProcessId!.Value).Should().BeTrue("0 means no limit");
    }

    [Fact]
    public async Task A_start_during_a_stop_waits_for_the_stop_and_starts_anew()
    {
        var host = NewHost(o => o.StopGracePeriod = TimeSpan.FromSeconds(1));
        var before = await host.StartAsync(Sandbox.Launch(131, "stubborn"), Ct);
        await Eventually.LogContainsAsync(host.LogPath(131), "ready", Deadline);

        var stop = host.StopAsync(131, Ct);
        var after = await host.StartAsync(Sandbox.Launch(131, "stubborn"), Ct);

        Proc.IsRunning(before.ProcessId!.Value).Should().BeFalse("the start waited until the stop had ended the old process");
        (await stop).Should().BeTrue();
        after.ProcessId.Should().NotBe(before.ProcessId);
        Proc.IsRunning(after.ProcessId!.Value).Should().BeTrue();
        (await host.ListAsync(Ct)).Should().ContainSingle().Which.Should().Be(after);
    }

    [Fact]
    public async Task Unread_exits_are_bounded_dropping_the_oldest_with_a_warning()
    {
        var logger = new CapturingLogger<ProcessRuntimeHost>();
        var host = NewHost(o => o.MaxPendingExits = 2, logger);
        for (var id = 141; id <= 143; id++) await host.StartAsync(Sandbox.Launch(id, "crash"), Ct);
        string? warning = null;
        await Eventually.HoldsAsync(() => (warning = logger.Texts.FirstOrDefault(t => t.Contains("dropped the exit of runtime"))) is not null,
            Deadline, "the oldest exit is dropped");
        await Eventually.HoldsAsync(async () => (await host.ListAsync(Ct)).Count == 0, Deadline, "all three ended");
        var dropped = long.Parse(System.Text.RegularExpressions.Regex.Match(warning!, @"dropped the exit of runtime (\d+)").Groups[1].Value);

        await using var exits = new ExitWatch(host.Exits);
        var kept = new[] { await exits.NextAsync(Deadline), await exits.NextAsync(Deadline) };
        await host.StartAsync(Sandbox.Launch(144, "crash"), Ct);

        kept.Select(e => e.RuntimeId).Append(dropped).Should().BeEquivalentTo([141L, 142L, 143L]);
        logger.Texts.Count(t => t.Contains("dropped the exit")).Should().Be(1);
        (await exits.NextAsync(Deadline)).RuntimeId.Should().Be(144, "nothing else was pending");
    }

    [Fact]
    public async Task A_launch_is_validated_before_anything_runs()
    {
        var host = NewHost();
        await Assert.ThrowsAsync<RuntimeImageNotSupportedException>(() => host.StartAsync(Sandbox.Launch(121, "missing"), Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => host.StartAsync(Sandbox.Launch(121, "quiet", qualifier: "lobby"), Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => host.StartAsync(Sandbox.Launch(121, "quiet") with { Password = "" }, Ct));
        host.CanRun("process:quiet").Should().BeTrue();
        host.CanRun("process:missing").Should().BeFalse();
        host.CanRun("omgservers/tenant/project/universal:1").Should().BeFalse();
        (await host.ListAsync(Ct)).Should().BeEmpty();
    }
}
