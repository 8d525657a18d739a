using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using OmgServers.Actors;
using OmgServers.Contracts;
using OmgServers.Contracts.Interchange;
using OmgServers.Domain.Deployments;
using OmgServers.Domain.Runtimes;

namespace OmgServers.Domain.Clients;

/// <summary>
/// A player's client (contract 2.1, 4.1, 5.3, 5.7): who owns it, which deployment it plays, its current runtime, and its
/// incoming message log. The log keeps every message not yet acknowledged; an interchange acknowledges ids and gets
/// the rest back in id order (at-least-once delivery). Outgoing messages sent before the client has a runtime are
/// kept, up to <see cref="MaxPendingOutgoing"/> (the rest are dropped), and forwarded when it gets one (upstream drops
/// them all, defect 12.11).
/// </summary>
public static class ClientCommands
{
    public sealed record Create(long UserId, long TenantId, long StageId, long DeploymentId, long WelcomeMessageId, JsonElement WelcomeBody, DateTimeOffset Created);

    /// <summary>Replies <see cref="InterchangeReply"/> or <see cref="ClientRejected"/>.</summary>
    public sealed record Interchange(long UserId, IReadOnlyList<JsonElement> Outgoing, IReadOnlyList<long> Consumed);

    /// <summary>From the deployment: the client's matchmaker (<c>MATCHMAKER_ASSIGNMENT_MESSAGE</c>).</summary>
    public sealed record AssignMatchmaker(long MatchmakerId);

    /// <summary>From the deployment or a matchmaker: the client now plays on this runtime (<c>RUNTIME_ASSIGNMENT_MESSAGE</c>). The client
    /// itself tells the runtimes (<c>ADD_CLIENT</c> to the new one with <paramref name="GroupName"/> for a match, <c>DELETE_CLIENT</c> to the
    /// old one), so that a runtime hears of a client in the order the client lived it.</summary>
    public sealed record Assign(long RuntimeId, RuntimeQualifier Qualifier, JsonElement RuntimeConfig, string? GroupName = null);

    /// <summary>From a runtime: a message for the player (<c>SERVER_OUTGOING_MESSAGE</c>, <c>CONNECTION_UPGRADE_MESSAGE</c>).</summary>
    public sealed record AddMessage(long FromRuntimeId, MessageQualifier Qualifier, JsonElement Body);

    /// <summary>Delete the client: with a reason the player gets <c>DISCONNECTION_REASON_MESSAGE</c>; without one (a lobby's kick)
    /// it is just deleted. <paramref name="FromRuntimeId"/>: the runtime that asked, which needs no <c>DELETE_CLIENT</c>.</summary>
    public sealed record Disconnect(DisconnectionReason? Reason, long? FromRuntimeId);
}

public static class ClientEvents
{
    public sealed record Created(long UserId, long TenantId, long StageId, long DeploymentId, DateTimeOffset At);
    public sealed record MessageAdded(long Id, MessageQualifier Qualifier, JsonElement Body, DateTimeOffset At);
    public sealed record MessagesConsumed(long[] Ids);
    public sealed record OutgoingKept(JsonElement[] Data);
    public sealed record OutgoingForwarded(long RuntimeId);
    public sealed record RuntimeAssigned(long RuntimeId, RuntimeQualifier Qualifier);
    public sealed record MatchmakerAssigned(long MatchmakerId);
    public sealed record Deleted(DateTimeOffset At);
}

/// <summary>The client's unacknowledged messages, and the runtime its outgoing messages go to (none while unassigned or deleted).</summary>
public sealed record InterchangeReply(IReadOnlyList<PlayerMessage> Incoming, long? RuntimeId = null);

/// <summary>An expected refusal: the edge maps it to the contract's error.</summary>
public sealed record ClientRejected(Qualifier Qualifier, int Status);

public sealed record ClientState(
    bool Exists, long UserId, long TenantId, long StageId, long DeploymentId, bool Deleted, long LastMessageId,
    long? RuntimeId, RuntimeQualifier? RuntimeQualifier,
    ImmutableSortedDictionary<long, PlayerMessage> Unconsumed, ImmutableList<JsonElement> PendingOutgoing, long MatchmakerId = 0)
{
    public static readonly ClientState Empty = new(false, 0, 0, 0, 0, false, 0, null, null, ImmutableSortedDictionary<long, PlayerMessage>.Empty, []);

    public ClientState Apply(object @event) => @event switch
    {
        ClientEvents.Created c => this with { Exists = true, UserId = c.UserId, TenantId = c.TenantId, StageId = c.StageId, DeploymentId = c.DeploymentId },
        ClientEvents.MessageAdded m => this with
        {
            Unconsumed = Unconsumed.SetItem(m.Id, new PlayerMessage(m.Id, m.Qualifier, m.Body)),
            LastMessageId = Math.Max(LastMessageId, m.Id),
        },
        ClientEvents.MessagesConsumed c => this with { Unconsumed = Unconsumed.RemoveRange(c.Ids) },
        ClientEvents.OutgoingKept o => this with { PendingOutgoing = PendingOutgoing.AddRange(o.Data) },
        ClientEvents.OutgoingForwarded => this with { PendingOutgoing = [] },
        ClientEvents.RuntimeAssigned a => this with { RuntimeId = a.RuntimeId, RuntimeQualifier = a.Qualifier },
        ClientEvents.MatchmakerAssigned m => this with { MatchmakerId = m.MatchmakerId },
        ClientEvents.Deleted => this with { Deleted = true, PendingOutgoing = [] },
        _ => this,
    };
}

public sealed class ClientEntity(GameOptions options) : PersistentEntity<ClientState>
{
    public const string TypeName = "client";

    /// <summary>Outgoing messages a client without a runtime may keep; more are dropped (and logged).</summary>
    public const int MaxPendingOutgoing = 100;

    private readonly InactivityWatch _activity = new(options.ClientInactiveInterval);

    public static EntityAddress Address(long clientId) => new(TypeName, clientId.ToString(CultureInfo.InvariantCulture));

    private long ClientId => long.Parse(Context.Id, CultureInfo.InvariantCulture);

    protected override ClientState CreateInitialState() => ClientState.Empty;

    protected override ClientState Apply(ClientState state, object @event) => state.Apply(@event);

    protected override async ValueTask<object?> HandleAsync(object message)
    {
        switch (message)
        {
            case ClientCommands.Create create:
                if (State.Exists) return new ClientRejected(Qualifier.IDEMPOTENCY_VIOLATED, 409);
                // The reminder first: if the write below fails, it fires for a client that does not exist and does nothing.
                await _activity.StartAsync(Context);
                Deliver(DeploymentEntity.Address(create.DeploymentId), new DeploymentCommands.Enqueue(ClientId, create.UserId, create.StageId));
                await PersistAsync([
                    new ClientEvents.Created(create.UserId, create.TenantId, create.StageId, create.DeploymentId, create.Created),
                    new ClientEvents.MessageAdded(create.WelcomeMessageId, MessageQualifier.SERVER_WELCOME_MESSAGE, create.WelcomeBody, create.Created),
                ]);
                return new InterchangeReply([]);

            case ClientCommands.Interchange interchange:
                return await InterchangeAsync(interchange);

            case ClientCommands.AssignMatchmaker assign:
                if (State.Exists && !State.Deleted && State.MatchmakerId != assign.MatchmakerId)
                    await PersistAsync([
                        new ClientEvents.MatchmakerAssigned(assign.MatchmakerId),
                        Message(MessageQualifier.MATCHMAKER_ASSIGNMENT_MESSAGE, WireBodies.Of(new MatchmakerAssignmentMessageBody(assign.MatchmakerId))),
                    ]);
                return null;

            case ClientCommands.Assign assign:
                await AssignAsync(assign);
                return null;

            case ClientCommands.AddMessage add:
                // The runtime checked that the client is assigned to it (contract 4.2); a runtime the client has left
                // (it hears of that a little later) is not heard any more.
                if (!State.Exists || State.RuntimeId != add.FromRuntimeId) return null;
                if (add.Qualifier is MessageQualifier.SERVER_OUTGOING_MESSAGE or MessageQualifier.CONNECTION_UPGRADE_MESSAGE
                    && State.Unconsumed.Count >= options.MaxUnconsumedMessages)
                {
                    Context.Logger.LogWarning("client {Client}: {Count} unacknowledged messages, a message from runtime {Runtime} is dropped",
                        Context.Id, State.Unconsumed.Count, add.FromRuntimeId);
                    return null;
                }
                await PersistAsync(Message(add.Qualifier, add.Body));
                return null;

            case ClientCommands.Disconnect disconnect:
                await DisconnectAsync(disconnect.Reason, disconnect.FromRuntimeId);
                return null;

            case ReminderFired { Name: InactivityWatch.Reminder }:
                if (!State.Exists || State.Deleted || !await _activity.IsInactiveAsync(Context)) return null;
                Context.Logger.LogInformation("client {Client} inactive since {Last}", Context.Id, _activity.LastActivity);
                await DisconnectAsync(DisconnectionReason.CLIENT_INACTIVITY, null);
                return null;

            default:
                return null;
        }
    }

    private async Task<object> InterchangeAsync(ClientCommands.Interchange interchange)
    {
        if (!State.Exists)
        {
            Context.Passivate();
            return new ClientRejected(Qualifier.OBJECT_NOT_FOUND, 404);
        }
        if (State.UserId != interchange.UserId) return new ClientRejected(Qualifier.WRONG_CLIENT_ID, 400);
        _activity.Touch();

        var events = new List<object>(2);
        var consumed = interchange.Consumed.Where(State.Unconsumed.ContainsKey).Distinct().ToArray();
        if (consumed.Length > 0) events.Add(new ClientEvents.MessagesConsumed(consumed));
        long? forwardTo = null;
        // A deleted client is receive-only (contract 4.1 step 3): its outgoing messages are ignored.
        if (!State.Deleted && interchange.Outgoing.Count > 0)
        {
            if (State.RuntimeId is { } runtimeId) forwardTo = runtimeId;
            else
            {
                // Kept until a runtime is assigned, up to a limit; beyond it dropped, as upstream drops them all (4.1).
                var room = Math.Max(0, MaxPendingOutgoing - State.PendingOutgoing.Count);
                if (room < interchange.Outgoing.Count)
                    Context.Logger.LogWarning("client {Client}: {Dropped} outgoing messages dropped, {Max} already wait for a runtime", Context.Id, interchange.Outgoing.Count - room, MaxPendingOutgoing);
                if (room > 0) events.Add(new ClientEvents.OutgoingKept(interchange.Outgoing.Take(room).ToArray()));
            }
        }
        if (events.Count > 0) await PersistAsync(events);
        return new InterchangeReply(State.Unconsumed.Values.ToList(), forwardTo);
    }

    private async Task AssignAsync(ClientCommands.Assign assign)
    {
        if (!State.Exists) return;
        if (State.Deleted)
        {
            // Assigned after it was deleted (the deployment had it queued): the runtime must not keep it.
            Deliver(RuntimeEntity.Address(assign.RuntimeId), new RuntimeCommands.RemoveClient(ClientId));
            return;
        }
        if (State.RuntimeId == assign.RuntimeId) return;
        if (State.RuntimeId is { } previous)
            Deliver(RuntimeEntity.Address(previous), new RuntimeCommands.RemoveClient(ClientId));
        Deliver(RuntimeEntity.Address(assign.RuntimeId), new RuntimeCommands.AddClient(ClientId, State.UserId, assign.GroupName, State.MatchmakerId));
        var events = new List<object>
        {
            new ClientEvents.RuntimeAssigned(assign.RuntimeId, assign.Qualifier),
            Message(MessageQualifier.RUNTIME_ASSIGNMENT_MESSAGE, WireBodies.RuntimeAssignment(assign.RuntimeId, assign.Qualifier, assign.RuntimeConfig)),
        };
        if (State.PendingOutgoing.Count > 0)
        {
            // The batch id (this write's position) lets the runtime drop a redelivered copy.
            Deliver(RuntimeEntity.Address(assign.RuntimeId), new RuntimeCommands.HandleMessages(ClientId, State.PendingOutgoing.ToArray(), LastSequenceNr + 1));
            events.Add(new ClientEvents.OutgoingForwarded(assign.RuntimeId));
        }
        await PersistAsync(events);
    }

    private async Task DisconnectAsync(DisconnectionReason? reason, long? fromRuntimeId)
    {
        if (!State.Exists || State.Deleted) return;
        // A runtime the client has already left cannot delete it.
        if (fromRuntimeId is { } from && State.RuntimeId != from) return;
        var events = new List<object>(2);
        if (reason is { } r)
            events.Add(Message(MessageQualifier.DISCONNECTION_REASON_MESSAGE, WireBodies.Of(new DisconnectionReasonMessageBody(r))));
        events.Add(new ClientEvents.Deleted(DateTimeOffset.UtcNow));
        if (State.RuntimeId is { } runtimeId && runtimeId != fromRuntimeId)
            Deliver(RuntimeEntity.Address(runtimeId), new RuntimeCommands.RemoveClient(ClientId));
        await PersistAsync(events);
        await _activity.StopAsync(Context);
    }

    // Ids grow within a client and follow the clock, so "id order" is the order the messages were added.
    private ClientEvents.MessageAdded Message(MessageQualifier qualifier, JsonElement body)
    {
        var now = DateTimeOffset.UtcNow;
        return new ClientEvents.MessageAdded(LocalIds.Next(State.LastMessageId, now), qualifier, body, now);
    }

    public static void Register(EntityRegistryBuilder r) => r.Entity<ClientEntity>(TypeName, sp => new ClientEntity(GameServices.Options(sp)))
        // Longer than any inactivity interval (GameOptions.MaxInactiveInterval): the inactivity reminder must find the
        // entity with its in-memory activity, or it would give a silent client one more interval at every wake-up.
        .PassivateAfter(GameOptions.MinPassivation)
        .SnapshotEvery(50)
        .Event<ClientEvents.Created>("client.created")
        .Event<ClientEvents.MessageAdded>("client.message-added")
        .Event<ClientEvents.MessagesConsumed>("client.messages-consumed")
        .Event<ClientEvents.OutgoingKept>("client.outgoing-kept")
        .Event<ClientEvents.OutgoingForwarded>("client.outgoing-forwarded")
        .Event<ClientEvents.RuntimeAssigned>("client.runtime-assigned")
        .Event<ClientEvents.MatchmakerAssigned>("client.matchmaker-assigned")
        .Event<ClientEvents.Deleted>("client.deleted")
        .Message<ClientCommands.Create>("client.create")
        .Message<ClientCommands.Interchange>("client.interchange")
        .Message<ClientCommands.AssignMatchmaker>("client.assign-matchmaker")
        .Message<ClientCommands.Assign>("client.assign")
        .Message<ClientCommands.AddMessage>("client.add-message")
        .Message<ClientCommands.Disconnect>("client.disconnect")
        .Message<InterchangeReply>("client.interchange-reply")
        .Message<ClientRejected>("client.rejected");
}
