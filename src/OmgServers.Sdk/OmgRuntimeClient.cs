using OmgServers.Sdk.Internal;
using OmgServers.Contracts.Interchange;

namespace OmgServers.Sdk;

/// <summary>
/// A game runtime (lobby or match) over the HTTP runtime API (contract 2.2, 4.2):
/// <code>
/// using var runtime = OmgRuntimeClient.FromEnvironment();
/// await runtime.RunAsync(new MyGame(), ct);   // or RunAsync((command, ct) => ..., ct)
/// </code>
/// <see cref="RunAsync(Func{RuntimeCommand, CancellationToken, ValueTask}, CancellationToken)"/> creates the tokens
/// when needed (runtime create-token gives <c>api_token</c> and <c>ws_token</c>; both are renewed before they
/// expire and after a 401), then interchanges: it sends the queued outgoing commands, acknowledges the commands
/// handled since the last call, and hands each new command to the handler once, in id order, INIT_RUNTIME first.
/// It calls at least every <see cref="OmgClientOptions.MaxInterval"/> (1 s by default, at most 10 s): that call is
/// the runtime's heartbeat, and the server deletes a runtime silent for 30 s. Handlers run on the loop, so a handler
/// must not block for long; slow work belongs elsewhere and can queue commands from any thread.
/// A handler that throws does not get its command acknowledged: it comes back and is retried on the next call,
/// before anything after it, up to <see cref="OmgClientOptions.MaxHandlerAttempts"/> (3) times in all; then it is
/// acknowledged and logged as an error.
/// </summary>
public sealed class OmgRuntimeClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly OmgClientOptions _options;
    private readonly ServiceCaller _caller;
    private readonly TokenKeeper _token;
    private readonly InterchangeLoop<RuntimeCommand, OutgoingCommand> _loop;

    public OmgRuntimeClient(OmgRuntimeSettings settings, HttpClient? httpClient = null, OmgClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _options = options ?? new OmgClientOptions();
        _options.Validate();
        if (_options.MaxInterval > OmgClientOptions.MaxRuntimeInterval)
            throw new ArgumentOutOfRangeException(nameof(options), $"a runtime's MaxInterval is its heartbeat and must not exceed {OmgClientOptions.MaxRuntimeInterval.TotalSeconds} s");
        Settings = settings;
        _ownsHttp = httpClient is null;
        _http = httpClient ?? new HttpClient();
        _caller = new ServiceCaller(_http, settings.ServiceUrl, _options);
        _token = new TokenKeeper(IssueTokenAsync, _options, $"runtime {settings.RuntimeId}");
        _loop = new InterchangeLoop<RuntimeCommand, OutgoingCommand>(
            $"runtime {settings.RuntimeId}", _options, c => c.Id, c => $"command {c.Id} {c.Qualifier}",
            batch => batch.OrderBy(c => c.Qualifier == RuntimeCommandQualifier.INIT_RUNTIME ? 0 : 1).ThenBy(c => c.Id));
    }

    /// <summary>Settings from OMGSERVERS_RUNTIME_ID, OMGSERVERS_PASSWORD, OMGSERVERS_RUNTIME_QUALIFIER, OMGSERVERS_SERVICE_URL.</summary>
    public static OmgRuntimeClient FromEnvironment(HttpClient? httpClient = null, OmgClientOptions? options = null) =>
        new(OmgRuntimeSettings.FromEnvironment(), httpClient, options);

    public OmgRuntimeSettings Settings { get; }

    public long RuntimeId => Settings.RuntimeId;

    public RuntimeQualifier Qualifier => Settings.Qualifier;

    /// <summary>From INIT_RUNTIME; null until it is handled.</summary>
    public RuntimeConfig? Config { get; private set; }

    public string? ApiToken => _token.Token;

    /// <summary>For the dispatcher WebSocket (contract 10.2); renewed together with <see cref="ApiToken"/>.</summary>
    public string? WsToken { get; private set; }

    public DateTimeOffset? TokenExpiresAt => _token.ExpiresAt;

    /// <summary>Commands waiting to be sent.</summary>
    public int QueuedCommands => _loop.QueuedCount;

    /// <summary>Runtime create-token: keeps both tokens.</summary>
    public async Task CreateTokenAsync(CancellationToken ct = default) => _token.Set(await IssueTokenAsync(ct).ConfigureAwait(false));

    /// <summary>
    /// The interchange loop. Ends when <paramref name="ct"/> is cancelled (after one last call that sends what is
    /// queued and acknowledges what was handled; throws <see cref="OperationCanceledException"/>) or on an error
    /// that the retries did not cure (throws it, e.g. <see cref="OmgApiException"/> 404 RUNTIME_NOT_FOUND).
    /// </summary>
    public async Task RunAsync(Func<RuntimeCommand, CancellationToken, ValueTask> handler, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(handler);
        if (_token.Token is null) await CreateTokenAsync(ct).ConfigureAwait(false);
        await _loop.RunAsync(
            async (outgoing, acks, token) => (await _caller.PostAsync<RuntimeInterchangeRequest, RuntimeInterchangeResponse>(
                ApiPaths.RuntimeInterchange, new RuntimeInterchangeRequest(outgoing, acks), _token, token).ConfigureAwait(false)).IncomingCommands,
            async (command, token) =>
            {
                if (command.Qualifier == RuntimeCommandQualifier.INIT_RUNTIME) Config = command.BodyAs<InitRuntimeBody>().RuntimeConfig;
                await handler(command, token).ConfigureAwait(false);
            },
            static () => false,
            ct).ConfigureAwait(false);
    }

    public Task RunAsync(OmgRuntimeHandler handler, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return RunAsync((command, token) => handler.HandleAsync(this, command, token), ct);
    }

    // Outgoing commands: queued (thread-safe) and sent by the next interchange, which starts at once. Payloads are any
    // JSON (see Payload.From). Past OmgClientOptions.MaxQueuedOutgoing they throw OmgQueueFullException.

    public void Send(OutgoingCommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        _loop.Enqueue(command);
    }

    /// <summary>One SERVER_OUTGOING_MESSAGE to a client assigned to this runtime.</summary>
    public void RespondClient(long clientId, object? message) => Send(OutgoingCommand.Create(new RespondClientBody(clientId, Payload.From(message))));

    /// <summary>Replaces the profile of the client's player.</summary>
    public void SetProfile(long clientId, object? profile) => Send(OutgoingCommand.Create(new SetProfileBody(clientId, Payload.From(profile))));

    /// <summary>To each listed client; the server sends nothing unless all of them are assigned here.</summary>
    public void Multicast(IEnumerable<long> clients, object? message) =>
        Send(OutgoingCommand.Create(new MulticastMessageBody(clients.ToArray(), Payload.From(message))));

    /// <summary>To every client assigned to this runtime.</summary>
    public void Broadcast(object? message) => Send(OutgoingCommand.Create(new BroadcastMessageBody(Payload.From(message))));

    /// <summary>Asks the client's matchmaker for a match of <paramref name="mode"/> (a mode of the version config).</summary>
    public void RequestMatchmaking(long clientId, string mode)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(mode);
        Send(OutgoingCommand.Create(new RequestMatchmakingBody(clientId, mode)));
    }

    /// <summary>Lobby: the client is deleted. Match: the client goes back to a lobby.</summary>
    public void KickClient(long clientId) => Send(OutgoingCommand.Create(new KickClientBody(clientId)));

    /// <summary>Match only: closes the match to new players. The body is <c>{}</c>.</summary>
    public void StopMatchmaking() => Send(OutgoingCommand.Create(new StopMatchmakingBody()));

    /// <summary>Gives the client a dispatcher WebSocket token bound to this runtime (CONNECTION_UPGRADE_MESSAGE).</summary>
    public void UpgradeConnection(long clientId, UpgradeProtocol protocol = UpgradeProtocol.DISPATCHER) =>
        Send(OutgoingCommand.Create(new UpgradeConnectionBody(clientId, protocol)));

    private async Task<string> IssueTokenAsync(CancellationToken ct)
    {
        var response = await _caller.PostAsync<CreateRuntimeTokenRequest, CreateRuntimeTokenResponse>(
            ApiPaths.RuntimeCreateToken, new CreateRuntimeTokenRequest(Settings.RuntimeId, Settings.Password), null, ct).ConfigureAwait(false);
        WsToken = response.WsToken;
        return response.ApiToken;
    }

    public void Dispose()
    {
        if (_ownsHttp) _http.Dispose();
    }
}

/// <summary>
/// A runtime's game logic, one method per incoming command; override what the game needs (the rest do nothing).
/// Runs on the interchange loop: see <see cref="OmgRuntimeClient"/> for ordering and failures.
/// </summary>
public abstract class OmgRuntimeHandler
{
    public ValueTask HandleAsync(OmgRuntimeClient runtime, RuntimeCommand command, CancellationToken ct) => command.Qualifier switch
    {
        RuntimeCommandQualifier.INIT_RUNTIME => OnInitRuntimeAsync(runtime, command.BodyAs<InitRuntimeBody>().RuntimeConfig, ct),
        RuntimeCommandQualifier.ADD_CLIENT => OnAddClientAsync(runtime, command.BodyAs<AddClientBody>(), ct),
        RuntimeCommandQualifier.ADD_MATCH_CLIENT => OnAddMatchClientAsync(runtime, command.BodyAs<AddMatchClientBody>(), ct),
        RuntimeCommandQualifier.DELETE_CLIENT => OnDeleteClientAsync(runtime, command.BodyAs<DeleteClientBody>(), ct),
        RuntimeCommandQualifier.HANDLE_MESSAGE => OnHandleMessageAsync(runtime, command.BodyAs<HandleMessageBody>(), ct),
        _ => ValueTask.CompletedTask,
    };

    protected virtual ValueTask OnInitRuntimeAsync(OmgRuntimeClient runtime, RuntimeConfig config, CancellationToken ct) => ValueTask.CompletedTask;

    protected virtual ValueTask OnAddClientAsync(OmgRuntimeClient runtime, AddClientBody body, CancellationToken ct) => ValueTask.CompletedTask;

    protected virtual ValueTask OnAddMatchClientAsync(OmgRuntimeClient runtime, AddMatchClientBody body, CancellationToken ct) => ValueTask.CompletedTask;

    protected virtual ValueTask OnDeleteClientAsync(OmgRuntimeClient runtime, DeleteClientBody body, CancellationToken ct) => ValueTask.CompletedTask;

    protected virtual ValueTask OnHandleMessageAsync(OmgRuntimeClient runtime, HandleMessageBody body, CancellationToken ct) => ValueTask.CompletedTask;
}
