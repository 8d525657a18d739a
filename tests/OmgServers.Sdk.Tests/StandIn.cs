using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OmgServers.Contracts;
using OmgServers.Contracts.Interchange;

namespace OmgServers.Sdk.Tests;

/// <summary>
/// A small stand-in of the server's player and runtime APIs on Kestrel (127.0.0.1, a free port), for the SDK's client
/// logic until the real server implements the interchange. It keeps to contract 4: interchange marks the
/// acknowledged ids of the caller consumed, then returns every unconsumed message or command in id order; tokens are
/// JWT-shaped with iat/exp and are checked on every call (401 with an empty body, like the framework); errors are
/// {"qualifier": ...}. Tests add messages and commands, inject faults, and read the call log.
/// </summary>
public sealed class StandIn : IAsyncDisposable
{
    public enum Fault { Unavailable, Abort }

    /// <summary>One request as the stand-in saw it.</summary>
    public sealed record Call(DateTimeOffset At, string Path, int Status, JsonElement? Request, IReadOnlyList<long> Acknowledged, IReadOnlyList<long> Returned);

    private sealed record Principal(string Role, long Subject, long Expires);

    private sealed class Stored<T>(long id, T item)
    {
        public long Id { get; } = id;
        public T Item { get; } = item;
        public bool Consumed { get; set; }
    }

    private readonly object _gate = new();
    private readonly WebApplication _app;
    private long _lastId = 226_870_983_437_451_264; // ids big enough to need 64 bits, as the server's
    private readonly Dictionary<string, Principal> _tokens = new(StringComparer.Ordinal);
    private readonly Dictionary<long, string> _users = [];
    private readonly Dictionary<long, long> _clientOwners = [];
    private readonly Dictionary<long, List<Stored<PlayerMessage>>> _messages = [];
    private readonly Dictionary<long, List<PlayerMessage>> _received = [];
    private readonly Dictionary<long, (string Password, bool Deleted)> _runtimes = [];
    private readonly Dictionary<long, List<Stored<RuntimeCommand>>> _commands = [];
    private readonly Dictionary<long, List<OutgoingCommand>> _executed = [];
    private readonly HashSet<long> _loseAckOnce = [];
    private readonly Dictionary<string, Queue<Fault>> _faults = [];
    private readonly List<Call> _calls = [];

    private StandIn(WebApplication app) => _app = app;

    public Uri Url { get; private set; } = null!;

    /// <summary>Lifetime of tokens issued from now on (whole seconds, as JWT NumericDates).</summary>
    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Every bearer token is refused (401) while set.</summary>
    public bool RejectAllTokens { get; set; }

    public static async Task<StandIn> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var standIn = new StandIn(app);
        app.MapPost("/service/v1/entrypoint/{api}/request/{operation}", standIn.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        standIn.Url = new Uri(address);
        return standIn;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    // ---------------------------------------------------------------- what tests arrange

    public long RegisterRuntime(string password)
    {
        lock (_gate)
        {
            var id = ++_lastId;
            _runtimes[id] = (password, false);
            _commands[id] = [];
            _executed[id] = [];
            return id;
        }
    }

    public void DeleteRuntime(long runtimeId)
    {
        lock (_gate) _runtimes[runtimeId] = _runtimes[runtimeId] with { Deleted = true };
    }

    public long AddMessage<TBody>(long clientId, TBody body) where TBody : IPlayerMessageBody
    {
        lock (_gate)
        {
            var id = ++_lastId;
            _messages[clientId].Add(new Stored<PlayerMessage>(id, PlayerMessage.Create(id, body)));
            return id;
        }
    }

    public long AddCommand<TBody>(long runtimeId, TBody body) where TBody : IRuntimeCommandBody
    {
        lock (_gate)
        {
            var id = ++_lastId;
            _commands[runtimeId].Add(new Stored<RuntimeCommand>(id, RuntimeCommand.Create(id, $"test/{id}", runtimeId, DateTimeOffset.UtcNow, body)));
            return id;
        }
    }

    /// <summary>The next acknowledgement of <paramref name="id"/> is lost: the message or command stays unconsumed.</summary>
    public void LoseNextAckOf(long id)
    {
        lock (_gate) _loseAckOnce.Add(id);
    }

    /// <summary>The next <paramref name="count"/> calls to <paramref name="path"/> fail with 503, or lose their connection.</summary>
    public void FailNext(string path, Fault fault, int count = 1)
    {
        lock (_gate)
        {
            if (!_faults.TryGetValue(path, out var queue)) _faults[path] = queue = new Queue<Fault>();
            for (var i = 0; i < count; i++) queue.Enqueue(fault);
        }
    }

    public void RevokeAllTokens()
    {
        lock (_gate) _tokens.Clear();
    }

    // ---------------------------------------------------------------- what tests read

    public IReadOnlyList<Call> Calls
    {
        get { lock (_gate) return _calls.ToList(); }
    }

    public List<Call> CallsTo(string path) => Calls.Where(c => c.Path == path).ToList();

    public int TokensIssued(string path) => CallsTo(path).Count(c => c.Status == 200);

    public bool IsConsumed(long id)
    {
        lock (_gate)
        {
            return _messages.Values.SelectMany(m => m).Where(m => m.Id == id).Select(m => m.Consumed)
                .Concat(_commands.Values.SelectMany(c => c).Where(c => c.Id == id).Select(c => c.Consumed))
                .Single();
        }
    }

    public IReadOnlyList<PlayerMessage> ReceivedFrom(long clientId)
    {
        lock (_gate) return _received.TryGetValue(clientId, out var list) ? list.ToList() : [];
    }

    public IReadOnlyList<OutgoingCommand> ExecutedFor(long runtimeId)
    {
        lock (_gate) return _executed[runtimeId].ToList();
    }

    // ---------------------------------------------------------------- the API

    private async Task HandleAsync(HttpContext http, string api, string operation)
    {
        var path = $"service/v1/entrypoint/{api}/request/{operation}";
        JsonElement? request = null;
        try
        {
            using var document = await JsonDocument.ParseAsync(http.Request.Body);
            request = document.RootElement.Clone();
        }
        catch (JsonException)
        {
        }

        Fault? fault = null;
        lock (_gate)
        {
            if (_faults.TryGetValue(path, out var queue) && queue.Count > 0) fault = queue.Dequeue();
        }
        if (fault == Fault.Abort)
        {
            Log(path, 0, request, [], []);
            http.Abort();
            return;
        }
        if (fault == Fault.Unavailable)
        {
            await WriteAsync(http, path, request, 503, new { qualifier = nameof(Qualifier.SERVICE_UNAVAILABLE) });
            return;
        }
        if (request is null)
        {
            await WriteAsync(http, path, request, 400, new { qualifier = nameof(Qualifier.VALIDATION_CONSTRAINT_VIOLATED) });
            return;
        }

        try
        {
            var (status, body, acked, returned) = path switch
            {
                ApiPaths.PlayerCreateUser => CreateUser(),
                ApiPaths.PlayerCreateToken => CreatePlayerToken(Read<CreateTokenByUserIdRequest>(request.Value)),
                ApiPaths.PlayerCreateClient => CreateClient(Authorize(http, "player"), Read<CreateClientRequest>(request.Value)),
                ApiPaths.PlayerInterchange => PlayerInterchange(Authorize(http, "player"), Read<PlayerInterchangeRequest>(request.Value)),
                ApiPaths.RuntimeCreateToken => CreateRuntimeToken(Read<CreateRuntimeTokenRequest>(request.Value)),
                ApiPaths.RuntimeInterchange => RuntimeInterchange(Authorize(http, "runtime"), Read<RuntimeInterchangeRequest>(request.Value)),
                _ => (404, (object?)new { qualifier = nameof(Qualifier.OBJECT_NOT_FOUND) }, [], []),
            };
            await WriteAsync(http, path, request, status, body, acked, returned);
        }
        catch (ApiException e)
        {
            await WriteAsync(http, path, request, e.Status, e.Status == 401 ? null : new { qualifier = e.Qualifier.ToString() });
        }
        catch (JsonException)
        {
            await WriteAsync(http, path, request, 400, new { qualifier = nameof(Qualifier.WRONG_REQUEST) });
        }
    }

    private static T Read<T>(JsonElement request) where T : notnull =>
        request.Deserialize<T>(WireJson.Options) is { } value && RequestValidator.FirstViolation(value) is null
            ? value
            : throw ApiException.BadRequest(Qualifier.VALIDATION_CONSTRAINT_VIOLATED);

    private Principal Authorize(HttpContext http, string role)
    {
        var header = http.Request.Headers.Authorization.ToString();
        var token = header.StartsWith("Bearer ", StringComparison.Ordinal) ? header["Bearer ".Length..] : null;
        lock (_gate)
        {
            if (RejectAllTokens || token is null || !_tokens.TryGetValue(token, out var principal)
                || principal.Expires <= DateTimeOffset.UtcNow.ToUnixTimeSeconds() || principal.Role != role)
                throw ApiException.Unauthorized();
            return principal;
        }
    }

    private (int, object?, long[], long[]) CreateUser()
    {
        lock (_gate)
        {
            var id = ++_lastId;
            var password = Convert.ToBase64String(Guid.NewGuid().ToByteArray());
            _users[id] = password;
            return (200, new CreateUserResponse(id, password), [], []);
        }
    }

    private (int, object?, long[], long[]) CreatePlayerToken(CreateTokenByUserIdRequest request)
    {
        lock (_gate)
        {
            if (!_users.TryGetValue(request.UserId!.Value, out var password)) throw ApiException.NotFound();
            if (password != request.Password) throw ApiException.Unauthorized();
            return (200, new RawTokenResponse(Issue("player", request.UserId.Value)), [], []);
        }
    }

    private (int, object?, long[], long[]) CreateClient(Principal user, CreateClientRequest request)
    {
        if (request.Tenant == "missing") throw ApiException.NotFound();
        lock (_gate)
        {
            var id = ++_lastId;
            _clientOwners[id] = user.Subject;
            _messages[id] = [];
            return (200, new CreateClientResponse(id), [], []);
        }
    }

    private (int, object?, long[], long[]) PlayerInterchange(Principal user, PlayerInterchangeRequest request)
    {
        lock (_gate)
        {
            var clientId = request.ClientId!.Value;
            if (!_clientOwners.TryGetValue(clientId, out var owner)) throw ApiException.NotFound();
            if (owner != user.Subject) throw ApiException.BadRequest(Qualifier.WRONG_CLIENT_ID);
            foreach (var message in request.OutgoingMessages!)
            {
                if (message.Qualifier != MessageQualifier.CLIENT_OUTGOING_MESSAGE) throw ApiException.BadRequest(Qualifier.WRONG_CLIENT_MESSAGE_BODY_TYPE);
                if (!_received.TryGetValue(clientId, out var list)) _received[clientId] = list = [];
                list.Add(message);
            }
            var stored = _messages[clientId];
            Consume(stored, request.ConsumedMessages!);
            var incoming = stored.Where(m => !m.Consumed).OrderBy(m => m.Id).Select(m => m.Item).ToList();
            return (200, new PlayerInterchangeResponse(incoming), request.ConsumedMessages!.ToArray(), incoming.Select(m => m.Id).ToArray());
        }
    }

    private (int, object?, long[], long[]) CreateRuntimeToken(CreateRuntimeTokenRequest request)
    {
        lock (_gate)
        {
            if (!_runtimes.TryGetValue(request.RuntimeId!.Value, out var runtime)) throw ApiException.NotFound();
            if (runtime.Password != request.Password) throw ApiException.Unauthorized();
            return (200, new CreateRuntimeTokenResponse(Issue("runtime", request.RuntimeId.Value), Issue("websocket", request.RuntimeId.Value)), [], []);
        }
    }

    private (int, object?, long[], long[]) RuntimeInterchange(Principal runtime, RuntimeInterchangeRequest request)
    {
        lock (_gate)
        {
            if (_runtimes[runtime.Subject].Deleted) throw ApiException.NotFound(Qualifier.RUNTIME_NOT_FOUND);
            _executed[runtime.Subject].AddRange(request.OutgoingCommands!);
            var stored = _commands[runtime.Subject];
            Consume(stored, request.ConsumedCommands!);
            var incoming = stored.Where(c => !c.Consumed).OrderBy(c => c.Id).Select(c => c.Item).ToList();
            return (200, new RuntimeInterchangeResponse(incoming), request.ConsumedCommands!.ToArray(), incoming.Select(c => c.Id).ToArray());
        }
    }

    private void Consume<T>(List<Stored<T>> stored, IReadOnlyList<long> acknowledged)
    {
        foreach (var id in acknowledged)
        {
            if (_loseAckOnce.Remove(id)) continue;
            foreach (var item in stored.Where(s => s.Id == id)) item.Consumed = true;
        }
    }

    private string Issue(string role, long subject)
    {
        var iat = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var exp = iat + (long)Math.Ceiling(TokenLifetime.TotalSeconds);
        var header = Base64Url("""{"alg":"RS256","typ":"JWT"}""");
        var payload = Base64Url(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["iss"] = "omgservers", ["aud"] = "omgservers", ["sub"] = subject.ToString(CultureInfo.InvariantCulture),
            ["iat"] = iat, ["exp"] = exp, ["jti"] = Guid.NewGuid().ToString(), ["groups"] = new[] { role },
        }));
        var token = $"{header}.{payload}.{Base64Url(Guid.NewGuid().ToString())}";
        _tokens[token] = new Principal(role, subject, exp);
        return token;
    }

    private static string Base64Url(string text) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(text)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private async Task WriteAsync(HttpContext http, string path, JsonElement? request, int status, object? body, long[]? acked = null, long[]? returned = null)
    {
        Log(path, status, request, acked ?? [], returned ?? []);
        http.Response.StatusCode = status;
        if (body is null) return;
        http.Response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(http.Response.Body, body, body.GetType(), WireJson.Options);
    }

    private void Log(string path, int status, JsonElement? request, long[] acked, long[] returned)
    {
        lock (_gate) _calls.Add(new Call(DateTimeOffset.UtcNow, path, status, request, acked, returned));
    }
}

/// <summary>Waits for a condition with a deadline.</summary>
public static class Eventually
{
    public static async Task WaitAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"not within {timeout ?? TimeSpan.FromSeconds(10)}: {what}");
            await Task.Delay(10);
        }
    }
}
