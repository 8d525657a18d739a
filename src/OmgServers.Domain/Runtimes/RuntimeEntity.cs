using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using OmgServers.Actors;
using OmgServers.Contracts;
using OmgServers.Contracts.Interchange;
using OmgServers.Domain.Clients;
using OmgServers.Domain.Deployments;
using OmgServers.Domain.Matchmaking;
using OmgServers.Domain.Players;
using OmgServers.Security;

namespace OmgServers.Domain.Runtimes;

/// <summary>
/// A lobby or match runtime (type "runtime", id = the runtime id, contract 4.2, 5, 7.1): its command log (every
/// command not yet acknowledged, returned in id order as full records), the clients assigned to it, and its life.
/// <list type="bullet">
/// <item>Created with <c>INIT_RUNTIME</c> as its first command; then started through <see cref="IRuntimeLauncher"/> with a
/// fresh password (only its hash is stored), off the mailbox. Nothing restarts it.</item>
/// <item>Its interchange executes the runtime's outgoing commands one by one (a failing one is logged and skipped, 4.2);
/// what they send to clients and players goes through reliable delivery, stored atomically with the acknowledgements.</item>
/// <item>Inactivity (5.7): a durable reminder at last activity + the interval. Activity lives in memory and is not
/// written per call; an activation counts as activity, so a restart or a shard move gives one more interval instead of
/// a false kill. A process that ends on its own counts as inactive at once. A LOBBY tells its deployment, which
/// disconnects the clients with <c>INTERNAL_FAILURE</c>, deletes it and starts a new lobby.</item>
/// </list>
/// </summary>
public sealed class RuntimeEntity(GameOptions options, IRuntimeLauncher launcher) : PersistentEntity<RuntimeState>
{
    public const string TypeName = "runtime";
    private readonly InactivityWatch _activity = new(options.RuntimeInactiveInterval);
    private Dictionary<long, List<MatchmakerCommands.Request>>? _matchmaking;

    public static EntityAddress Address(long runtimeId) => new(TypeName, runtimeId.ToString(CultureInfo.InvariantCulture));

    private long RuntimeId => long.Parse(Context.Id, CultureInfo.InvariantCulture);

    protected override RuntimeState CreateInitialState() => RuntimeState.Empty;

    protected override RuntimeState Apply(RuntimeState state, object @event) => state.Apply(@event);

    protected override async ValueTask<object?> HandleAsync(object message)
    {
        switch (message)
        {
            case RuntimeCommands.Create create:
                await CreateAsync(create);
                return RuntimeAck.Instance;

            case RuntimeCommands.Interchange interchange:
                return await InterchangeAsync(interchange);

            case RuntimeCommands.HandleMessages handle:
                return await HandleMessagesAsync(handle);

            case RuntimeCommands.AddClient add:
                await AddClientAsync(add);
                return RuntimeAck.Instance;

            case RuntimeCommands.RemoveClient remove:
                await RemoveClientAsync(remove.ClientId);
                return RuntimeAck.Instance;

            case RuntimeCommands.Delete delete:
                await DeleteRuntimeAsync(delete.Reason);
                return RuntimeAck.Instance;

            case RuntimeCommands.Authenticate authenticate:
                if (!State.Exists || State.Deleted)
                {
                    if (!State.Exists) Context.Passivate();
                    return new RuntimeRejected(Qualifier.RUNTIME_NOT_FOUND, 404);
                }
                return State.PasswordHash is { } hash && PasswordHashing.Verify(authenticate.Password, hash)
                    ? new RuntimeAuthenticated(RuntimeId, State.UserId)
                    : new RuntimeRejected(Qualifier.WRONG_CREDENTIALS, 401);

            case RuntimeCommands.ShouldRun:
                if (!State.Exists) Context.Passivate();
                return new RuntimeShouldRun(State.Exists && !State.Deleted && !State.Inactive);

            case RuntimeCommands.ProcessExited exited:
                if (State.Exists && !State.Deleted && !State.Inactive)
                    await DetectInactiveAsync($"its process ended ({exited.Reason})");
                return null;

            case RuntimeCommands.GetDetails:
                if (!State.Exists) return new RuntimeRejected(Qualifier.RUNTIME_NOT_FOUND, 404);
                return new RuntimeDetails(RuntimeId, State.Qualifier, State.TenantId, State.StageId, State.DeploymentId, State.LobbyId, State.ImageId,
                    State.Deleted, State.Inactive, State.Clients.Keys.Order().ToList(), State.Commands.Count, State.Created);

            case ReminderFired { Name: InactivityWatch.Reminder }:
                if (State.Exists && !State.Deleted && !State.Inactive && await _activity.IsInactiveAsync(Context))
                    await DetectInactiveAsync($"no interchange for {options.RuntimeInactiveInterval.TotalSeconds:0.#} s");
                return null;

            case LaunchResult result:
                if (result.Error is { } error)
                    Context.Logger.LogError("runtime {Runtime} ({Image}) could not be started: {Error}; the inactivity rules apply", Context.Id, State.ImageId, error);
                return null;

            default:
                return null;
        }
    }

    private async Task CreateAsync(RuntimeCommands.Create create)
    {
        if (State.Exists) return;
        var now = DateTimeOffset.UtcNow;
        // The reminder before the write (it finds nothing if the write fails), the password in the same write as the
        // runtime: after a crash at any point the runtime is either unknown or complete and its inactivity is watched.
        await _activity.StartAsync(Context);
        var password = PasswordGenerator.Generate();
        var initId = LocalIds.Next(0, now);
        var init = new RuntimeCommand(initId, $"{Context.Id}/{initId}", RuntimeId, now, now, RuntimeCommandQualifier.INIT_RUNTIME,
            WireBodies.InitRuntime(create.RuntimeConfig), false);
        await PersistAsync([
            new RuntimeEvents.Created(create.RuntimeId, create.Qualifier, create.TenantId, create.ProjectId, create.StageId, create.VersionId,
                create.DeploymentId, create.LobbyId, create.ImageId, create.UserId, now, create.MatchmakerId, create.MatchId),
            new RuntimeEvents.PasswordSet(PasswordHashing.HashGenerated(password)),
            new RuntimeEvents.CommandsAdded([init]),
        ]);
        Launch(password);
    }

    /// <summary>Starts the process off the mailbox; the password was generated for this start and only its hash is stored.</summary>
    private void Launch(string password)
    {
        var labels = new Dictionary<string, string>
        {
            ["com.omgservers.tenant"] = State.TenantId.ToString(CultureInfo.InvariantCulture),
            ["com.omgservers.project"] = State.ProjectId.ToString(CultureInfo.InvariantCulture),
            ["com.omgservers.stage"] = State.StageId.ToString(CultureInfo.InvariantCulture),
            ["com.omgservers.version"] = State.VersionId.ToString(CultureInfo.InvariantCulture),
            ["com.omgservers.qualifier"] = State.Qualifier.ToString(),
        };
        var start = new RuntimeStart(RuntimeId, State.Qualifier, State.ImageId, password, labels);
        Context.PipeToSelf(StartAsync(start), ok => ok, ex => new LaunchResult(ex.Message));
    }

    private async Task<LaunchResult> StartAsync(RuntimeStart start)
    {
        await launcher.StartAsync(start, CancellationToken.None).ConfigureAwait(false);
        return new LaunchResult(null);
    }

    private async Task<object> InterchangeAsync(RuntimeCommands.Interchange interchange)
    {
        if (!State.Exists || State.Deleted)
        {
            if (!State.Exists) Context.Passivate();
            return new RuntimeRejected(Qualifier.RUNTIME_NOT_FOUND, 404);
        }
        _activity.Touch();

        var events = new List<object>();
        var consumed = interchange.Consumed.Where(State.Commands.ContainsKey).Distinct().ToArray();
        if (consumed.Length > 0) events.Add(new RuntimeEvents.CommandsConsumed(consumed));
        foreach (var command in interchange.Outgoing)
        {
            try
            {
                Execute(command, interchange.UpgradeTokens);
            }
            catch (Exception ex) when (ex is JsonException or CommandFailedException or InvalidOperationException)
            {
                // Contract 4.2: a failing command is logged and skipped; the call still succeeds.
                Context.Logger.LogWarning("runtime {Runtime}: {Qualifier} skipped: {Reason}", Context.Id, command.Qualifier, ex.Message);
            }
        }
        FlushMatchmaking();
        if (events.Count > 0) await PersistAsync(events);
        return new RuntimeInterchangeReply(State.Commands.Values.ToList());
    }

    private void Execute(OutgoingCommand command, IReadOnlyDictionary<long, string> upgradeTokens)
    {
        switch (command.Qualifier)
        {
            case OutgoingCommandQualifier.RESPOND_CLIENT:
            {
                var body = command.BodyAs<RespondClientBody>();
                RequireAssigned(body.ClientId);
                SendMessage(body.ClientId, body.Message);
                break;
            }
            case OutgoingCommandQualifier.SET_PROFILE:
            {
                var body = command.BodyAs<SetProfileBody>();
                var client = RequireAssigned(body.ClientId);
                Deliver(PlayerEntity.Address(client.UserId, State.StageId), new PlayerCommands.SetProfile(body.Profile));
                break;
            }
            case OutgoingCommandQualifier.MULTICAST_MESSAGE:
            {
                var body = command.BodyAs<MulticastMessageBody>();
                var clients = body.Clients ?? throw new CommandFailedException("clients is missing");
                foreach (var clientId in clients) RequireAssigned(clientId);
                foreach (var clientId in clients.Distinct()) SendMessage(clientId, body.Message);
                break;
            }
            case OutgoingCommandQualifier.BROADCAST_MESSAGE:
            {
                var body = command.BodyAs<BroadcastMessageBody>();
                foreach (var clientId in State.Clients.Keys) SendMessage(clientId, body.Message);
                break;
            }
            case OutgoingCommandQualifier.KICK_CLIENT:
            {
                var body = command.BodyAs<KickClientBody>();
                RequireAssigned(body.ClientId);
                FlushMatchmaking();
                if (State.Qualifier == RuntimeQualifier.MATCH && State.MatchmakerId is { } matchmakerId && State.MatchId is { } matchId)
                    // A match's kick sends the client back to a lobby (5.5); its DELETE_CLIENT follows the move.
                    Deliver(MatchmakerEntity.Address(matchmakerId), new MatchmakerCommands.Kick(matchId, body.ClientId));
                else
                    // A lobby's kick deletes the client without a disconnection message (contract 5.7); its DELETE_CLIENT follows.
                    Deliver(ClientEntity.Address(body.ClientId), new ClientCommands.Disconnect(null, null));
                break;
            }
            case OutgoingCommandQualifier.UPGRADE_CONNECTION:
            {
                var body = command.BodyAs<UpgradeConnectionBody>();
                RequireAssigned(body.ClientId);
                if (!upgradeTokens.TryGetValue(body.ClientId, out var token)) throw new CommandFailedException("no token was issued");
                Deliver(ClientEntity.Address(body.ClientId), new ClientCommands.AddMessage(RuntimeId, MessageQualifier.CONNECTION_UPGRADE_MESSAGE,
                    WireBodies.Of(new ConnectionUpgradeMessageBody(body.ClientId, body.Protocol, new WebSocketConfig(token)))));
                break;
            }
            case OutgoingCommandQualifier.REQUEST_MATCHMAKING:
            {
                var body = command.BodyAs<RequestMatchmakingBody>();
                var client = RequireAssigned(body.ClientId);
                if (string.IsNullOrWhiteSpace(body.Mode) || body.Mode.Length > 64) throw new CommandFailedException("mode must be 1 to 64 characters");
                if (client.MatchmakerId == 0) throw new CommandFailedException($"client {body.ClientId} has no matchmaker");
                // Gathered per matchmaker and sent once per interchange: one delivery and one write for a tick's requests.
                _matchmaking ??= new();
                if (!_matchmaking.TryGetValue(client.MatchmakerId, out var batch)) _matchmaking[client.MatchmakerId] = batch = [];
                batch.Add(new MatchmakerCommands.Request(body.ClientId, client.UserId, body.Mode));
                break;
            }
            case OutgoingCommandQualifier.STOP_MATCHMAKING:
            {
                if (State.Qualifier != RuntimeQualifier.MATCH || State.MatchmakerId is not { } matchmakerId || State.MatchId is not { } matchId)
                    throw new CommandFailedException("only a match runtime stops matchmaking");
                FlushMatchmaking();
                Deliver(MatchmakerEntity.Address(matchmakerId), new MatchmakerCommands.CloseMatch(matchId));
                break;
            }
            default:
                throw new CommandFailedException($"unknown command {command.Qualifier}");
        }
    }

    /// <summary>Sends the gathered requests; called before anything else goes to a matchmaker, so the order of the runtime's commands holds.</summary>
    private void FlushMatchmaking()
    {
        if (_matchmaking is not { Count: > 0 }) return;
        foreach (var (matchmakerId, batch) in _matchmaking)
            Deliver(MatchmakerEntity.Address(matchmakerId), batch.Count == 1 ? batch[0] : new MatchmakerCommands.Requests(batch));
        _matchmaking.Clear();
    }

    private AssignedClient RequireAssigned(long clientId) =>
        State.Clients.TryGetValue(clientId, out var client) ? client : throw new CommandFailedException($"client {clientId} is not assigned to this runtime");

    private void SendMessage(long clientId, JsonElement message) =>
        Deliver(ClientEntity.Address(clientId), new ClientCommands.AddMessage(RuntimeId, MessageQualifier.SERVER_OUTGOING_MESSAGE,
            WireBodies.Of(new ServerOutgoingMessageBody(message))));

    private async Task<object> HandleMessagesAsync(RuntimeCommands.HandleMessages handle)
    {
        if (!State.Exists)
        {
            // Not created yet (its creation is on its way): a delivery comes back later; a player's call retries.
            DeferDelivery();
            return new RuntimeRejected(Qualifier.SERVICE_UNAVAILABLE, 503);
        }
        if (State.Deleted || handle.Messages.Count == 0) return RuntimeAck.Instance;
        if (State.Commands.Count + handle.Messages.Count > options.MaxUnconsumedCommands)
        {
            Context.Logger.LogWarning("runtime {Runtime}: {Count} commands unacknowledged; messages of client {Client} refused", Context.Id, State.Commands.Count, handle.ClientId);
            DeferDelivery();
            return new RuntimeRejected(Qualifier.SERVICE_UNAVAILABLE, 503);
        }
        var now = DateTimeOffset.UtcNow;
        if (!State.Clients.TryGetValue(handle.ClientId, out var client))
        {
            // The player's call can overtake the client's ADD_CLIENT (both follow its assignment): keep the messages until
            // it arrives, a bounded number for a bounded time; a client that never arrives (it moved on) loses them.
            var early = State.Early.GetValueOrDefault(handle.ClientId);
            if (handle.BatchId != 0 && early is not null && handle.BatchId <= early.LastBatchId) return RuntimeAck.Instance; // a redelivery
            var room = MaxEarlyMessages - (early?.Messages.Count ?? 0);
            if (room <= 0 || (early is not null && now - early.Since > EarlyMessagesLifetime)) return RuntimeAck.Instance;
            await PersistAsync(new RuntimeEvents.EarlyMessagesKept(handle.ClientId, handle.Messages.Take(room).ToArray(), now, handle.BatchId));
            return RuntimeAck.Instance;
        }
        if (handle.BatchId != 0 && handle.BatchId <= client.LastBatchId) return RuntimeAck.Instance; // a redelivery of a batch already added
        object added = new RuntimeEvents.CommandsAdded(HandleMessageCommands(handle.ClientId, handle.Messages, now));
        await PersistAsync(handle.BatchId == 0 ? [added] : [added, new RuntimeEvents.ClientBatchSeen(handle.ClientId, handle.BatchId)]);
        return RuntimeAck.Instance;
    }

    private RuntimeCommand[] HandleMessageCommands(long clientId, IReadOnlyList<JsonElement> messages, DateTimeOffset now, long after = 0)
    {
        var commands = new RuntimeCommand[messages.Count];
        var last = Math.Max(after, State.LastCommandId);
        for (var i = 0; i < commands.Length; i++)
        {
            commands[i] = Command(last, now, new HandleMessageBody(clientId, messages[i]));
            last = commands[i].Id;
        }
        return commands;
    }

    private async Task AddClientAsync(RuntimeCommands.AddClient add)
    {
        if (!State.Exists)
        {
            DeferDelivery(); // the client heard of this runtime before the runtime's creation arrived
            return;
        }
        if (State.Clients.ContainsKey(add.ClientId)) return;
        if (State.Deleted || State.Inactive)
        {
            // Too late: the player must not wait for a runtime that is gone.
            Deliver(ClientEntity.Address(add.ClientId), new ClientCommands.Disconnect(DisconnectionReason.INTERNAL_FAILURE, RuntimeId));
            return;
        }
        var profile = await Context.Runtime.AskAsync<PlayerProfile>(PlayerEntity.Address(add.UserId, State.StageId), new PlayerCommands.GetProfile(),
            TimeSpan.FromSeconds(5), CancellationToken.None);
        var now = DateTimeOffset.UtcNow;
        var command = add.GroupName is { } group
            ? Command(State.LastCommandId, now, new AddMatchClientBody(add.UserId, add.ClientId, group, profile.Profile))
            : Command(State.LastCommandId, now, new AddClientBody(add.UserId, add.ClientId, profile.Profile));
        var commands = new List<RuntimeCommand> { command };
        if (State.Early.TryGetValue(add.ClientId, out var early))
            commands.AddRange(HandleMessageCommands(add.ClientId, early.Messages, now, command.Id));
        await PersistAsync([new RuntimeEvents.ClientAdded(add.ClientId, add.UserId, add.GroupName, add.MatchmakerId), new RuntimeEvents.CommandsAdded([.. commands])]);
    }

    private async Task RemoveClientAsync(long clientId)
    {
        if (!State.Exists)
        {
            DeferDelivery(); // its creation is on its way
            return;
        }
        // A lobby's deployment counts its players: it hears of every departure, also of a client this runtime never saw
        // (deleted before its ADD_CLIENT went out); it ignores what it does not count.
        if (State.Qualifier == RuntimeQualifier.LOBBY && State.LobbyId is { } lobbyId)
            Deliver(DeploymentEntity.Address(State.DeploymentId), new DeploymentCommands.LobbyClientRemoved(lobbyId, clientId));
        else if (State.MatchmakerId is { } matchmakerId && State.MatchId is { } matchId)
            Deliver(MatchmakerEntity.Address(matchmakerId), new MatchmakerCommands.PlayerLeft(matchId, clientId));
        var events = new List<object>(2);
        if (State.Clients.ContainsKey(clientId))
        {
            events.Add(new RuntimeEvents.ClientRemoved(clientId));
            if (!State.Deleted)
                events.Add(new RuntimeEvents.CommandsAdded([Command(State.LastCommandId, DateTimeOffset.UtcNow, new DeleteClientBody(clientId))]));
        }
        if (State.Early.ContainsKey(clientId)) events.Add(new RuntimeEvents.EarlyMessagesDropped(clientId));
        if (events.Count > 0) await PersistAsync(events);
    }

    // Players' messages (a player's call: no batch id) to clients assigned here are handled together when they queue up:
    // one write for all of them. Anything else about HandleMessages takes the one-by-one path.
    protected override bool Batches(object message) =>
        message is RuntimeCommands.HandleMessages { BatchId: 0 } h && State.Exists && !State.Deleted && State.Clients.ContainsKey(h.ClientId);

    protected override async ValueTask<IReadOnlyList<object?>> HandleBatchAsync(IReadOnlyList<object> messages)
    {
        var replies = new object?[messages.Count];
        var commands = new List<RuntimeCommand>();
        var now = DateTimeOffset.UtcNow;
        var room = options.MaxUnconsumedCommands - State.Commands.Count;
        var last = State.LastCommandId;
        for (var i = 0; i < messages.Count; i++)
        {
            var handle = (RuntimeCommands.HandleMessages)messages[i];
            if (handle.Messages.Count > room)
            {
                replies[i] = new RuntimeRejected(Qualifier.SERVICE_UNAVAILABLE, 503);
                continue;
            }
            var added = HandleMessageCommands(handle.ClientId, handle.Messages, now, last);
            if (added.Length > 0) last = added[^1].Id;
            commands.AddRange(added);
            room -= handle.Messages.Count;
            replies[i] = RuntimeAck.Instance;
        }
        if (commands.Count > 0) await PersistAsync(new RuntimeEvents.CommandsAdded([.. commands]));
        return replies;
    }

    // Client → runtime messages come from many short-lived senders (every client that ever joined) and are idempotent by
    // this state; one in flight per sender means a redelivery only repeats the sender's latest message.
    protected override bool RecordsDelivery(object message) =>
        message is not (RuntimeCommands.AddClient or RuntimeCommands.RemoveClient or RuntimeCommands.HandleMessages);

    private const int MaxEarlyMessages = 100;
    private static readonly TimeSpan EarlyMessagesLifetime = TimeSpan.FromMinutes(1);

    private async Task DeleteRuntimeAsync(DisconnectionReason? reason)
    {
        if (!State.Exists || State.Deleted) return;
        if (reason is { } r)
            foreach (var clientId in State.Clients.Keys)
                Deliver(ClientEntity.Address(clientId), new ClientCommands.Disconnect(r, RuntimeId));
        await PersistAsync(new RuntimeEvents.Deleted(DateTimeOffset.UtcNow));
        await _activity.StopAsync(Context);
        Context.Logger.LogInformation("runtime {Runtime} deleted; stopping it", Context.Id);
        StopProcess();
    }

    private async Task DetectInactiveAsync(string reason)
    {
        Context.Logger.LogWarning("runtime {Runtime} ({Qualifier}) is inactive: {Reason}", Context.Id, State.Qualifier, reason);
        if (State.LobbyId is { } lobbyId)
            Deliver(DeploymentEntity.Address(State.DeploymentId), new DeploymentCommands.LobbyRuntimeFailed(lobbyId, RuntimeId));
        else if (State.MatchmakerId is { } matchmakerId && State.MatchId is { } matchId)
            Deliver(MatchmakerEntity.Address(matchmakerId), new MatchmakerCommands.MatchRuntimeFailed(matchId, RuntimeId));
        await PersistAsync(new RuntimeEvents.InactivityDetected(reason, DateTimeOffset.UtcNow));
        StopProcess();
    }

    private void StopProcess() =>
        Context.PipeToSelf(StopAsync(), _ => new LaunchResult(null), ex => new LaunchResult("stop failed: " + ex.Message));

    private async Task<bool> StopAsync() => await launcher.StopAsync(RuntimeId, CancellationToken.None).ConfigureAwait(false);

    private RuntimeCommand Command<TBody>(long last, DateTimeOffset now, TBody body) where TBody : IRuntimeCommandBody
    {
        var id = LocalIds.Next(Math.Max(last, State.LastCommandId), now);
        return RuntimeCommand.Create(id, $"{Context.Id}/{id}", RuntimeId, now, body);
    }

    private sealed record LaunchResult(string? Error);

    private sealed class CommandFailedException(string message) : Exception(message);

    public static void Register(EntityRegistryBuilder r) => r.Entity<RuntimeEntity>(TypeName,
            sp => new RuntimeEntity(GameServices.Options(sp), GameServices.Launcher(sp)))
        .SnapshotEvery(200)
        .PassivateAfter(GameOptions.MinPassivation)
        .Event<RuntimeEvents.Created>("runtime.created")
        .Event<RuntimeEvents.CommandsAdded>("runtime.commands-added")
        .Event<RuntimeEvents.CommandsConsumed>("runtime.commands-consumed")
        .Event<RuntimeEvents.ClientAdded>("runtime.client-added")
        .Event<RuntimeEvents.ClientRemoved>("runtime.client-removed")
        .Event<RuntimeEvents.EarlyMessagesKept>("runtime.early-messages-kept")
        .Event<RuntimeEvents.EarlyMessagesDropped>("runtime.early-messages-dropped")
        .Event<RuntimeEvents.ClientBatchSeen>("runtime.client-batch-seen")
        .Event<RuntimeEvents.PasswordSet>("runtime.password-set")
        .Event<RuntimeEvents.InactivityDetected>("runtime.inactivity-detected")
        .Event<RuntimeEvents.Deleted>("runtime.deleted")
        .Message<RuntimeCommands.Create>("runtime.create")
        .Message<RuntimeCommands.AddClient>("runtime.add-client")
        .Message<RuntimeCommands.RemoveClient>("runtime.remove-client")
        .Message<RuntimeCommands.Delete>("runtime.delete")
        .Message<RuntimeCommands.HandleMessages>("runtime.handle-messages")
        .Message<RuntimeCommands.Interchange>("runtime.interchange")
        .Message<RuntimeCommands.Authenticate>("runtime.authenticate")
        .Message<RuntimeCommands.ShouldRun>("runtime.should-run")
        .Message<RuntimeCommands.ProcessExited>("runtime.process-exited")
        .Message<RuntimeCommands.GetDetails>("runtime.get-details")
        .Message<RuntimeAck>("runtime.ack")
        .Message<RuntimeRejected>("runtime.rejected")
        .Message<RuntimeInterchangeReply>("runtime.interchange-reply")
        .Message<RuntimeAuthenticated>("runtime.authenticated")
        .Message<RuntimeShouldRun>("runtime.should-run-reply")
        .Message<RuntimeDetails>("runtime.details");
}
