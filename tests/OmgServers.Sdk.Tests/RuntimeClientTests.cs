using System.Collections.Concurrent;
using System.Text.Json;
using FluentAssertions;
using OmgServers.Contracts;
using OmgServers.Contracts.Interchange;

namespace OmgServers.Sdk.Tests;

/// <summary>The runtime client against the stand-in: commands, helpers, handler failures, heartbeat, settings.</summary>
public sealed class RuntimeClientTests : IAsyncLifetime
{
    private const string Password = "runtime-password";
    private StandIn _server = null!;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private readonly ConcurrentQueue<(OmgLogLevel Level, string Message)> _log = new();

    public async ValueTask InitializeAsync() => _server = await StandIn.StartAsync();

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _server.DisposeAsync();
    }

    private OmgRuntimeClient Runtime(long runtimeId, RuntimeQualifier qualifier = RuntimeQualifier.LOBBY, TimeSpan? minInterval = null, TimeSpan? maxInterval = null) =>
        new(new OmgRuntimeSettings(_server.Url, runtimeId, Password, qualifier), _http, new OmgClientOptions
        {
            MinInterval = minInterval ?? TimeSpan.FromMilliseconds(100),
            MaxInterval = maxInterval ?? TimeSpan.FromSeconds(1),
            RetryInitialDelay = TimeSpan.FromMilliseconds(20),
            Log = (level, message, _) => _log.Enqueue((level, message)),
        });

    internal static RuntimeConfig Lobby(long lobbyId) => new(new LobbyConfig(lobbyId), null, new VersionConfig(
        [new VersionModeConfig("death-match", 2, 8, [new VersionGroupConfig("players", 2, 8)])], Payload.From(new { map = "arena" })));

    private static async Task StopAsync(CancellationTokenSource stop, Task loop)
    {
        await stop.CancelAsync();
        var ended = async () => await loop;
        await ended.Should().ThrowAsync<OperationCanceledException>();
    }

    [Fact]
    public async Task Init_runtime_comes_first_and_each_command_is_handled_once_and_acknowledged()
    {
        var runtimeId = _server.RegisterRuntime(Password);
        var ids = new[]
        {
            _server.AddCommand(runtimeId, new InitRuntimeBody(Lobby(7))),
            _server.AddCommand(runtimeId, new AddClientBody(1, 2, Payload.EmptyObject)),
            _server.AddCommand(runtimeId, new HandleMessageBody(2, Payload.From(new { hello = 1 }))),
            _server.AddCommand(runtimeId, new DeleteClientBody(2)),
        };
        using var runtime = Runtime(runtimeId);
        var handled = new ConcurrentQueue<RuntimeCommand>();
        RuntimeConfig? configSeenByHandler = null;

        using var stop = new CancellationTokenSource();
        var loop = runtime.RunAsync((command, _) =>
        {
            configSeenByHandler ??= runtime.Config;
            handled.Enqueue(command);
            return ValueTask.CompletedTask;
        }, stop.Token);
        await Eventually.WaitAsync(() => ids.All(_server.IsConsumed), "all commands acknowledged");
        var calls = _server.CallsTo(ApiPaths.RuntimeInterchange).Count;
        await Eventually.WaitAsync(() => _server.CallsTo(ApiPaths.RuntimeInterchange).Count >= calls + 2, "two more interchanges");
        await StopAsync(stop, loop);

        handled.Select(c => c.Id).Should().Equal(ids);
        handled.First().Qualifier.Should().Be(RuntimeCommandQualifier.INIT_RUNTIME);
        configSeenByHandler!.LobbyConfig!.LobbyId.Should().Be(7, "the config is set before the handler sees INIT_RUNTIME");
        runtime.Config!.VersionConfig!.Modes![0]!.Name.Should().Be("death-match");
        runtime.Config.VersionConfig.UserData!.Value.GetProperty("map").GetString().Should().Be("arena");
        handled.ElementAt(2).BodyAs<HandleMessageBody>().Message.GetProperty("hello").GetInt32().Should().Be(1);
        handled.ElementAt(1).RuntimeId.Should().Be(runtimeId);
        runtime.WsToken.Should().NotBeNullOrEmpty();
        runtime.ApiToken.Should().NotBe(runtime.WsToken);
    }

    [Fact]
    public async Task Helpers_queue_commands_in_the_contract_shapes_and_send_them_in_order()
    {
        var runtimeId = _server.RegisterRuntime(Password);
        _server.AddCommand(runtimeId, new AddClientBody(1, 226870983437451999, Payload.EmptyObject));
        using var runtime = Runtime(runtimeId);
        using var stop = new CancellationTokenSource();
        var loop = runtime.RunAsync((command, _) =>
        {
            var client = command.BodyAs<AddClientBody>().ClientId;
            runtime.RespondClient(client, new { text = "hi" });
            runtime.SetProfile(client, new Dictionary<string, object> { ["level"] = 3 });
            runtime.Multicast([client, 5], "both");
            runtime.Broadcast(JsonSerializer.SerializeToElement(new[] { 1, 2 }));
            runtime.RequestMatchmaking(client, "death-match");
            runtime.KickClient(client);
            runtime.StopMatchmaking();
            runtime.UpgradeConnection(client);
            return ValueTask.CompletedTask;
        }, stop.Token);
        await Eventually.WaitAsync(() => _server.ExecutedFor(runtimeId).Count == 8, "eight commands received");
        await StopAsync(stop, loop);

        var sent = _server.CallsTo(ApiPaths.RuntimeInterchange).Single(c => c.Request!.Value.GetProperty("outgoing_commands").GetArrayLength() > 0);
        var raw = sent.Request!.Value.GetProperty("outgoing_commands").EnumerateArray().ToList();
        raw.Select(c => c.GetProperty("qualifier").GetString()).Should().Equal(
            "RESPOND_CLIENT", "SET_PROFILE", "MULTICAST_MESSAGE", "BROADCAST_MESSAGE", "REQUEST_MATCHMAKING", "KICK_CLIENT", "STOP_MATCHMAKING", "UPGRADE_CONNECTION");
        raw[0].GetProperty("body").GetRawText().Should().Be("""{"client_id":"226870983437451999","message":{"text":"hi"}}""");
        raw[1].GetProperty("body").GetRawText().Should().Be("""{"client_id":"226870983437451999","profile":{"level":3}}""");
        raw[2].GetProperty("body").GetRawText().Should().Be("""{"clients":["226870983437451999","5"],"message":"both"}""");
        raw[3].GetProperty("body").GetRawText().Should().Be("""{"message":[1,2]}""");
        raw[4].GetProperty("body").GetRawText().Should().Be("""{"client_id":"226870983437451999","mode":"death-match"}""");
        raw[5].GetProperty("body").GetRawText().Should().Be("""{"client_id":"226870983437451999"}""");
        raw[6].GetProperty("body").GetRawText().Should().Be("{}");
        raw[7].GetProperty("body").GetRawText().Should().Be("""{"client_id":"226870983437451999","protocol":"DISPATCHER"}""");
        sent.Acknowledged.Should().ContainSingle("the command's acknowledgement travels with its responses");
    }

    [Fact]
    public async Task A_failing_handler_is_retried_before_later_commands_and_acknowledged_after_three_attempts()
    {
        var runtimeId = _server.RegisterRuntime(Password);
        var failing = _server.AddCommand(runtimeId, new HandleMessageBody(2, Payload.From("boom")));
        var later = _server.AddCommand(runtimeId, new HandleMessageBody(2, Payload.From("fine")));
        using var runtime = Runtime(runtimeId);
        var attempts = new ConcurrentQueue<long>();

        using var stop = new CancellationTokenSource();
        var loop = runtime.RunAsync((command, _) =>
        {
            attempts.Enqueue(command.Id);
            if (command.Id == failing) throw new InvalidOperationException("handler bug");
            return ValueTask.CompletedTask;
        }, stop.Token);
        await Eventually.WaitAsync(() => _server.IsConsumed(failing) && _server.IsConsumed(later), "both acknowledged");
        await StopAsync(stop, loop);

        attempts.Should().Equal(failing, failing, failing, later);
        var interchanges = _server.CallsTo(ApiPaths.RuntimeInterchange);
        interchanges.Count(c => c.Returned.Contains(failing)).Should().Be(3, "not acknowledged until the third failure");
        interchanges.Count(c => c.Acknowledged.Contains(failing)).Should().Be(1);
        _log.Count(l => l.Level == OmgLogLevel.Warning && l.Message.Contains($"command {failing}")).Should().Be(2);
        _log.Should().ContainSingle(l => l.Level == OmgLogLevel.Error && l.Message.Contains($"command {failing}") && l.Message.Contains("3 times"));
    }

    [Fact]
    public async Task A_handler_that_fails_once_is_retried_and_acknowledged_once()
    {
        var runtimeId = _server.RegisterRuntime(Password);
        var id = _server.AddCommand(runtimeId, new HandleMessageBody(2, Payload.From("flaky")));
        using var runtime = Runtime(runtimeId);
        var attempts = 0;

        using var stop = new CancellationTokenSource();
        var loop = runtime.RunAsync((_, _) =>
            ++attempts == 1 ? throw new TimeoutException("transient") : ValueTask.CompletedTask, stop.Token);
        await Eventually.WaitAsync(() => _server.IsConsumed(id), "acknowledged");
        await StopAsync(stop, loop);

        attempts.Should().Be(2);
        _server.CallsTo(ApiPaths.RuntimeInterchange).Count(c => c.Acknowledged.Contains(id)).Should().Be(1);
    }

    [Fact]
    public async Task An_idle_runtime_still_calls_at_least_every_second()
    {
        var runtimeId = _server.RegisterRuntime(Password);
        using var runtime = Runtime(runtimeId);
        using var stop = new CancellationTokenSource();
        var loop = runtime.RunAsync((_, _) => ValueTask.CompletedTask, stop.Token);
        await Eventually.WaitAsync(() => _server.CallsTo(ApiPaths.RuntimeInterchange).Count >= 9, "nine heartbeats");
        await StopAsync(stop, loop);

        var calls = _server.CallsTo(ApiPaths.RuntimeInterchange);
        var gaps = calls.Zip(calls.Skip(1), (a, b) => b.At - a.At).ToList();
        gaps.Should().OnlyContain(g => g < TimeSpan.FromMilliseconds(1600), "the heartbeat never waits much longer than MaxInterval");
        gaps.Skip(5).Should().OnlyContain(g => g > TimeSpan.FromMilliseconds(800), "an idle runtime backs off to MaxInterval");
    }

    [Fact]
    public void A_heartbeat_beyond_ten_seconds_is_refused()
    {
        var settings = new OmgRuntimeSettings(new Uri("http://127.0.0.1:1"), 1, Password, RuntimeQualifier.LOBBY);
        var create = () => new OmgRuntimeClient(settings, _http, new OmgClientOptions { MaxInterval = TimeSpan.FromSeconds(20) });
        create.Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public async Task Cancelling_flushes_the_acknowledgements_of_handled_commands()
    {
        var runtimeId = _server.RegisterRuntime(Password);
        var id = _server.AddCommand(runtimeId, new HandleMessageBody(2, Payload.From("last")));
        // A long wait after traffic: without the flush the acknowledgement would not be sent before the stop.
        using var runtime = Runtime(runtimeId, minInterval: TimeSpan.FromSeconds(5), maxInterval: TimeSpan.FromSeconds(5));
        var handled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stop = new CancellationTokenSource();
        var loop = runtime.RunAsync((_, _) => { handled.TrySetResult(); return ValueTask.CompletedTask; }, stop.Token);
        await handled.Task.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        await Eventually.WaitAsync(() => _server.CallsTo(ApiPaths.RuntimeInterchange).Count == 1, "the first call answered");

        var stopping = DateTime.UtcNow;
        await StopAsync(stop, loop);

        (DateTime.UtcNow - stopping).Should().BeLessThan(TimeSpan.FromSeconds(3));
        _server.IsConsumed(id).Should().BeTrue();
    }

    [Fact]
    public async Task A_deleted_runtime_ends_the_loop_with_RUNTIME_NOT_FOUND_and_a_refused_token_is_renewed()
    {
        var runtimeId = _server.RegisterRuntime(Password);
        using var runtime = Runtime(runtimeId);
        var loop = runtime.RunAsync((_, _) => ValueTask.CompletedTask, CancellationToken.None);
        await Eventually.WaitAsync(() => _server.CallsTo(ApiPaths.RuntimeInterchange).Count >= 2, "the loop runs");
        _server.RevokeAllTokens();
        await Eventually.WaitAsync(() => _server.TokensIssued(ApiPaths.RuntimeCreateToken) == 2
                                         && _server.CallsTo(ApiPaths.RuntimeInterchange).Last().Status == 200, "renewed after the 401");

        _server.DeleteRuntime(runtimeId);
        var ended = async () => await loop.WaitAsync(TimeSpan.FromSeconds(10));
        var error = (await ended.Should().ThrowAsync<OmgApiException>()).Which;
        error.Status.Should().Be(404);
        error.Qualifier.Should().Be(Qualifier.RUNTIME_NOT_FOUND);
    }

    [Fact]
    public async Task A_wrong_password_fails_token_creation()
    {
        var runtimeId = _server.RegisterRuntime(Password);
        using var runtime = new OmgRuntimeClient(new OmgRuntimeSettings(_server.Url, runtimeId, "wrong", RuntimeQualifier.LOBBY), _http);
        var create = async () => await runtime.CreateTokenAsync();
        (await create.Should().ThrowAsync<OmgApiException>()).Which.Status.Should().Be(401);
    }

    [Fact]
    public void Settings_come_from_the_four_variables()
    {
        var settings = OmgRuntimeSettings.FromVariables(new Dictionary<string, string>
        {
            ["OMGSERVERS_RUNTIME_ID"] = "226870983437451264",
            ["OMGSERVERS_PASSWORD"] = "abc+/def=",
            ["OMGSERVERS_RUNTIME_QUALIFIER"] = "MATCH",
            ["OMGSERVERS_SERVICE_URL"] = "http://gateway:8080",
        });
        settings.Should().Be(new OmgRuntimeSettings(new Uri("http://gateway:8080"), 226870983437451264, "abc+/def=", RuntimeQualifier.MATCH));
        settings.ToString().Should().NotContain("abc+/def=", "the password stays out of logs");

        var missing = () => OmgRuntimeSettings.FromVariables(new Dictionary<string, string> { ["OMGSERVERS_RUNTIME_QUALIFIER"] = "lobby" });
        var message = missing.Should().Throw<OmgConfigurationException>().Which.Message;
        message.Should().Contain("OMGSERVERS_RUNTIME_ID").And.Contain("OMGSERVERS_PASSWORD").And.Contain("OMGSERVERS_SERVICE_URL")
            .And.Contain("OMGSERVERS_RUNTIME_QUALIFIER must be LOBBY or MATCH");
    }
}
