using System.Net;
using System.Text.Json;
using FluentAssertions;
using OmgServers.Service.Tests.ControlPlane;
using Xunit;

namespace OmgServers.Service.Tests.Lobbies;

/// <summary>A message the server gave a player (contract 4.1), as it came over the wire.</summary>
public sealed record Incoming(long Id, string Qualifier, JsonElement Body)
{
    /// <summary>What a runtime sent (SERVER_OUTGOING_MESSAGE's <c>message</c>), or null for other qualifiers.</summary>
    public JsonElement? ServerMessage => Qualifier == "SERVER_OUTGOING_MESSAGE" ? Body.GetProperty("message") : null;

    /// <summary>A runtime's message that is an object whose <paramref name="key"/> is the string <paramref name="value"/>.</summary>
    public bool IsReply(string key, string value) =>
        ServerMessage is { ValueKind: JsonValueKind.Object } message && message.TryGetProperty(key, out var v)
        && v.ValueKind == JsonValueKind.String && v.GetString() == value;

    public override string ToString() => $"{Id} {Qualifier} {Body.GetRawText()}";
}

/// <summary>
/// A player over raw HTTP (contract 4.1), so that tests choose exactly what each interchange carries. Every message
/// received is recorded once, in arrival order, with how often it was delivered; by default each call acknowledges
/// what the previous calls received, as the SDK does. Calls of one player never overlap.
/// </summary>
public sealed class TestPlayer(LobbyBackend backend, long userId, string token, long clientId) : IAsyncDisposable
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly List<Incoming> _received = [];
    private readonly Dictionary<long, int> _deliveries = [];
    private readonly HashSet<long> _unacknowledged = [];
    private CancellationTokenSource? _keepAlive;
    private Task? _keepAliveLoop;
    private long _nextOutgoingId;

    public long UserId { get; } = userId;
    public string Token { get; } = token;
    public long ClientId { get; } = clientId;

    /// <summary>Whether calls acknowledge what was received (the default); false: the same messages keep coming back.</summary>
    public bool Acknowledges { get; set; } = true;

    public IReadOnlyList<Incoming> Received
    {
        get { lock (_received) return _received.ToArray(); }
    }

    public int DeliveriesOf(long id)
    {
        lock (_received) return _deliveries.GetValueOrDefault(id);
    }

    public static object Outgoing(long id, object? data) => new { id, qualifier = "CLIENT_OUTGOING_MESSAGE", body = new { data } };

    /// <summary>One interchange exactly as given; no bookkeeping.</summary>
    public Task<ApiResponse> InterchangeAsync(IEnumerable<object>? outgoing = null, IEnumerable<object>? consumed = null, string? token = null, long? clientId = null) =>
        backend.PostAsync(LobbyBackend.Player + "/interchange",
            new { client_id = (clientId ?? ClientId).ToString(), outgoing_messages = outgoing?.ToArray() ?? [], consumed_messages = consumed?.ToArray() ?? [] },
            token ?? Token);

    public static IReadOnlyList<Incoming> Parse(ApiResponse response) =>
        response.Ok().Body.GetProperty("incoming_messages").EnumerateArray().Select(m =>
        {
            m.GetProperty("id").ValueKind.Should().Be(JsonValueKind.String, "message ids are written as strings");
            return new Incoming(long.Parse(m.GetProperty("id").GetString()!), m.GetProperty("qualifier").GetString()!, m.GetProperty("body").Clone());
        }).ToList();

    /// <summary>
    /// One interchange carrying a CLIENT_OUTGOING_MESSAGE per item of <paramref name="data"/> (and the acknowledgements);
    /// returns the answer, whatever its status. A 200's messages are recorded.
    /// </summary>
    public async Task<ApiResponse> SendAsync(params object?[] data)
    {
        await _gate.WaitAsync(TestContext.Current.CancellationToken);
        try
        {
            var acknowledging = Acknowledges ? _unacknowledged.ToArray() : [];
            var response = await InterchangeAsync(data.Select(d => Outgoing(++_nextOutgoingId, d)), acknowledging.Select(id => (object)id.ToString()));
            if (response.Status != HttpStatusCode.OK) return response;
            _unacknowledged.ExceptWith(acknowledging);
            lock (_received)
            {
                foreach (var message in Parse(response))
                {
                    if (_deliveries.TryGetValue(message.Id, out var count))
                    {
                        _deliveries[message.Id] = count + 1;
                    }
                    else
                    {
                        _deliveries[message.Id] = 1;
                        _received.Add(message);
                    }
                    _unacknowledged.Add(message.Id);
                }
            }
            return response;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>One interchange with nothing to send: the keep-alive, which also fetches and acknowledges.</summary>
    public async Task PollAsync() => (await SendAsync()).Ok();

    /// <summary>Polls until a received message matches; fails with everything received (and the server's output) at the deadline.</summary>
    public async Task<Incoming> WaitForAsync(Func<Incoming, bool> match, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? DefaultTimeout);
        while (true)
        {
            if (Received.FirstOrDefault(match) is { } found) return found;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"client {ClientId}: no {what} within {timeout ?? DefaultTimeout}\n{Describe()}\n{backend.Describe()}");
            await PollAsync();
            if (Received.FirstOrDefault(match) is { } arrived) return arrived;
            await Task.Delay(PollInterval, TestContext.Current.CancellationToken);
        }
    }

    public Task<Incoming> WaitForAsync(string qualifier, TimeSpan? timeout = null) => WaitForAsync(m => m.Qualifier == qualifier, qualifier, timeout);

    public Task<Incoming> WaitForReplyAsync(string key, string value, TimeSpan? timeout = null) =>
        WaitForAsync(m => m.IsReply(key, value), $"SERVER_OUTGOING_MESSAGE {{\"{key}\":\"{value}\"}}", timeout);

    /// <summary>
    /// Waits for the lobby assignment and the lobby's greeting (contract 5.3; the sample answers ADD_CLIENT with
    /// <c>{"text":"welcome"}</c>); returns the lobby's runtime id.
    /// </summary>
    public async Task<long> JoinLobbyAsync(TimeSpan? timeout = null)
    {
        var assignment = await WaitForAsync(m => m.Qualifier == "RUNTIME_ASSIGNMENT_MESSAGE" && m.Body.GetProperty("runtime_qualifier").GetString() == "LOBBY",
            "lobby RUNTIME_ASSIGNMENT_MESSAGE", timeout);
        await WaitForReplyAsync("text", "welcome", timeout);
        return long.Parse(assignment.Body.GetProperty("runtime_id").GetString()!);
    }

    /// <summary>The runtime of the latest assignment received.</summary>
    public long CurrentRuntimeId() =>
        long.Parse(Received.Last(m => m.Qualifier == "RUNTIME_ASSIGNMENT_MESSAGE").Body.GetProperty("runtime_id").GetString()!);

    /// <summary>Polls in the background (the keep-alive of a player the test is not waiting on) until stopped.</summary>
    public void KeepAlive(TimeSpan? interval = null)
    {
        if (_keepAliveLoop is not null) return;
        _keepAlive = new CancellationTokenSource();
        var stop = _keepAlive.Token;
        _keepAliveLoop = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await SendAsync();
                await Task.Delay(interval ?? TimeSpan.FromMilliseconds(250), stop);
            }
        }, stop);
    }

    public async Task StopKeepAliveAsync()
    {
        if (_keepAliveLoop is null) return;
        await _keepAlive!.CancelAsync();
        try
        {
            await _keepAliveLoop;
        }
        catch (OperationCanceledException)
        {
        }
        _keepAlive.Dispose();
        _keepAlive = null;
        _keepAliveLoop = null;
    }

    public string Describe() => $"client {ClientId} of user {UserId} received:\n  " + string.Join("\n  ", Received.Select(m => $"{m} x{DeliveriesOf(m.Id)}"));

    public async ValueTask DisposeAsync() => await StopKeepAliveAsync();
}
