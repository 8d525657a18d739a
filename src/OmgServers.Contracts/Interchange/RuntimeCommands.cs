using System.Text.Json;
using System.Text.Json.Serialization;
using OmgServers.Contracts;

namespace OmgServers.Contracts.Interchange;

// Contract 4.2: the runtime's side of the interchange. Incoming commands are the server's full stored records;
// outgoing commands are {qualifier, body} without an id.

/// <summary>Server → runtime command qualifiers (contract 4.2), exact names.</summary>
[JsonConverter(typeof(ExactEnumConverterFactory))]
public enum RuntimeCommandQualifier { INIT_RUNTIME, ADD_CLIENT, ADD_MATCH_CLIENT, DELETE_CLIENT, HANDLE_MESSAGE }

/// <summary>Runtime → server command qualifiers (contract 4.2), exact names.</summary>
[JsonConverter(typeof(ExactEnumConverterFactory))]
public enum OutgoingCommandQualifier
{
    RESPOND_CLIENT,
    SET_PROFILE,
    MULTICAST_MESSAGE,
    BROADCAST_MESSAGE,
    REQUEST_MATCHMAKING,
    KICK_CLIENT,
    STOP_MATCHMAKING,
    UPGRADE_CONNECTION,
}

public interface IRuntimeCommandBody
{
    static abstract RuntimeCommandQualifier Qualifier { get; }
}

public interface IOutgoingCommandBody
{
    static abstract OutgoingCommandQualifier Qualifier { get; }
}

/// <summary>A server → runtime command as the interchange returns it: the full stored record.</summary>
public sealed record RuntimeCommand(
    long Id,
    string? IdempotencyKey,
    long RuntimeId,
    DateTimeOffset Created,
    DateTimeOffset Modified,
    RuntimeCommandQualifier Qualifier,
    JsonElement Body,
    bool Deleted)
{
    public TBody BodyAs<TBody>() where TBody : IRuntimeCommandBody =>
        Qualifier == TBody.Qualifier
            ? Payload.ReadBody<TBody>(Body, Qualifier.ToString())
            : throw new InvalidOperationException($"command {Id} is {Qualifier}, not {TBody.Qualifier}");

    public static RuntimeCommand Create<TBody>(long id, string idempotencyKey, long runtimeId, DateTimeOffset created, TBody body)
        where TBody : IRuntimeCommandBody =>
        new(id, idempotencyKey, runtimeId, created, created, TBody.Qualifier, Payload.Body(body), false);
}

/// <summary>A runtime → server command.</summary>
public sealed record OutgoingCommand(OutgoingCommandQualifier Qualifier, JsonElement Body)
{
    public static OutgoingCommand Create<TBody>(TBody body) where TBody : IOutgoingCommandBody => new(TBody.Qualifier, Payload.Body(body));

    public TBody BodyAs<TBody>() where TBody : IOutgoingCommandBody =>
        Qualifier == TBody.Qualifier
            ? Payload.ReadBody<TBody>(Body, Qualifier.ToString())
            : throw new InvalidOperationException($"command is {Qualifier}, not {TBody.Qualifier}");
}

// ---------------------------------------------------------------- server → runtime

/// <summary>Always the runtime's first command.</summary>
public sealed record InitRuntimeBody(RuntimeConfig RuntimeConfig) : IRuntimeCommandBody
{
    public static RuntimeCommandQualifier Qualifier => RuntimeCommandQualifier.INIT_RUNTIME;
}

/// <summary>A client was assigned to this lobby; <c>profile</c> is its player's profile.</summary>
public sealed record AddClientBody(long UserId, long ClientId, JsonElement Profile) : IRuntimeCommandBody
{
    public static RuntimeCommandQualifier Qualifier => RuntimeCommandQualifier.ADD_CLIENT;
}

/// <summary>A client was assigned to this match, into the group <c>group_name</c> of the mode.</summary>
public sealed record AddMatchClientBody(long UserId, long ClientId, string GroupName, JsonElement Profile) : IRuntimeCommandBody
{
    public static RuntimeCommandQualifier Qualifier => RuntimeCommandQualifier.ADD_MATCH_CLIENT;
}

/// <summary>The client left this runtime (moved, kicked, deleted or inactive).</summary>
public sealed record DeleteClientBody(long ClientId) : IRuntimeCommandBody
{
    public static RuntimeCommandQualifier Qualifier => RuntimeCommandQualifier.DELETE_CLIENT;
}

/// <summary>A player's message: <c>message</c> is the <c>data</c> the player sent.</summary>
public sealed record HandleMessageBody(long ClientId, JsonElement Message) : IRuntimeCommandBody
{
    public static RuntimeCommandQualifier Qualifier => RuntimeCommandQualifier.HANDLE_MESSAGE;
}

// ---------------------------------------------------------------- runtime → server

/// <summary>One SERVER_OUTGOING_MESSAGE to a client assigned to this runtime.</summary>
public sealed record RespondClientBody(long ClientId, JsonElement Message) : IOutgoingCommandBody
{
    public static OutgoingCommandQualifier Qualifier => OutgoingCommandQualifier.RESPOND_CLIENT;
}

/// <summary>Replaces the profile of the client's player (per user per stage).</summary>
public sealed record SetProfileBody(long ClientId, JsonElement Profile) : IOutgoingCommandBody
{
    public static OutgoingCommandQualifier Qualifier => OutgoingCommandQualifier.SET_PROFILE;
}

/// <summary>The key is <c>clients</c> (the README's <c>client</c> is wrong, contract 4.2); all must be assigned here.</summary>
public sealed record MulticastMessageBody(IReadOnlyList<long> Clients, JsonElement Message) : IOutgoingCommandBody
{
    public static OutgoingCommandQualifier Qualifier => OutgoingCommandQualifier.MULTICAST_MESSAGE;
}

/// <summary>To every client currently assigned to this runtime.</summary>
public sealed record BroadcastMessageBody(JsonElement Message) : IOutgoingCommandBody
{
    public static OutgoingCommandQualifier Qualifier => OutgoingCommandQualifier.BROADCAST_MESSAGE;
}

/// <summary>Asks the client's matchmaker for a match of <c>mode</c> (at most 64 characters).</summary>
public sealed record RequestMatchmakingBody(long ClientId, string Mode) : IOutgoingCommandBody
{
    public static OutgoingCommandQualifier Qualifier => OutgoingCommandQualifier.REQUEST_MATCHMAKING;
}

/// <summary>Lobby: deletes the client. Match: sends the client back to a lobby.</summary>
public sealed record KickClientBody(long ClientId) : IOutgoingCommandBody
{
    public static OutgoingCommandQualifier Qualifier => OutgoingCommandQualifier.KICK_CLIENT;
}

/// <summary>Match only: closes the match to new players. Written as <c>{}</c>.</summary>
public sealed record StopMatchmakingBody : IOutgoingCommandBody
{
    public static OutgoingCommandQualifier Qualifier => OutgoingCommandQualifier.STOP_MATCHMAKING;
}

/// <summary>Sends the client a CONNECTION_UPGRADE_MESSAGE with a WebSocket token bound to this runtime.</summary>
public sealed record UpgradeConnectionBody(long ClientId, UpgradeProtocol Protocol) : IOutgoingCommandBody
{
    public static OutgoingCommandQualifier Qualifier => OutgoingCommandQualifier.UPGRADE_CONNECTION;
}
