using OmgServers.Contracts;
using OmgServers.Sdk.Internal;
using OmgServers.Contracts.Interchange;

namespace OmgServers.Sdk;

/// <summary>
/// A player of OMGSERVERS over the HTTP player API (contract 2.1, 4.1):
/// <code>
/// var player = new OmgPlayerClient(new Uri("http://localhost:8080"));
/// var user = await player.CreateUserAsync();
/// await player.CreateTokenAsync(user.UserId, user.Password);
/// await player.CreateClientAsync("tenant", "project", "stage");
/// player.RuntimeAssigned += body => ...;
/// var loop = player.RunAsync((message, ct) => ..., ct);
/// await player.SendAsync(new { echo = "hi" });
/// </code>
/// The token is kept and renewed with the same credentials before it expires and after a 401. <see cref="RunAsync"/>
/// must run for the client to stay alive: every interchange is its keep-alive (30 s of silence disconnects it).
/// </summary>
public sealed class OmgPlayerClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly OmgClientOptions _options;
    private readonly ServiceCaller _caller;
    private readonly TokenKeeper _token;
    private readonly InterchangeLoop<PlayerMessage, PlayerMessage> _loop;
    private (long UserId, string Password)? _credentials;
    private long _lastOutgoingId;

    /// <param name="serviceUrl">The server's root, e.g. <c>http://localhost:8080</c>; API paths are appended.</param>
    /// <param name="httpClient">Used as is and not disposed; null: the client makes and owns one.</param>
    public OmgPlayerClient(Uri serviceUrl, HttpClient? httpClient = null, OmgClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(serviceUrl);
        _options = options ?? new OmgClientOptions();
        _options.Validate();
        _ownsHttp = httpClient is null;
        _http = httpClient ?? new HttpClient();
        _caller = new ServiceCaller(_http, serviceUrl, _options);
        _token = new TokenKeeper(IssueTokenAsync, _options, "player");
        _loop = new InterchangeLoop<PlayerMessage, PlayerMessage>(
            "player", _options, m => m.Id, m => $"message {m.Id} {m.Qualifier}", batch => batch.OrderBy(m => m.Id));
    }

    public Uri ServiceUrl => _caller.ServiceUrl;

    public long? UserId => _credentials?.UserId;

    /// <summary>The client created by <see cref="CreateClientAsync"/>.</summary>
    public long? ClientId { get; private set; }

    /// <summary>The current bearer token, null before <see cref="CreateTokenAsync"/>.</summary>
    public string? Token => _token.Token;

    /// <summary>The current token's <c>exp</c>, when it has one.</summary>
    public DateTimeOffset? TokenExpiresAt => _token.ExpiresAt;

    /// <summary>The latest runtime assignment (lobby or match), null before the first.</summary>
    public RuntimeAssignmentMessageBody? Runtime { get; private set; }

    /// <summary>The matchmaker this client is attached to.</summary>
    public long? MatchmakerId { get; private set; }

    /// <summary>Set when the server disconnected the client (it was deleted; the interchange is receive-only).</summary>
    public DisconnectionReason? Disconnection { get; private set; }

    /// <summary>Messages waiting to be sent.</summary>
    public int QueuedMessages => _loop.QueuedCount;

    // Raised on the loop, before the handler sees the message. An exception counts as a handler failure.
    public event Action<ServerWelcomeMessageBody>? Welcomed;
    public event Action<MatchmakerAssignmentMessageBody>? MatchmakerAssigned;
    public event Action<RuntimeAssignmentMessageBody>? RuntimeAssigned;
    public event Action<ConnectionUpgradeMessageBody>? ConnectionUpgraded;
    public event Action<DisconnectionReasonMessageBody>? Disconnected;

    public async Task<string> PingServiceAsync(string message = "ping", CancellationToken ct = default) =>
        (await _caller.PostAsync<PingServiceRequest, PingServiceResponse>(ApiPaths.PlayerPingService, new PingServiceRequest(message), null, ct).ConfigureAwait(false)).Message;

    /// <summary>A new player user; its password is returned only this once.</summary>
    public Task<CreateUserResponse> CreateUserAsync(CancellationToken ct = default) =>
        _caller.PostAsync<EmptyRequest, CreateUserResponse>(ApiPaths.PlayerCreateUser, new EmptyRequest(), null, ct);

    /// <summary>Logs in, keeps the credentials for renewals, and returns the token.</summary>
    public async Task<string> CreateTokenAsync(long userId, string password, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(password);
        var token = await RequestTokenAsync(userId, password, ct).ConfigureAwait(false);
        _credentials = (userId, password);
        _token.Set(token);
        return token;
    }

    /// <summary>Creates the client on the stage's latest deployment; tenant, project and stage are ids or aliases.</summary>
    public async Task<long> CreateClientAsync(string tenant, string project, string stage, CancellationToken ct = default)
    {
        RequireToken();
        var response = await _caller.PostAsync<CreateClientRequest, CreateClientResponse>(
            ApiPaths.PlayerCreateClient, new CreateClientRequest(tenant, project, stage), _token, ct).ConfigureAwait(false);
        ClientId = response.ClientId;
        return response.ClientId;
    }

    /// <summary>
    /// Queues a CLIENT_OUTGOING_MESSAGE with <paramref name="data"/> (any JSON, see <see cref="Payload.From"/>) for
    /// the next interchange, which starts at once. Completes when queued; throws <see cref="OmgQueueFullException"/>
    /// past <see cref="OmgClientOptions.MaxQueuedOutgoing"/>. The server drops messages sent before the first
    /// runtime assignment (contract 4.1).
    /// </summary>
    public ValueTask SendAsync(object? data, CancellationToken ct = default)
    {
        ct.ThrowIfCancellationRequested();
        var id = Interlocked.Increment(ref _lastOutgoingId);
        _loop.Enqueue(PlayerMessage.Create(id, new ClientOutgoingMessageBody(Payload.From(data))));
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// The interchange loop (see <see cref="OmgClientOptions"/> for cadence, retries and handler failures). Each new
    /// message goes to the typed event for its qualifier, then to <paramref name="handler"/>, once, in id order, and
    /// is acknowledged on the next call. Ends when <paramref name="ct"/> is cancelled (throws
    /// <see cref="OperationCanceledException"/>), after a DISCONNECTION_REASON_MESSAGE when
    /// <see cref="OmgClientOptions.StopOnDisconnection"/> (returns), or on an error that retries did not cure (throws).
    /// </summary>
    public Task RunAsync(Func<PlayerMessage, CancellationToken, ValueTask> handler, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(handler);
        RequireToken();
        var clientId = ClientId ?? throw new InvalidOperationException("call CreateClientAsync first");
        return _loop.RunAsync(
            async (outgoing, acks, token) => (await _caller.PostAsync<PlayerInterchangeRequest, PlayerInterchangeResponse>(
                ApiPaths.PlayerInterchange, new PlayerInterchangeRequest(clientId, outgoing, acks), _token, token).ConfigureAwait(false)).IncomingMessages,
            async (message, token) =>
            {
                Observe(message);
                await handler(message, token).ConfigureAwait(false);
            },
            () => _options.StopOnDisconnection && Disconnection is not null,
            ct);
    }

    /// <summary>The loop with the typed events only.</summary>
    public Task RunAsync(CancellationToken ct = default) => RunAsync(static (_, _) => ValueTask.CompletedTask, ct);

    private void Observe(PlayerMessage message)
    {
        switch (message.Qualifier)
        {
            case MessageQualifier.SERVER_WELCOME_MESSAGE:
                Welcomed?.Invoke(message.BodyAs<ServerWelcomeMessageBody>());
                break;
            case MessageQualifier.MATCHMAKER_ASSIGNMENT_MESSAGE:
                var matchmaker = message.BodyAs<MatchmakerAssignmentMessageBody>();
                MatchmakerId = matchmaker.MatchmakerId;
                MatchmakerAssigned?.Invoke(matchmaker);
                break;
            case MessageQualifier.RUNTIME_ASSIGNMENT_MESSAGE:
                var runtime = message.BodyAs<RuntimeAssignmentMessageBody>();
                Runtime = runtime;
                RuntimeAssigned?.Invoke(runtime);
                break;
            case MessageQualifier.CONNECTION_UPGRADE_MESSAGE:
                ConnectionUpgraded?.Invoke(message.BodyAs<ConnectionUpgradeMessageBody>());
                break;
            case MessageQualifier.DISCONNECTION_REASON_MESSAGE:
                var reason = message.BodyAs<DisconnectionReasonMessageBody>();
                Disconnection = reason.Reason;
                Disconnected?.Invoke(reason);
                break;
        }
    }

    private void RequireToken()
    {
        if (_credentials is null || _token.Token is null) throw new InvalidOperationException("call CreateTokenAsync first");
    }

    private Task<string> IssueTokenAsync(CancellationToken ct)
    {
        var (userId, password) = _credentials ?? throw new InvalidOperationException("call CreateTokenAsync first");
        return RequestTokenAsync(userId, password, ct);
    }

    private async Task<string> RequestTokenAsync(long userId, string password, CancellationToken ct) =>
        (await _caller.PostAsync<CreateTokenByUserIdRequest, RawTokenResponse>(
            ApiPaths.PlayerCreateToken, new CreateTokenByUserIdRequest(userId, password), null, ct).ConfigureAwait(false)).RawToken;

    public void Dispose()
    {
        if (_ownsHttp) _http.Dispose();
    }
}
