using FluentAssertions;

namespace OmgServers.Runtimes.Tests;

/// <summary>The runtime's output is kept, and kept bounded.</summary>
public sealed class LogTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private readonly Sandbox _sandbox = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;
    public ValueTask DisposeAsync() => _sandbox.DisposeAsync();

    [Fact]
    public async Task Output_stays_within_the_budget_and_keeps_its_latest_part()
    {
        const long budget = 64 * 1024;
        var options = _sandbox.Options(new() { ["chatty"] = _sandbox.Image("chatty", Scripts.Chatty) });
        options.MaxLogBytes = budget;
        var host = _sandbox.Host(options);
        var pid = (await host.StartAsync(Sandbox.Launch(1, "chatty"), Ct)).ProcessId!.Value;
        var log = host.LogPath(1);
        var rotated = log + ".1";

        // About 2 MB is written; at rest the two files hold at most the budget, the marker among the latest bytes.
        await Eventually.HoldsAsync(() => (Eventually.Read(log) + Eventually.Read(rotated)).Contains("END-MARKER")
                                          && Size(log) + Size(rotated) <= budget, Deadline, "output rotated within the budget");

        Size(log).Should().BeLessThanOrEqualTo(budget / 2);
        Size(rotated).Should().BeLessThanOrEqualTo(budget / 2).And.BeGreaterThan(0);
        Eventually.Read(rotated).Should().MatchRegex("^a+\n", "the kept part is the runtime's own output, not a hole left by the truncation");
        Proc.IsRunning(pid).Should().BeTrue("rotation does not disturb the runtime");
        (await host.ListAsync(Ct)).Should().ContainSingle();
    }

    [Fact]
    public async Task Only_the_latest_ended_runtimes_keep_their_directories()
    {
        var options = _sandbox.Options(new() { ["crash"] = _sandbox.Image("crash", Scripts.Crash) });
        options.RetainEndedRuntimes = 2;
        var host = _sandbox.Host(options);
        await using var exits = new ExitWatch(host.Exits);

        for (var id = 1; id <= 4; id++)
        {
            await host.StartAsync(Sandbox.Launch(id, "crash"), Ct);
            (await exits.NextAsync(Deadline)).RuntimeId.Should().Be(id);
        }

        Directory.GetDirectories(Path.Combine(options.StateDirectory, "runtimes")).Select(Path.GetFileName)
            .Should().BeEquivalentTo(["3", "4"]);
        Eventually.Read(host.LogPath(4)).Should().Contain("crashing");
    }

    private static long Size(string path) => new FileInfo(path) is { Exists: true } f ? f.Length : 0;
}
