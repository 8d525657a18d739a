using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using FluentAssertions;
using OmgServers.Contracts;
using OmgServers.Samples.Lobby;
using OmgServers.Contracts.Interchange;

namespace OmgServers.Sdk.Tests;

/// <summary>The sample runtime's reactions (its handler in-process on the real runtime client) and its process lifecycle.</summary>
public sealed class LobbySampleTests : IAsyncLifetime
{
    private const string Password = "sample-password";
    private StandIn _server = null!;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };

    public async ValueTask InitializeAsync() => _server = await StandIn.StartAsync();

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _server.DisposeAsync();
    }

    private async Task<(IReadOnlyList<OutgoingCommand> Sent, string Log)> RunSampleAsync(long runtimeId, RuntimeQualifier qualifier, IReadOnlyList<long> commands, int expectedSent)
    {
        var log = new StringWriter();
        var output = TextWriter.Synchronized(log);
        using var runtime = new OmgRuntimeClient(new OmgRuntimeSettings(_server.Url, runtimeId, Password, qualifier), _http);
        using var stop = new CancellationTokenSource();
        var loop = runtime.RunAsync(new LobbyGame(output), stop.Token);
        await Eventually.WaitAsync(() => commands.All(_server.IsConsumed), "every command acknowledged");
        await Eventually.WaitAsync(() => _server.ExecutedFor(runtimeId).Count >= expectedSent, $"{expectedSent} commands sent");
        await stop.CancelAsync();
        await ((Func<Task>)(() => loop)).Should().ThrowAsync<OperationCanceledException>();
        return (_server.ExecutedFor(runtimeId), log.ToString());
    }

    private static string Body(OutgoingCommand command) => command.Body.GetRawText();

    [Fact]
    public async Task Lobby_greets_and_reacts_to_each_kind_of_message()
    {
        var runtimeId = _server.RegisterRuntime(Password);
        const long client = 226870983437451300;
        var commands = new[]
        {
            _server.AddCommand(runtimeId, new InitRuntimeBody(RuntimeClientTests.Lobby(9))),
            _server.AddCommand(runtimeId, new AddClientBody(1, client, Payload.EmptyObject)),
            _server.AddCommand(runtimeId, new HandleMessageBody(client, Payload.Parse("""{"echo":"hi"}"""))),
            _server.AddCommand(runtimeId, new HandleMessageBody(client, Payload.Parse("""{"broadcast":5}"""))),
            _server.AddCommand(runtimeId, new HandleMessageBody(client, Payload.Parse("""{"matchmake":"death-match"}"""))),
            _server.AddCommand(runtimeId, new HandleMessageBody(client, Payload.Parse("""{"profile":{"level":2}}"""))),
            _server.AddCommand(runtimeId, new HandleMessageBody(client, Payload.Parse("""{"kick":true}"""))),
            _server.AddCommand(runtimeId, new HandleMessageBody(client, Payload.From("""{"echo":{"as":"string"}}"""))),
            _server.AddCommand(runtimeId, new HandleMessageBody(client, Payload.Parse("""{"stop":true,"unknown":1}"""))),
            _server.AddCommand(runtimeId, new HandleMessageBody(client, Payload.From("plain text"))),
            _server.AddCommand(runtimeId, new DeleteClientBody(client)),
        };

        var (sent, log) = await RunSampleAsync(runtimeId, RuntimeQualifier.LOBBY, commands, 7);

        sent.Select(c => (c.Qualifier, Body(c))).Should().Equal(
            (OutgoingCommandQualifier.RESPOND_CLIENT, """{"client_id":"226870983437451300","message":{"text":"welcome"}}"""),
            (OutgoingCommandQualifier.RESPOND_CLIENT, """{"client_id":"226870983437451300","message":{"echo":"hi"}}"""),
            (OutgoingCommandQualifier.BROADCAST_MESSAGE, """{"message":{"broadcast":5}}"""),
            (OutgoingCommandQualifier.REQUEST_MATCHMAKING, """{"client_id":"226870983437451300","mode":"death-match"}"""),
            (OutgoingCommandQualifier.SET_PROFILE, """{"client_id":"226870983437451300","profile":{"level":2}}"""),
            (OutgoingCommandQualifier.KICK_CLIENT, """{"client_id":"226870983437451300"}"""),
            (OutgoingCommandQualifier.RESPOND_CLIENT, """{"client_id":"226870983437451300","message":{"echo":{"as":"string"}}}"""));
        var lines = log.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Should().HaveCount(commands.Length, "one line per command handled");
        lines[0].Should().Contain("INIT_RUNTIME LOBBY lobby 9").And.Contain("death-match");
        lines[8].Should().Contain("HANDLE_MESSAGE").And.EndWith("-> ignored", "stop is for matches only");
        lines[9].Should().EndWith("-> ignored");
        lines[10].Should().Contain("DELETE_CLIENT");
    }

    [Fact]
    public async Task Match_greets_with_match_and_stops_matchmaking_on_request()
    {
        var runtimeId = _server.RegisterRuntime(Password);
        var config = new RuntimeConfig(null, new MatchConfig(3, 4), new VersionConfig([], null));
        var commands = new[]
        {
            _server.AddCommand(runtimeId, new InitRuntimeBody(config)),
            _server.AddCommand(runtimeId, new AddMatchClientBody(1, 20, "players", Payload.EmptyObject)),
            _server.AddCommand(runtimeId, new HandleMessageBody(20, Payload.Parse("""{"stop":true}"""))),
        };

        var (sent, log) = await RunSampleAsync(runtimeId, RuntimeQualifier.MATCH, commands, 2);

        sent.Select(c => (c.Qualifier, Body(c))).Should().Equal(
            (OutgoingCommandQualifier.RESPOND_CLIENT, """{"client_id":"20","message":{"text":"match"}}"""),
            (OutgoingCommandQualifier.STOP_MATCHMAKING, "{}"));
        log.Should().Contain("INIT_RUNTIME MATCH match 4 of matchmaker 3").And.Contain("group players");
    }

    [Fact]
    public async Task The_sample_process_runs_until_SIGTERM_and_exits_0()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return;
        var runtimeId = _server.RegisterRuntime(Password);
        var init = _server.AddCommand(runtimeId, new InitRuntimeBody(RuntimeClientTests.Lobby(5)));
        using var process = StartSample(new Dictionary<string, string>
        {
            ["OMGSERVERS_RUNTIME_ID"] = runtimeId.ToString(),
            ["OMGSERVERS_PASSWORD"] = Password,
            ["OMGSERVERS_RUNTIME_QUALIFIER"] = "LOBBY",
            ["OMGSERVERS_SERVICE_URL"] = _server.Url.ToString(),
        }, out var stdout);
        try
        {
            await Eventually.WaitAsync(() => _server.IsConsumed(init), "the sample acknowledged INIT_RUNTIME", TimeSpan.FromSeconds(30));
            await Eventually.WaitAsync(() => Text(stdout).Contains("INIT_RUNTIME LOBBY lobby 5"), "the sample logged INIT_RUNTIME");

            kill(process.Id, 15).Should().Be(0);
            await process.WaitForExitAsync(TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(15), TestContext.Current.CancellationToken);
            process.ExitCode.Should().Be(0);
            Text(stdout).Should().Contain("stopped");
        }
        finally
        {
            if (!process.HasExited) process.Kill();
        }
    }

    [Fact]
    public async Task The_sample_process_exits_1_without_its_environment()
    {
        using var process = StartSample(new Dictionary<string, string>(), out _);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        process.ExitCode.Should().Be(1);
    }

    private static Process StartSample(Dictionary<string, string> environment, out StringBuilder stdout)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "OmgServers.Samples.Lobby.dll");
        File.Exists(dll).Should().BeTrue($"{dll} is built with the tests");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(dll);
        foreach (var name in info.Environment.Keys.Where(k => k.StartsWith("OMGSERVERS_", StringComparison.Ordinal)).ToList()) info.Environment.Remove(name);
        foreach (var (name, value) in environment) info.Environment[name] = value;
        var output = new StringBuilder();
        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, _) => { };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        stdout = output;
        return process;
    }

    private static string Text(StringBuilder output)
    {
        lock (output) return output.ToString();
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);
}
