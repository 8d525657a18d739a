using FluentAssertions;

namespace OmgServers.Runtimes.Tests;

/// <summary>The supervisor over real process hosts: placement, reconcile, exits.</summary>
public sealed class RuntimeSupervisorTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private readonly Sandbox _sandbox = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;
    public ValueTask DisposeAsync() => _sandbox.DisposeAsync();

    private ProcessHostOptions Options(string name, int maxRuntimes = 16, params string[] images)
    {
        var all = new Dictionary<string, ProcessImage>
        {
            ["quiet"] = _sandbox.Image("quiet", Scripts.Quiet),
            ["crash"] = _sandbox.Image("crash", Scripts.Crash),
        };
        var options = _sandbox.Options(images.Length == 0 ? all : images.ToDictionary(i => i, i => all.GetValueOrDefault(i) ?? _sandbox.Image(i, Scripts.Quiet)),
            Path.Combine(_sandbox.Root, "state-" + name), name);
        options.MaxRuntimes = maxRuntimes;
        return options;
    }

    [Fact]
    public async Task Reconcile_stops_leftovers_and_reports_missing_runtimes_without_starting_them()
    {
        await using var supervisor = new RuntimeSupervisor([_sandbox.Host(Options("a"))]);
        var pids = new Dictionary<long, int>();
        foreach (var id in new long[] { 1, 2, 3 })
            pids[id] = (await supervisor.StartAsync(Sandbox.Launch(id, "quiet"), Ct)).ProcessId!.Value;

        var missing = await supervisor.ReconcileAsync(new HashSet<long> { 2, 3, 4 }, Ct);

        missing.Should().BeEquivalentTo([4L]);
        Proc.IsRunning(pids[1]).Should().BeFalse("1 is a leftover nobody owns");
        Proc.IsRunning(pids[2]).Should().BeTrue();
        Proc.IsRunning(pids[3]).Should().BeTrue();
        (await supervisor.ListAsync(Ct)).Select(i => i.RuntimeId).Should().BeEquivalentTo([2L, 3L], "4 was reported, not started");
        supervisor.HostOf(1).Should().BeNull();
        supervisor.HostOf(2).Should().Be("a");
    }

    [Fact]
    public async Task Reconcile_after_a_backend_restart_stops_what_the_previous_backend_left()
    {
        var options = Options("a");
        var previous = _sandbox.Host(options);
        var orphan = await previous.StartAsync(Sandbox.Launch(7, "quiet"), Ct);
        var owned = await previous.StartAsync(Sandbox.Launch(8, "quiet"), Ct);
        _sandbox.KillOnDispose(orphan.ProcessId!.Value);
        _sandbox.KillOnDispose(owned.ProcessId!.Value);
        await previous.DisposeAsync();

        await using var supervisor = new RuntimeSupervisor([_sandbox.Host(options)]);
        supervisor.HostOf(8).Should().BeNull("nothing is loaded before first use");
        (await supervisor.ReconcileAsync(new HashSet<long> { 8 }, Ct)).Should().BeEmpty();

        Proc.IsRunning(orphan.ProcessId!.Value).Should().BeFalse();
        Proc.IsRunning(owned.ProcessId!.Value).Should().BeTrue();
        (await supervisor.StartAsync(Sandbox.Launch(8, "quiet"), Ct)).ProcessId.Should().Be(owned.ProcessId, "the adopted runtime is returned as it is");
        supervisor.HostOf(8).Should().Be("a");
    }

    [Fact]
    public async Task Places_runtimes_on_hosts_that_can_run_them_and_have_room()
    {
        var a = _sandbox.Host(Options("a", maxRuntimes: 1, "quiet"));
        var b = _sandbox.Host(Options("b", maxRuntimes: 1, "quiet", "special"));
        await using var supervisor = new RuntimeSupervisor([a, b]);

        var first = await supervisor.StartAsync(Sandbox.Launch(1, "quiet"), Ct);
        var second = await supervisor.StartAsync(Sandbox.Launch(2, "quiet"), Ct);
        first.HostName.Should().Be("a");
        second.HostName.Should().Be("b", "a is full");
        (await supervisor.StartAsync(Sandbox.Launch(1, "quiet"), Ct)).Should().Be(first, "a running runtime is returned, not placed twice");

        var full = await Assert.ThrowsAsync<RuntimeHostFullException>(() => supervisor.StartAsync(Sandbox.Launch(3, "quiet"), Ct));
        full.HostName.Should().Be("a,b");
        await Assert.ThrowsAsync<RuntimeImageNotSupportedException>(() => supervisor.StartAsync(Sandbox.Launch(4, "unknown"), Ct));

        (await supervisor.StopAsync(2, Ct)).Should().BeTrue();
        (await supervisor.StopAsync(2, Ct)).Should().BeFalse();
        (await supervisor.StartAsync(Sandbox.Launch(5, "special"), Ct)).HostName.Should().Be("b", "only b runs that image");
        (await a.ListAsync(Ct)).Select(i => i.RuntimeId).Should().Equal(1);
        (await b.ListAsync(Ct)).Select(i => i.RuntimeId).Should().Equal(5);
    }

    [Fact]
    public async Task Concurrent_starts_of_one_runtime_place_it_once()
    {
        var a = _sandbox.Host(Options("a"));
        var b = _sandbox.Host(Options("b"));
        await using var supervisor = new RuntimeSupervisor([a, b]);

        var started = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => supervisor.StartAsync(Sandbox.Launch(9, "quiet"), Ct)));

        started.Distinct().Should().ContainSingle();
        (await supervisor.ListAsync(Ct)).Should().ContainSingle();
    }

    [Fact]
    public async Task Forwards_exits_from_every_host()
    {
        var a = _sandbox.Host(Options("a", maxRuntimes: 1));
        var b = _sandbox.Host(Options("b", maxRuntimes: 1));
        await using var supervisor = new RuntimeSupervisor([a, b]);
        await using var exits = new ExitWatch(supervisor.Exits);

        await supervisor.StartAsync(Sandbox.Launch(1, "quiet"), Ct);   // a
        await supervisor.StartAsync(Sandbox.Launch(2, "crash"), Ct);   // b, then exits 3
        var exit = await exits.NextAsync(Deadline);

        exit.RuntimeId.Should().Be(2);
        exit.ExitCode.Should().Be(3);
        await Eventually.HoldsAsync(() => supervisor.HostOf(2) is null, Deadline, "the ended runtime is forgotten");
        supervisor.HostOf(1).Should().Be("a");
        (await supervisor.ReconcileAsync(new HashSet<long> { 1, 2 }, Ct)).Should().BeEquivalentTo([2L], "the supervisor restarted nothing");
    }
}
