using System.Text.Json;
using System.Text.Json.Serialization;
using OmgServers.Contracts;

namespace OmgServers.Contracts.Interchange;

// Contract 4.1: the player's side of the interchange. Every message, in both directions, is the envelope
// {id, qualifier, body}; the body's shape follows the qualifier.

/// <summary>Player message qualifiers (contract 4.1), exact names.</summary>
[JsonConverter(typeof(ExactEnumConverterFactory))]
public enum MessageQualifier
{
    CLIENT_OUTGOING_MESSAGE,
    SERVER_WELCOME_MESSAGE,
    MATCHMAKER_ASSIGNMENT_MESSAGE,
    RUNTIME_ASSIGNMENT_MESSAGE,
    CONNECTION_UPGRADE_MESSAGE,
    DISCONNECTION_REASON_MESSAGE,
    SERVER_OUTGOING_MESSAGE,
}

/// <summary>Protocol a connection is upgraded to (contract 5.6); Jan-2025 has only the dispatcher.</summary>
[JsonConverter(typeof(ExactEnumConverterFactory))]
public enum UpgradeProtocol { DISPATCHER }

/// <summary>Why a client was disconnected (contract 5.7).</summary>
[JsonConverter(typeof(ExactEnumConverterFactory))]
public enum DisconnectionReason { CLIENT_INACTIVITY, INTERNAL_FAILURE }

/// <summary>A player message body, tied to its qualifier.</summary>
public interface IPlayerMessageBody
{
    static abstract MessageQualifier Qualifier { get; }
}

/// <summary>
/// The player message envelope. Ids of server messages are the server's; ids of outgoing messages are numbered by
/// the client and ignored by the server.
/// </summary>
public sealed record PlayerMessage(long Id, MessageQualifier Qualifier, JsonElement Body)
{
    public static PlayerMessage Create<TBody>(long id, TBody body) where TBody : IPlayerMessageBody =>
        new(id, TBody.Qualifier, Payload.Body(body));

    /// <summary>The body as <typeparamref name="TBody"/>; throws when the qualifier is another one.</summary>
    public TBody BodyAs<TBody>() where TBody : IPlayerMessageBody =>
        Qualifier == TBody.Qualifier
            ? Payload.ReadBody<TBody>(Body, Qualifier.ToString())
            : throw new InvalidOperationException($"message {Id} is {Qualifier}, not {TBody.Qualifier}");
}

/// <summary>player → server: <c>data</c> becomes the <c>message</c> of a <c>HANDLE_MESSAGE</c> to the runtime.</summary>
public sealed record ClientOutgoingMessageBody(JsonElement Data) : IPlayerMessageBody
{
    public static MessageQualifier Qualifier => MessageQualifier.CLIENT_OUTGOING_MESSAGE;
}

/// <summary>The first message of a client (contract 5.3).</summary>
public sealed record ServerWelcomeMessageBody(long TenantId, long VersionId, DateTimeOffset VersionCreated) : IPlayerMessageBody
{
    public static MessageQualifier Qualifier => MessageQualifier.SERVER_WELCOME_MESSAGE;
}

public sealed record MatchmakerAssignmentMessageBody(long MatchmakerId) : IPlayerMessageBody
{
    public static MessageQualifier Qualifier => MessageQualifier.MATCHMAKER_ASSIGNMENT_MESSAGE;
}

/// <summary>The client now talks to this runtime (a lobby, or a match after matchmaking).</summary>
public sealed record RuntimeAssignmentMessageBody(long RuntimeId, RuntimeQualifier RuntimeQualifier, RuntimeConfig RuntimeConfig) : IPlayerMessageBody
{
    public static MessageQualifier Qualifier => MessageQualifier.RUNTIME_ASSIGNMENT_MESSAGE;
}

public sealed record WebSocketConfig(string WsToken);

/// <summary>The runtime asked for a direct connection through the dispatcher (contract 5.6).</summary>
public sealed record ConnectionUpgradeMessageBody(long ClientId, UpgradeProtocol Protocol, WebSocketConfig WebSocketConfig) : IPlayerMessageBody
{
    public static MessageQualifier Qualifier => MessageQualifier.CONNECTION_UPGRADE_MESSAGE;
}

/// <summary>The client was deleted; the interchange goes on receive-only (contract 5.7).</summary>
public sealed record DisconnectionReasonMessageBody(DisconnectionReason Reason) : IPlayerMessageBody
{
    public static MessageQualifier Qualifier => MessageQualifier.DISCONNECTION_REASON_MESSAGE;
}

/// <summary>What a runtime sent to this client (RESPOND_CLIENT, MULTICAST_MESSAGE or BROADCAST_MESSAGE).</summary>
public sealed record ServerOutgoingMessageBody(JsonElement Message) : IPlayerMessageBody
{
    public static MessageQualifier Qualifier => MessageQualifier.SERVER_OUTGOING_MESSAGE;
}
