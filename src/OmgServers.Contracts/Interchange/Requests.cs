using OmgServers.Contracts;

namespace OmgServers.Contracts.Interchange;

// Contract 2.1 and 2.2: requests and responses of the player and runtime APIs that OmgServers.Contracts does not
// already define (create-user and player create-token use CreateUserResponse, CreateTokenByUserIdRequest and
// RawTokenResponse from there). Request fields are nullable and annotated so that a server can validate the
// top-level object (contract 1.4) with the same records.

/// <summary>Paths of the player and runtime APIs, relative to the service URL.</summary>
public static class ApiPaths
{
    public const string Player = "service/v1/entrypoint/player/request/";
    public const string Runtime = "service/v1/entrypoint/runtime/request/";

    public const string PlayerPingService = Player + "ping-service";
    public const string PlayerCreateUser = Player + "create-user";
    public const string PlayerCreateToken = Player + "create-token";
    public const string PlayerCreateClient = Player + "create-client";
    public const string PlayerInterchange = Player + "interchange";

    public const string RuntimeCreateToken = Runtime + "create-token";
    public const string RuntimeInterchange = Runtime + "interchange";
}

public sealed record CreateClientRequest([NotBlank, MaxSize(64)] string? Tenant, [NotBlank, MaxSize(64)] string? Project, [NotBlank, MaxSize(64)] string? Stage);

public sealed record CreateClientResponse(long ClientId);

/// <summary>Player interchange (contract 4.1): all three fields are required.</summary>
public sealed record PlayerInterchangeRequest(
    [Required] long? ClientId,
    [Required, MaxSize(PlayerInterchangeRequest.MaxOutgoing)] IReadOnlyList<PlayerMessage>? OutgoingMessages,
    [Required, MaxSize(PlayerInterchangeRequest.MaxConsumed)] IReadOnlyList<long>? ConsumedMessages)
{
    /// <summary>Ours (upstream has no cap): outgoing messages in one call.</summary>
    public const int MaxOutgoing = 100;

    /// <summary>Ours: acknowledged ids in one call.</summary>
    public const int MaxConsumed = 1000;

    /// <summary>Ours: the serialized `data` of one outgoing message.</summary>
    public const int MaxMessageBytes = 64 * 1024;
}

/// <summary>Every message of the client not yet acknowledged, ordered by id ascending.</summary>
public sealed record PlayerInterchangeResponse(IReadOnlyList<PlayerMessage> IncomingMessages);

public sealed record CreateRuntimeTokenRequest([Required] long? RuntimeId, [NotBlank, MaxSize(64)] string? Password);

/// <summary><c>api_token</c> opens the runtime API; <c>ws_token</c> opens the dispatcher.</summary>
public sealed record CreateRuntimeTokenResponse(string ApiToken, string WsToken);

/// <summary>Runtime interchange (contract 4.2): the runtime id comes from the token.</summary>
public sealed record RuntimeInterchangeRequest(
    [Required, MaxSize(RuntimeInterchangeRequest.MaxOutgoing)] IReadOnlyList<OutgoingCommand>? OutgoingCommands,
    [Required, MaxSize(RuntimeInterchangeRequest.MaxConsumed)] IReadOnlyList<long>? ConsumedCommands)
{
    /// <summary>Ours (upstream has no cap): outgoing commands in one call.</summary>
    public const int MaxOutgoing = 1000;

    /// <summary>Ours: acknowledged command ids in one call.</summary>
    public const int MaxConsumed = 10_000;

    /// <summary>Ours: the whole request body (a runtime batches a tick's commands).</summary>
    public const long MaxBodyBytes = 4 * 1024 * 1024;
}

/// <summary>Every command of the runtime not yet acknowledged, ordered by id ascending.</summary>
public sealed record RuntimeInterchangeResponse(IReadOnlyList<RuntimeCommand> IncomingCommands);
