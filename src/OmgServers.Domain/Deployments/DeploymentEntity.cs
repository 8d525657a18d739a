using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using OmgServers.Actors;
using OmgServers.Contracts;
using OmgServers.Contracts.Interchange;
using OmgServers.Domain.Clients;
using OmgServers.Domain.Lobbies;
using OmgServers.Domain.Matchmaking;
using OmgServers.Domain.Runtimes;
using OmgServers.Security;

namespace OmgServers.Domain.Deployments;

/// <summary>What the deployment entity takes (contract 5.2-5.4, 5.7-5.9).</summary>
public static class DeploymentCommands
{
    /// <summary>From the tenant when the deployment is created: what it runs. Clients queued before it are served then.</summary>
    public sealed record Start(
        long TenantId, long ProjectId, long StageId, long VersionId, JsonElement VersionConfig, IReadOnlyList<DeploymentImage> Images,
        long MatchmakerId, DateTimeOffset At, long? FirstLobbyId = null);

    /// <summary>From the tenant: one more lobby (the deployment's first, or a developer's <c>create-lobby-request</c>).</summary>
    public sealed record RequestLobby(long LobbyId);

    /// <summary>From the tenant: the deployment was deleted or replaced by a newer one.</summary>
    public sealed record Delete;

    /// <summary>From a new client: queue it for a lobby (and its matchmaker assignment).</summary>
    public sealed record Enqueue(long ClientId, long UserId, long StageId);

    /// <summary>From a matchmaker: a client leaves its match (kicked, the match failed) and goes back to a lobby.</summary>
    public sealed record Requeue(long ClientId, long UserId);

    /// <summary>From the tenant: one more matchmaker (<c>create-matchmaker-request</c>).</summary>
    public sealed record RequestMatchmaker(long MatchmakerId);

    /// <summary>From a matchmaker deleted by a developer: new clients go to the others.</summary>
    public sealed record MatchmakerDeleted(long MatchmakerId);

    /// <summary>From a lobby runtime: a client left it.</summary>
    public sealed record LobbyClientRemoved(long LobbyId, long ClientId);

    /// <summary>From a lobby runtime: it went inactive or its process ended (contract 5.7).</summary>
    public sealed record LobbyRuntimeFailed(long LobbyId, long RuntimeId);

    /// <summary>Developer <c>delete-lobby</c>: replies <see cref="DeletedResponse"/>.</summary>
    public sealed record DeleteLobby(long LobbyId);

    /// <summary>Replies <see cref="DeploymentView"/>.</summary>
    public sealed record GetView;
}

public sealed record DeploymentImage(ImageQualifier Qualifier, string ImageId);

public sealed record DeploymentView(
    long DeploymentId, bool Started, DateTimeOffset StartedAt, long MatchmakerId, bool Deleted, int Queued, IReadOnlyList<DeploymentView.Lobby> Lobbies)
{
    public sealed record Lobby(long LobbyId, long RuntimeId, DateTimeOffset Created, int Clients);
}

public static class DeploymentEvents
{
    public sealed record Started(
        long TenantId, long ProjectId, long StageId, long VersionId, JsonElement VersionConfig, DeploymentImage[] Images, long MatchmakerId, DateTimeOffset At);
    public sealed record ClientQueued(long ClientId, long UserId);
    public sealed record LobbyCreated(long LobbyId, long RuntimeId, DateTimeOffset At);
    public sealed record ClientAssigned(long ClientId, long LobbyId);
    public sealed record ClientDequeued(long ClientId);
    public sealed record MatchmakerAdded(long MatchmakerId);
    public sealed record MatchmakerRemoved(long MatchmakerId);
    public sealed record ClientLeftLobby(long LobbyId, long ClientId);
    public sealed record LobbyDeleted(long LobbyId);
    public sealed record Deleted(DateTimeOffset At);
}

public sealed record QueuedClient(long ClientId, long UserId);

/// <summary>A lobby and its clients, each with the number of assignments to it not yet undone (a client that leaves for a match
/// and comes back before its departure was reported counts twice until then).</summary>
public sealed record LobbyRecord(long RuntimeId, DateTimeOffset Created, ImmutableDictionary<long, int> Clients);

public sealed record DeploymentState(
    bool Started, long TenantId, long ProjectId, long StageId, long VersionId, JsonElement VersionConfig, ImmutableArray<DeploymentImage> Images,
    long MatchmakerId, bool Deleted, ImmutableList<QueuedClient> Queue, ImmutableSortedDictionary<long, LobbyRecord> Lobbies, DateTimeOffset StartedAt,
    ImmutableList<long>? MatchmakerIdsOrNull = null)
{
    public ImmutableList<long> MatchmakerIds { get => MatchmakerIdsOrNull ?? []; init => MatchmakerIdsOrNull = value; }

    /// <summary>The matchmaker a client is attached to: one of the deployment's, spread by client id (upstream: a random one).</summary>
    public long MatchmakerFor(long clientId) => MatchmakerIds.IsEmpty ? 0 : MatchmakerIds[(int)((ulong)clientId % (ulong)MatchmakerIds.Count)];

    public static readonly DeploymentState Empty = new(false, 0, 0, 0, 0, Payload.Null, [], 0, false, [], ImmutableSortedDictionary<long, LobbyRecord>.Empty, default);

    public DeploymentState Apply(object @event) => @event switch
    {
        DeploymentEvents.Started s => this with
        {
            Started = true, TenantId = s.TenantId, ProjectId = s.ProjectId, StageId = s.StageId, VersionId = s.VersionId,
            VersionConfig = s.VersionConfig, Images = [.. s.Images], MatchmakerId = s.MatchmakerId, StartedAt = s.At,
            MatchmakerIds = s.MatchmakerId == 0 ? [] : [s.MatchmakerId],
        },
        DeploymentEvents.ClientQueued q => this with { Queue = Queue.Add(new QueuedClient(q.ClientId, q.UserId)) },
        DeploymentEvents.LobbyCreated l => this with { Lobbies = Lobbies.SetItem(l.LobbyId, new LobbyRecord(l.RuntimeId, l.At, ImmutableDictionary<long, int>.Empty)) },
        DeploymentEvents.MatchmakerAdded m => this with { MatchmakerIds = MatchmakerIds.Contains(m.MatchmakerId) ? MatchmakerIds : MatchmakerIds.Add(m.MatchmakerId) },
        DeploymentEvents.MatchmakerRemoved m => this with { MatchmakerIds = MatchmakerIds.Remove(m.MatchmakerId) },
        DeploymentEvents.ClientAssigned a => this with
        {
            Queue = Queue.RemoveAll(q => q.ClientId == a.ClientId),
            Lobbies = Lobbies.TryGetValue(a.LobbyId, out var lobby)
                ? Lobbies.SetItem(a.LobbyId, lobby with { Clients = lobby.Clients.SetItem(a.ClientId, lobby.Clients.GetValueOrDefault(a.ClientId) + 1) })
                : Lobbies,
        },
        DeploymentEvents.ClientDequeued d => this with { Queue = Queue.RemoveAll(q => q.ClientId == d.ClientId) },
        DeploymentEvents.ClientLeftLobby l => this with
        {
            Lobbies = Lobbies.TryGetValue(l.LobbyId, out var lobby) && lobby.Clients.TryGetValue(l.ClientId, out var times)
                ? Lobbies.SetItem(l.LobbyId, lobby with { Clients = times > 1 ? lobby.Clients.SetItem(l.ClientId, times - 1) : lobby.Clients.Remove(l.ClientId) })
                : Lobbies,
        },
        DeploymentEvents.LobbyDeleted d => this with { Lobbies = Lobbies.Remove(d.LobbyId) },
        DeploymentEvents.Deleted => this with { Deleted = true, Queue = [], Lobbies = ImmutableSortedDictionary<long, LobbyRecord>.Empty },
        _ => this,
    };

    /// <summary>The image a runtime of this qualifier runs: UNIVERSAL first, else the qualifier's own (contract 7.1).</summary>
    public string? ImageFor(RuntimeQualifier qualifier)
    {
        var own = qualifier == RuntimeQualifier.LOBBY ? ImageQualifier.LOBBY : ImageQualifier.MATCH;
        return (Images.FirstOrDefault(i => i.Qualifier == ImageQualifier.UNIVERSAL) ?? Images.FirstOrDefault(i => i.Qualifier == own))?.ImageId;
    }
}

/// <summary>
/// A deployment and its queue (type "deployment", id = the deployment id, contract 5.2-5.4): which version it runs,
/// its lobbies and the clients waiting for one. A queued client goes at once to the lobby with the fewest players
/// that has room (<see cref="GameOptions.MaxClientsPerLobby"/>); with none, a new lobby (and its LOBBY runtime) is
/// created and the client is assigned to it right away: its commands wait in the runtime's log until the runtime
/// runs (5.4). Empty lobbies are removed once they have lived <see cref="GameOptions.LobbyMinLifetime"/>. A failed
/// lobby runtime is deleted with its players disconnected (5.7), and the next client gets a new lobby; a deleted deployment disconnects its players with <c>INTERNAL_FAILURE</c> (5.8).
/// Every message to another entity goes through reliable delivery, stored with the events that caused it.
/// </summary>
public sealed class DeploymentEntity(GameOptions options, SnowflakeIds ids) : PersistentEntity<DeploymentState>
{
    public const string TypeName = "deployment";
    private const string CleanupReminder = "lobby-cleanup";

    public static EntityAddress Address(long deploymentId) => new(TypeName, deploymentId.ToString(CultureInfo.InvariantCulture));

    private long DeploymentId => long.Parse(Context.Id, CultureInfo.InvariantCulture);

    protected override DeploymentState CreateInitialState() => DeploymentState.Empty;

    protected override DeploymentState Apply(DeploymentState state, object @event) => state.Apply(@event);

    protected override async ValueTask<object?> HandleAsync(object message)
    {
        switch (message)
        {
            case DeploymentCommands.Start start:
            {
                if (State.Started || State.Deleted) return null;
                var started = new DeploymentEvents.Started(start.TenantId, start.ProjectId, start.StageId, start.VersionId,
                    start.VersionConfig, start.Images.ToArray(), start.MatchmakerId, start.At);
                // Clients that queued before the start get their matchmaker and a lobby now, in the same write.
                var afterStart = State.Apply(started);
                if (start.MatchmakerId != 0)
                    Deliver(MatchmakerEntity.Address(start.MatchmakerId), new MatchmakerCommands.Start(start.TenantId, start.ProjectId, start.StageId,
                        start.VersionId, DeploymentId, start.VersionConfig, afterStart.ImageFor(RuntimeQualifier.MATCH), start.At));
                foreach (var queued in State.Queue)
                    Deliver(ClientEntity.Address(queued.ClientId), new ClientCommands.AssignMatchmaker(afterStart.MatchmakerFor(queued.ClientId)));
                var events = new List<object> { started };
                // The deployment's first lobby (5.2) in the same write, so clients queued meanwhile join it.
                if (start.FirstLobbyId is { } firstLobby && afterStart.ImageFor(RuntimeQualifier.LOBBY) is not null)
                {
                    var first = CreateLobby(afterStart, firstLobby);
                    events.AddRange(first);
                    afterStart = first.Aggregate(afterStart, (st, e) => st.Apply(e));
                }
                events.AddRange(AssignQueued(afterStart));
                await PersistAsync(events);
                await ArmCleanupAsync();
                return null;
            }

            case DeploymentCommands.RequestLobby request:
                if (!State.Started || State.Deleted || State.Lobbies.ContainsKey(request.LobbyId)) return null;
                if (State.ImageFor(RuntimeQualifier.LOBBY) is null)
                {
                    Context.Logger.LogError("deployment {Deployment}: lobby {Lobby} not created: the version has no UNIVERSAL or LOBBY image", Context.Id, request.LobbyId);
                    return null;
                }
                await PersistAsync(CreateLobby(State, request.LobbyId));
                await ArmCleanupAsync();
                return null;

            case DeploymentCommands.Enqueue enqueue:
                if (State.Deleted)
                {
                    Deliver(ClientEntity.Address(enqueue.ClientId), new ClientCommands.Disconnect(DisconnectionReason.INTERNAL_FAILURE, null));
                    return null;
                }
                await EnqueueAsync([enqueue]);
                return null;

            case DeploymentCommands.Requeue requeue:
            {
                // Back from a match: a lobby again (5.5). While this deployment is gone the client has nowhere to go.
                if (State.Deleted)
                {
                    Deliver(ClientEntity.Address(requeue.ClientId), new ClientCommands.Disconnect(DisconnectionReason.INTERNAL_FAILURE, null));
                    return null;
                }
                if (State.Queue.Any(q => q.ClientId == requeue.ClientId)) return null;
                var requeued = new DeploymentEvents.ClientQueued(requeue.ClientId, requeue.UserId);
                await PersistAsync([requeued, .. AssignQueued(State.Apply(requeued))]);
                return null;
            }

            case DeploymentCommands.RequestMatchmaker request:
                if (!State.Started || State.Deleted || State.MatchmakerIds.Contains(request.MatchmakerId)) return null;
                Deliver(MatchmakerEntity.Address(request.MatchmakerId), new MatchmakerCommands.Start(State.TenantId, State.ProjectId, State.StageId,
                    State.VersionId, DeploymentId, State.VersionConfig, State.ImageFor(RuntimeQualifier.MATCH), DateTimeOffset.UtcNow));
                await PersistAsync(new DeploymentEvents.MatchmakerAdded(request.MatchmakerId));
                return null;

            case DeploymentCommands.MatchmakerDeleted deleted:
                if (State.MatchmakerIds.Contains(deleted.MatchmakerId)) await PersistAsync(new DeploymentEvents.MatchmakerRemoved(deleted.MatchmakerId));
                return null;

            case DeploymentCommands.LobbyClientRemoved removed:
                if (State.Lobbies.TryGetValue(removed.LobbyId, out var lobby) && lobby.Clients.ContainsKey(removed.ClientId))
                {
                    await PersistAsync(new DeploymentEvents.ClientLeftLobby(removed.LobbyId, removed.ClientId));
                    await ArmCleanupAsync();
                }
                return null;

            case DeploymentCommands.LobbyRuntimeFailed failed:
                if (State.Lobbies.TryGetValue(failed.LobbyId, out var failedLobby) && failedLobby.RuntimeId == failed.RuntimeId)
                {
                    // Its players are disconnected (they create new clients); the next client that queues gets a new lobby.
                    // No replacement is started for nobody: an image that cannot start would otherwise loop.
                    Context.Logger.LogWarning("deployment {Deployment}: lobby {Lobby} (runtime {Runtime}) failed; its {Count} clients are disconnected",
                        Context.Id, failed.LobbyId, failed.RuntimeId, failedLobby.Clients.Count);
                    await PersistAsync(DeleteLobby(failed.LobbyId, DisconnectionReason.INTERNAL_FAILURE));
                }
                else
                {
                    // A runtime this deployment no longer counts as its lobby: make sure it is gone.
                    Deliver(RuntimeEntity.Address(failed.RuntimeId), new RuntimeCommands.Delete(DisconnectionReason.INTERNAL_FAILURE));
                }
                return null;

            case DeploymentCommands.DeleteLobby delete:
                if (!State.Lobbies.ContainsKey(delete.LobbyId)) return new DeletedResponse(false);
                await PersistAsync(DeleteLobby(delete.LobbyId, DisconnectionReason.INTERNAL_FAILURE));
                return new DeletedResponse(true);

            case DeploymentCommands.Delete:
                if (State.Deleted) return null;
                var deletion = new List<object>();
                foreach (var lobbyId in State.Lobbies.Keys) deletion.AddRange(DeleteLobby(lobbyId, DisconnectionReason.INTERNAL_FAILURE));
                foreach (var queued in State.Queue)
                    Deliver(ClientEntity.Address(queued.ClientId), new ClientCommands.Disconnect(DisconnectionReason.INTERNAL_FAILURE, null));
                // Its matchmakers go too; players in matches are disconnected (upstream leaves them without a runtime, 5.8).
                foreach (var matchmakerId in State.MatchmakerIds)
                    Deliver(MatchmakerEntity.Address(matchmakerId), new MatchmakerCommands.Delete(DisconnectionReason.INTERNAL_FAILURE));
                deletion.Add(new DeploymentEvents.Deleted(DateTimeOffset.UtcNow));
                await PersistAsync(deletion);
                await Context.CancelReminderAsync(CleanupReminder);
                return null;

            case ReminderFired { Name: CleanupReminder }:
                await CleanUpLobbiesAsync();
                return null;

            case DeploymentCommands.GetView:
                return new DeploymentView(DeploymentId, State.Started, State.StartedAt, State.MatchmakerId, State.Deleted, State.Queue.Count,
                    State.Lobbies.Select(l => new DeploymentView.Lobby(l.Key, l.Value.RuntimeId, l.Value.Created, l.Value.Clients.Count)).ToList());

            default:
                return null;
        }
    }

    /// <summary>
    /// The events (and deliveries) that assign every queued client of <paramref name="s"/> to a lobby, creating lobbies as
    /// they fill (contract 5.4, with a capacity). The client is told; it tells the lobby's runtime itself.
    /// </summary>
    private List<object> AssignQueued(DeploymentState s)
    {
        var events = new List<object>();
        if (!s.Started || s.Deleted || s.Queue.IsEmpty) return events;
        if (s.ImageFor(RuntimeQualifier.LOBBY) is null)
        {
            // Nothing can ever run a lobby of this version: the players must not wait forever.
            Context.Logger.LogError("deployment {Deployment}: the version has no UNIVERSAL or LOBBY image; {Count} clients are disconnected", Context.Id, s.Queue.Count);
            foreach (var queued in s.Queue)
            {
                Deliver(ClientEntity.Address(queued.ClientId), new ClientCommands.Disconnect(DisconnectionReason.INTERNAL_FAILURE, null));
                events.Add(new DeploymentEvents.ClientDequeued(queued.ClientId));
            }
            return events;
        }

        var counts = s.Lobbies.ToDictionary(l => l.Key, l => l.Value.Clients.Count);
        var runtimes = s.Lobbies.ToDictionary(l => l.Key, l => l.Value.RuntimeId);
        foreach (var queued in s.Queue)
        {
            var lobbyId = counts.Where(c => c.Value < options.MaxClientsPerLobby).OrderBy(c => c.Value).ThenBy(c => c.Key).Select(c => (long?)c.Key).FirstOrDefault();
            if (lobbyId is null)
            {
                var created = CreateLobby(s, ids.Next());
                events.AddRange(created);
                var lobbyCreated = (DeploymentEvents.LobbyCreated)created[0];
                lobbyId = lobbyCreated.LobbyId;
                counts[lobbyCreated.LobbyId] = 0;
                runtimes[lobbyCreated.LobbyId] = lobbyCreated.RuntimeId;
            }
            var id = lobbyId.Value;
            counts[id]++;
            events.Add(new DeploymentEvents.ClientAssigned(queued.ClientId, id));
            Deliver(ClientEntity.Address(queued.ClientId), new ClientCommands.Assign(runtimes[id], RuntimeQualifier.LOBBY, LobbyConfig(s, id)));
        }
        return events;
    }

    /// <summary>The events (and deliveries) of a new lobby: its LOBBY runtime and its lobby record.</summary>
    private List<object> CreateLobby(DeploymentState s, long lobbyId)
    {
        var image = s.ImageFor(RuntimeQualifier.LOBBY) ?? "";
        var runtimeId = ids.Next();
        var now = DateTimeOffset.UtcNow;
        Deliver(RuntimeEntity.Address(runtimeId), new RuntimeCommands.Create(runtimeId, RuntimeQualifier.LOBBY, s.TenantId, s.ProjectId,
            s.StageId, s.VersionId, DeploymentId, lobbyId, LobbyConfig(s, lobbyId), image, ids.Next(), now));
        Deliver(LobbyEntity.Address(lobbyId), new LobbyCommands.Create(s.TenantId, DeploymentId, runtimeId, now));
        Context.Logger.LogInformation("deployment {Deployment}: lobby {Lobby} with runtime {Runtime} ({Image})", Context.Id, lobbyId, runtimeId, image);
        return [new DeploymentEvents.LobbyCreated(lobbyId, runtimeId, now)];
    }

    private List<object> DeleteLobby(long lobbyId, DisconnectionReason? reason)
    {
        var lobby = State.Lobbies[lobbyId];
        Deliver(RuntimeEntity.Address(lobby.RuntimeId), new RuntimeCommands.Delete(reason));
        Deliver(LobbyEntity.Address(lobbyId), new LobbyCommands.MarkDeleted());
        return [new DeploymentEvents.LobbyDeleted(lobbyId)];
    }

    private static JsonElement LobbyConfig(DeploymentState s, long lobbyId) => WireBodies.RuntimeConfig(lobbyId, null, s.VersionConfig);

    // New clients arrive in bursts: the queued Enqueues are taken together, one write for all (joins per second).
    protected override bool Batches(object message) => message is DeploymentCommands.Enqueue && State.Started && !State.Deleted;

    protected override async ValueTask<IReadOnlyList<object?>> HandleBatchAsync(IReadOnlyList<object> messages)
    {
        await EnqueueAsync(messages.Cast<DeploymentCommands.Enqueue>().ToList());
        return new object?[messages.Count];
    }

    /// <summary>Queues new clients (each once), tells them their matchmaker and assigns the queue: one write for all.
    /// Before the start they only wait in the queue (no matchmaker yet: <see cref="DeploymentState.MatchmakerFor"/> is 0).</summary>
    private async Task EnqueueAsync(IReadOnlyList<DeploymentCommands.Enqueue> enqueues)
    {
        var events = new List<object>();
        var state = State;
        foreach (var enqueue in enqueues)
        {
            if (state.Queue.Any(q => q.ClientId == enqueue.ClientId) || state.Lobbies.Values.Any(l => l.Clients.ContainsKey(enqueue.ClientId))) continue;
            if (state.MatchmakerFor(enqueue.ClientId) is var attachedTo and not 0)
                Deliver(ClientEntity.Address(enqueue.ClientId), new ClientCommands.AssignMatchmaker(attachedTo));
            var queued = new DeploymentEvents.ClientQueued(enqueue.ClientId, enqueue.UserId);
            events.Add(queued);
            state = state.Apply(queued);
        }
        if (events.Count == 0) return;
        events.AddRange(AssignQueued(state));
        await PersistAsync(events);
        await ArmCleanupAsync();
    }

    // Clients and lobby runtimes are many short-lived senders; these are idempotent by the deployment's own state.
    protected override bool RecordsDelivery(object message) => message is not (DeploymentCommands.Enqueue or DeploymentCommands.LobbyClientRemoved);

    /// <summary>Removes the empty lobbies that have lived their minimum lifetime; re-arms for the younger ones.</summary>
    private async Task CleanUpLobbiesAsync()
    {
        if (State.Deleted) return;
        var now = DateTimeOffset.UtcNow;
        var expired = State.Lobbies.Where(l => l.Value.Clients.IsEmpty && l.Value.Created + options.LobbyMinLifetime <= now).Select(l => l.Key).ToList();
        if (expired.Count > 0 && State.Queue.IsEmpty)
        {
            var events = new List<object>();
            foreach (var lobbyId in expired) events.AddRange(DeleteLobby(lobbyId, null));
            Context.Logger.LogInformation("deployment {Deployment}: {Count} empty lobbies removed", Context.Id, expired.Count);
            await PersistAsync(events);
        }
        await ArmCleanupAsync();
    }

    private async Task ArmCleanupAsync()
    {
        var empties = State.Lobbies.Values.Where(l => l.Clients.IsEmpty).ToList();
        if (State.Deleted || empties.Count == 0) return;
        var due = empties.Min(l => l.Created) + options.LobbyMinLifetime;
        var earliest = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(1);
        await Context.SetReminderAsync(CleanupReminder, due > earliest ? due : earliest);
    }

    public static void Register(EntityRegistryBuilder r) => r.Entity<DeploymentEntity>(TypeName,
            sp => new DeploymentEntity(GameServices.Options(sp), GameServices.Ids(sp)))
        .SnapshotEvery(100)
        .PassivateAfter(TimeSpan.FromMinutes(5))
        .Event<DeploymentEvents.Started>("deployment.started")
        .Event<DeploymentEvents.ClientQueued>("deployment.client-queued")
        .Event<DeploymentEvents.LobbyCreated>("deployment.lobby-created")
        .Event<DeploymentEvents.ClientAssigned>("deployment.client-assigned")
        .Event<DeploymentEvents.ClientDequeued>("deployment.client-dequeued")
        .Event<DeploymentEvents.MatchmakerAdded>("deployment.matchmaker-added")
        .Event<DeploymentEvents.MatchmakerRemoved>("deployment.matchmaker-removed")
        .Event<DeploymentEvents.ClientLeftLobby>("deployment.client-left-lobby")
        .Event<DeploymentEvents.LobbyDeleted>("deployment.lobby-deleted")
        .Event<DeploymentEvents.Deleted>("deployment.deleted")
        .Message<DeploymentCommands.Start>("deployment.start")
        .Message<DeploymentCommands.RequestLobby>("deployment.request-lobby")
        .Message<DeploymentCommands.Delete>("deployment.delete")
        .Message<DeploymentCommands.Enqueue>("deployment.enqueue")
        .Message<DeploymentCommands.Requeue>("deployment.requeue")
        .Message<DeploymentCommands.RequestMatchmaker>("deployment.request-matchmaker")
        .Message<DeploymentCommands.MatchmakerDeleted>("deployment.matchmaker-deleted")
        .Message<DeploymentCommands.LobbyClientRemoved>("deployment.lobby-client-removed")
        .Message<DeploymentCommands.LobbyRuntimeFailed>("deployment.lobby-runtime-failed")
        .Message<DeploymentCommands.DeleteLobby>("deployment.delete-lobby")
        .Message<DeploymentCommands.GetView>("deployment.get-view")
        .Message<DeploymentView>("deployment.view")
        .Message<DeletedResponse>("deployment.deleted-response");
}
