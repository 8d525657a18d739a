using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json;
using OmgServers.Actors;
using OmgServers.Contracts;
using OmgServers.Contracts.Interchange;

namespace OmgServers.Domain.Clients;

/// <summary>
/// A player's client (contract 2.1, 4.1): who owns it, which deployment it plays, and its incoming message log. The
/// log keeps every message not yet acknowledged; an interchange acknowledges ids and gets the rest back in id order
/// (at-least-once delivery). Outgoing messages sent before the client has a runtime are kept, up to
/// <see cref="MaxPendingOutgoing"/>, instead of being dropped (upstream defect 12.11); the runtime assignment of a
/// later issue forwards them.
/// </summary>
public static class ClientCommands
{
    public sealed record Create(long UserId, long TenantId, long StageId, long DeploymentId, long WelcomeMessageId, JsonElement WelcomeBody, DateTimeOffset Created);

    /// <summary>Replies <see cref="InterchangeReply"/> or <see cref="ClientRejected"/>.</summary>
    public sealed record Interchange(long UserId, IReadOnlyList<JsonElement> Outgoing, IReadOnlyList<long> Consumed);
}

public static class ClientEvents
{
    public sealed record Created(long UserId, long TenantId, long StageId, long DeploymentId, DateTimeOffset At);
    public sealed record MessageAdded(long Id, MessageQualifier Qualifier, JsonElement Body, DateTimeOffset At);
    public sealed record MessagesConsumed(long[] Ids);
    public sealed record OutgoingKept(JsonElement[] Data);
}

public sealed record InterchangeReply(IReadOnlyList<PlayerMessage> Incoming);

/// <summary>An expected refusal: the edge maps it to the contract's error.</summary>
public sealed record ClientRejected(Qualifier Qualifier, int Status);

public sealed record ClientState(
    bool Exists, long UserId, long TenantId, long StageId, long DeploymentId, bool Deleted,
    ImmutableSortedDictionary<long, PlayerMessage> Unconsumed, ImmutableList<JsonElement> PendingOutgoing)
{
    public static readonly ClientState Empty = new(false, 0, 0, 0, 0, false, ImmutableSortedDictionary<long, PlayerMessage>.Empty, []);

    public ClientState Apply(object @event) => @event switch
    {
        ClientEvents.Created c => this with { Exists = true, UserId = c.UserId, TenantId = c.TenantId, StageId = c.StageId, DeploymentId = c.DeploymentId },
        ClientEvents.MessageAdded m => this with { Unconsumed = Unconsumed.SetItem(m.Id, new PlayerMessage(m.Id, m.Qualifier, m.Body)) },
        ClientEvents.MessagesConsumed c => this with { Unconsumed = Unconsumed.RemoveRange(c.Ids) },
        ClientEvents.OutgoingKept o => this with { PendingOutgoing = PendingOutgoing.AddRange(o.Data) },
        _ => this,
    };
}

public sealed class ClientEntity : PersistentEntity<ClientState>
{
    public const string TypeName = "client";

    /// <summary>Outgoing messages a client without a runtime may have waiting; beyond it the call is refused (503, retry later).</summary>
    public const int MaxPendingOutgoing = 100;

    public static EntityAddress Address(long clientId) => new(TypeName, clientId.ToString(CultureInfo.InvariantCulture));

    protected override ClientState CreateInitialState() => ClientState.Empty;

    protected override ClientState Apply(ClientState state, object @event) => state.Apply(@event);

    protected override async ValueTask<object?> HandleAsync(object message)
    {
        switch (message)
        {
            case ClientCommands.Create create:
                if (State.Exists) return new ClientRejected(Qualifier.IDEMPOTENCY_VIOLATED, 409);
                await PersistAsync([
                    new ClientEvents.Created(create.UserId, create.TenantId, create.StageId, create.DeploymentId, create.Created),
                    new ClientEvents.MessageAdded(create.WelcomeMessageId, MessageQualifier.SERVER_WELCOME_MESSAGE, create.WelcomeBody, create.Created),
                ]);
                return new InterchangeReply([]);

            case ClientCommands.Interchange interchange:
                if (!State.Exists)
                {
                    Context.Passivate();
                    return new ClientRejected(Qualifier.OBJECT_NOT_FOUND, 404);
                }
                if (State.UserId != interchange.UserId) return new ClientRejected(Qualifier.WRONG_CLIENT_ID, 400);

                var events = new List<object>(2);
                var consumed = interchange.Consumed.Where(State.Unconsumed.ContainsKey).Distinct().ToArray();
                if (consumed.Length > 0) events.Add(new ClientEvents.MessagesConsumed(consumed));
                // A deleted client is receive-only (contract 4.1 step 3): its outgoing messages are ignored.
                if (!State.Deleted && interchange.Outgoing.Count > 0)
                {
                    if (State.PendingOutgoing.Count + interchange.Outgoing.Count > MaxPendingOutgoing)
                        return new ClientRejected(Qualifier.SERVICE_UNAVAILABLE, 503);
                    events.Add(new ClientEvents.OutgoingKept(interchange.Outgoing.ToArray()));
                }
                if (events.Count > 0) await PersistAsync(events);
                return new InterchangeReply(State.Unconsumed.Values.ToList());

            default:
                return null;
        }
    }

    public static void Register(EntityRegistryBuilder r) => r.Entity<ClientEntity>(TypeName)
        .SnapshotEvery(50)
        .Event<ClientEvents.Created>("client.created")
        .Event<ClientEvents.MessageAdded>("client.message-added")
        .Event<ClientEvents.MessagesConsumed>("client.messages-consumed")
        .Event<ClientEvents.OutgoingKept>("client.outgoing-kept")
        .Message<ClientCommands.Create>("client.create")
        .Message<ClientCommands.Interchange>("client.interchange")
        .Message<InterchangeReply>("client.interchange-reply")
        .Message<ClientRejected>("client.rejected");
}
