using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using OmgServers.Actors;
using OmgServers.Contracts;
using OmgServers.Contracts.Interchange;
using OmgServers.Domain.Clients;
using OmgServers.Domain.Deployments;
using OmgServers.Domain.Runtimes;
using OmgServers.Security;

namespace OmgServers.Domain.Matchmaking;

/// <summary>What the matchmaker entity takes (contract 5.5, 5.7, 5.9).</summary>
public static class MatchmakerCommands
{
    /// <summary>From the deployment: what the matchmaker matches for (the version config's modes and the MATCH image).</summary>
    public sealed record Start(
        long TenantId, long ProjectId, long StageId, long VersionId, long DeploymentId, JsonElement VersionConfig, string? MatchImage, DateTimeOffset At);

    /// <summary>From a lobby or match runtime: <c>REQUEST_MATCHMAKING</c> for one of its clients.</summary>
    public sealed record Request(long ClientId, long UserId, string Mode);

    /// <summary>The <c>REQUEST_MATCHMAKING</c>s of one runtime interchange for this matchmaker: one write for all of them.</summary>
    public sealed record Requests(IReadOnlyList<Request> Items);

    /// <summary>From a match runtime: <c>STOP_MATCHMAKING</c>, no newcomers.</summary>
    public sealed record CloseMatch(long MatchId);

    /// <summary>From a match runtime: <c>KICK_CLIENT</c>, the client goes back to a lobby.</summary>
    public sealed record Kick(long MatchId, long ClientId);

    /// <summary>From a match runtime: a client left it (moved, deleted, inactive).</summary>
    public sealed record PlayerLeft(long MatchId, long ClientId);

    /// <summary>From a match runtime: it went inactive or its process ended; its players go back to a lobby.</summary>
    public sealed record MatchRuntimeFailed(long MatchId, long RuntimeId);

    /// <summary>From the deployment (deleted) or a developer (<c>delete-matchmaker</c>): replies <see cref="DeletedResponse"/>.</summary>
    public sealed record Delete(DisconnectionReason? Reason);

    /// <summary>Replies <see cref="MatchmakerView"/>.</summary>
    public sealed record GetView;
}

public sealed record MatchmakerView(
    long MatchmakerId, bool Started, bool Deleted, long TenantId, long DeploymentId,
    IReadOnlyList<MatchmakerView.ModeQueue> Queues, IReadOnlyList<MatchmakerView.Match> Matches, IReadOnlyList<MatchmakerView.Refusal> Refused)
{
    public sealed record ModeQueue(string Mode, int Waiting, string? Unsatisfiable);
    public sealed record Match(long MatchId, long RuntimeId, string Mode, bool Open, DateTimeOffset Created, IReadOnlyDictionary<string, int> Groups, int Players);
    public sealed record Refusal(string Mode, long ClientId, string Reason, DateTimeOffset At);
}

public static class MatchmakerEvents
{
    public sealed record Started(long TenantId, long ProjectId, long StageId, long VersionId, long DeploymentId, JsonElement VersionConfig, string? MatchImage, DateTimeOffset At);
    public sealed record RequestAdded(long ClientId, long UserId, string Mode, DateTimeOffset At);
    public sealed record RequestRefused(long ClientId, string Mode, string Reason, DateTimeOffset At);
    public sealed record MatchCreated(long MatchId, long RuntimeId, string Mode, DateTimeOffset At);
    public sealed record PlayerPlaced(long MatchId, long ClientId, long UserId, string Group);
    /// <summary>These clients stop waiting (placed by the step): one event per step, so a step costs O(waiting) once.</summary>
    public sealed record RequestsTaken(long[] ClientIds);
    public sealed record PlayerRemoved(long MatchId, long ClientId, DateTimeOffset At);
    public sealed record MatchClosed(long MatchId);
    public sealed record MatchDeleted(long MatchId);
    public sealed record Deleted(DateTimeOffset At);
}

public sealed record WaitingClient(long ClientId, long UserId, string Mode, DateTimeOffset At);

public sealed record MatchPlayer(long UserId, string Group);

public sealed record MatchRecord(long RuntimeId, string Mode, bool Open, DateTimeOffset Created, DateTimeOffset? EmptySince, ImmutableDictionary<long, MatchPlayer> Players);

public sealed record MatchmakerState(
    bool Started, long TenantId, long ProjectId, long StageId, long VersionId, long DeploymentId, JsonElement VersionConfig, string? MatchImage, bool Deleted,
    ImmutableList<WaitingClient> Waiting, ImmutableSortedDictionary<long, MatchRecord> Matches, ImmutableList<MatchmakerView.Refusal> Refused)
{
    public const int RefusalsKept = 20;

    public static readonly MatchmakerState Empty = new(false, 0, 0, 0, 0, 0, Payload.Null, null, false, [],
        ImmutableSortedDictionary<long, MatchRecord>.Empty, []);

    public MatchmakerState Apply(object @event) => @event switch
    {
        MatchmakerEvents.Started s => this with
        {
            Started = true, TenantId = s.TenantId, ProjectId = s.ProjectId, StageId = s.StageId, VersionId = s.VersionId, DeploymentId = s.DeploymentId,
            VersionConfig = s.VersionConfig, MatchImage = s.MatchImage,
        },
        MatchmakerEvents.RequestAdded r => this with { Waiting = Waiting.Add(new WaitingClient(r.ClientId, r.UserId, r.Mode, r.At)) },
        MatchmakerEvents.RequestRefused r => this with
        {
            Refused = (Refused.Count >= RefusalsKept ? Refused.RemoveAt(0) : Refused).Add(new MatchmakerView.Refusal(r.Mode, r.ClientId, r.Reason, r.At)),
        },
        MatchmakerEvents.MatchCreated m => this with { Matches = Matches.SetItem(m.MatchId, new MatchRecord(m.RuntimeId, m.Mode, true, m.At, null, ImmutableDictionary<long, MatchPlayer>.Empty)) },
        MatchmakerEvents.RequestsTaken t => this with { Waiting = t.ClientIds.ToHashSet() is var taken ? Waiting.RemoveAll(w => taken.Contains(w.ClientId)) : Waiting },
        MatchmakerEvents.PlayerPlaced p => this with
        {
            Matches = Matches.TryGetValue(p.MatchId, out var match)
                ? Matches.SetItem(p.MatchId, match with { Players = match.Players.SetItem(p.ClientId, new MatchPlayer(p.UserId, p.Group)), EmptySince = null })
                : Matches,
        },
        MatchmakerEvents.PlayerRemoved r => this with
        {
            Matches = Matches.TryGetValue(r.MatchId, out var match)
                ? Matches.SetItem(r.MatchId, match.Players.Remove(r.ClientId) is var players && players.IsEmpty
                    ? match with { Players = players, EmptySince = r.At }
                    : match with { Players = players })
                : Matches,
        },
        MatchmakerEvents.MatchClosed c => this with
        {
            Matches = Matches.TryGetValue(c.MatchId, out var match) ? Matches.SetItem(c.MatchId, match with { Open = false }) : Matches,
        },
        MatchmakerEvents.MatchDeleted d => this with { Matches = Matches.Remove(d.MatchId) },
        MatchmakerEvents.Deleted => this with { Deleted = true, Waiting = [], Matches = ImmutableSortedDictionary<long, MatchRecord>.Empty },
        _ => this,
    };

    /// <summary>The modes of the version config, as matching rules (a mode without groups has one group named like the mode).</summary>
    public IReadOnlyDictionary<string, ModeRule> Modes()
    {
        var modes = new Dictionary<string, ModeRule>(StringComparer.Ordinal);
        if (VersionConfig.ValueKind != JsonValueKind.Object) return modes;
        var config = VersionConfig.Deserialize<VersionConfig>(WireJson.Options);
        foreach (var mode in config?.Modes ?? [])
        {
            if (mode?.Name is null) continue;
            var rule = ModeRule.From(mode);
            if (rule.Groups.Count == 0) rule = rule with { Groups = [new GroupRule(rule.Name, rule.MinPlayers, rule.MaxPlayers)] };
            modes[mode.Name] = rule;
        }
        return modes;
    }
}

/// <summary>
/// A deployment's matchmaker (type "matchmaker", id = the matchmaker id, contract 5.5): the clients waiting per mode,
/// the matches and who plays in them. Requests are matched in batches: a request arms a short timer and the step
/// then runs over every mode with waiting clients (<see cref="MatchingStep"/>), so a burst costs one step and one
/// write. A new match gets a MATCH runtime (<c>INIT_RUNTIME</c> with <c>match_config</c>) and its players are assigned
/// at once (their commands wait in the runtime's log until it runs); each client then leaves its lobby (the lobby gets
/// <c>DELETE_CLIENT</c>) and joins the match (<c>ADD_MATCH_CLIENT</c> with its group).
/// <list type="bullet">
/// <item>One request per client: a client already waiting or playing here is not queued again (upstream makes duplicates).</item>
/// <item>A request for a mode the version does not have is refused and listed in the matchmaker's view (upstream only logs it).</item>
/// <item>A match that empties is deleted <see cref="EmptyMatchLifetime"/> later, open or closed (upstream keeps open ones).</item>
/// <item>A kick, or a match runtime that fails, sends its players back to a lobby through the deployment; they are not disconnected.</item>
/// </list>
/// </summary>
public sealed class MatchmakerEntity(SnowflakeIds ids) : PersistentEntity<MatchmakerState>
{
    public const string TypeName = "matchmaker";
    public static readonly TimeSpan EmptyMatchLifetime = TimeSpan.FromSeconds(16);
    private static readonly TimeSpan StepDelay = TimeSpan.FromMilliseconds(50);
    private const string StepTimer = "step";
    private const string EmptyMatchesReminder = "empty-matches";

    public static EntityAddress Address(long matchmakerId) => new(TypeName, matchmakerId.ToString(CultureInfo.InvariantCulture));

    private long MatchmakerId => long.Parse(Context.Id, CultureInfo.InvariantCulture);

    private IReadOnlyDictionary<string, ModeRule>? _modes;
    private HashSet<long>? _waitingIds;
    private HashSet<long>? _playingIds;
    private IReadOnlyDictionary<string, ModeRule> Modes => _modes ??= State.Modes();

    protected override MatchmakerState CreateInitialState() => MatchmakerState.Empty;

    protected override MatchmakerState Apply(MatchmakerState state, object @event) => state.Apply(@event);

    protected override Task OnActivateAsync()
    {
        // Requests that waited across a restart are matched again.
        if (State.Started && !State.Waiting.IsEmpty) Context.Timers.StartSingle(StepTimer, RunStep.Instance, StepDelay);
        return Task.CompletedTask;
    }

    protected override async ValueTask<object?> HandleAsync(object message)
    {
        switch (message)
        {
            case MatchmakerCommands.Start start:
                if (State.Started || State.Deleted) return null;
                await PersistAsync(new MatchmakerEvents.Started(start.TenantId, start.ProjectId, start.StageId, start.VersionId, start.DeploymentId,
                    start.VersionConfig, start.MatchImage, start.At));
                _modes = null;
                return null;

            case MatchmakerCommands.Request request:
                await RequestsAsync([request]);
                return null;

            case MatchmakerCommands.Requests requests:
                await RequestsAsync(requests.Items);
                return null;

            case RunStep:
                await StepAsync();
                return null;

            case MatchmakerCommands.CloseMatch close:
                _playingIds = null;
                if (State.Matches.TryGetValue(close.MatchId, out var toClose) && toClose.Open)
                    await PersistAsync(new MatchmakerEvents.MatchClosed(close.MatchId));
                return null;

            case MatchmakerCommands.Kick kick:
                _playingIds = null;
                await RemovePlayerAsync(kick.MatchId, kick.ClientId, backToLobby: true);
                return null;

            case MatchmakerCommands.PlayerLeft left:
                _playingIds = null;
                await RemovePlayerAsync(left.MatchId, left.ClientId, backToLobby: false);
                return null;

            case MatchmakerCommands.MatchRuntimeFailed failed:
                _playingIds = null;
                if (State.Matches.TryGetValue(failed.MatchId, out var failedMatch) && failedMatch.RuntimeId == failed.RuntimeId)
                {
                    Context.Logger.LogWarning("matchmaker {Matchmaker}: match {Match} (runtime {Runtime}) failed; its {Count} players go back to a lobby",
                        Context.Id, failed.MatchId, failed.RuntimeId, failedMatch.Players.Count);
                    await PersistAsync(DeleteMatch(failed.MatchId, failedMatch, backToLobby: true));
                }
                return null;

            case MatchmakerCommands.Delete delete:
                _waitingIds = _playingIds = null;
                if (!State.Started || State.Deleted) return new DeletedResponse(false);
                // A developer's delete (no reason) sends the players of its matches back to a lobby and tells the deployment;
                // the deployment's own deletion disconnects them.
                var events = new List<object>();
                var backToLobby = delete.Reason is null;
                foreach (var (matchId, match) in State.Matches) events.AddRange(DeleteMatch(matchId, match, backToLobby, delete.Reason));
                if (backToLobby) Deliver(DeploymentEntity.Address(State.DeploymentId), new DeploymentCommands.MatchmakerDeleted(MatchmakerId));
                events.Add(new MatchmakerEvents.Deleted(DateTimeOffset.UtcNow));
                await PersistAsync(events);
                Context.Timers.Cancel(StepTimer);
                return new DeletedResponse(true);

            case ReminderFired { Name: EmptyMatchesReminder }:
                _playingIds = null;
                await DeleteEmptyMatchesAsync();
                return null;

            case MatchmakerCommands.GetView:
                return View();

            default:
                return null;
        }
    }

    private async Task RequestsAsync(IReadOnlyList<MatchmakerCommands.Request> requests)
    {
        if (!State.Started)
        {
            DeferDelivery(); // the deployment's start of this matchmaker is on its way
            return;
        }
        if (State.Deleted) return;
        var now = DateTimeOffset.UtcNow;
        var events = new List<object>(requests.Count);
        // Who waits or plays, kept in memory between requests (rebuilt after any other change): a request costs O(1)
        // however many wait.
        var waiting = _waitingIds ??= State.Waiting.Select(w => w.ClientId).ToHashSet();
        var playing = _playingIds ??= State.Matches.Values.SelectMany(m => m.Players.Keys).ToHashSet();
        var added = new List<long>();
        var refused = State.Refused.Select(r => (r.ClientId, r.Mode)).ToHashSet();
        foreach (var request in requests)
        {
            if (refused.Contains((request.ClientId, request.Mode))) continue; // refused already (or a redelivery)
            if (!Modes.TryGetValue(request.Mode, out var mode))
            {
                Context.Logger.LogWarning("matchmaker {Matchmaker}: client {Client} asked for mode '{Mode}', which the version does not have", Context.Id, request.ClientId, request.Mode);
                events.Add(new MatchmakerEvents.RequestRefused(request.ClientId, request.Mode, "the version has no such mode", now));
                refused.Add((request.ClientId, request.Mode));
                continue;
            }
            if (waiting.Contains(request.ClientId) || playing.Contains(request.ClientId)) continue; // one request per client
            if (MatchingStep.WhyUnsatisfiable(mode) is { } why)
            {
                Context.Logger.LogWarning("matchmaker {Matchmaker}: mode '{Mode}' can never form a match: {Why}", Context.Id, request.Mode, why);
                events.Add(new MatchmakerEvents.RequestRefused(request.ClientId, request.Mode, why, now));
                refused.Add((request.ClientId, request.Mode));
                continue;
            }
            if (!added.Contains(request.ClientId) && !waiting.Contains(request.ClientId))
            {
                events.Add(new MatchmakerEvents.RequestAdded(request.ClientId, request.UserId, request.Mode, now));
                added.Add(request.ClientId);
            }
        }
        if (events.Count == 0) return;
        await PersistAsync(events);
        foreach (var clientId in added) waiting.Add(clientId); // only once the write is done
        if (!State.Waiting.IsEmpty && !Context.Timers.IsActive(StepTimer)) Context.Timers.StartSingle(StepTimer, RunStep.Instance, StepDelay);
    }

    /// <summary>One matching step over every mode with waiting clients; all of it in one write.</summary>
    private async Task StepAsync()
    {
        if (!State.Started || State.Deleted || State.Waiting.IsEmpty) return;
        var events = new List<object>();
        var now = DateTimeOffset.UtcNow;
        foreach (var byMode in State.Waiting.GroupBy(w => w.Mode, StringComparer.Ordinal))
        {
            if (!Modes.TryGetValue(byMode.Key, out var mode)) continue;
            var open = State.Matches.Where(m => m.Value.Open && m.Value.Mode == byMode.Key)
                .Select(m => new OpenMatch(m.Key, m.Value.Players.Values.GroupBy(p => p.Group).ToDictionary(g => g.Key, g => g.Count())))
                .ToList();
            var result = MatchingStep.Run(mode, open, byMode.Select(w => new WaitingRequest(w.ClientId, w.UserId)).ToList());
            foreach (var placement in result.Placements)
                events.Add(Place(placement.MatchId, State.Matches[placement.MatchId].RuntimeId, placement.Group, placement.Request));
            foreach (var created in result.NewMatches)
            {
                if (State.MatchImage is not { } image)
                {
                    Context.Logger.LogError("matchmaker {Matchmaker}: the version has no UNIVERSAL or MATCH image; no match of '{Mode}' can start", Context.Id, byMode.Key);
                    break;
                }
                var matchId = ids.Next();
                var runtimeId = ids.Next();
                Deliver(RuntimeEntity.Address(runtimeId), new RuntimeCommands.Create(runtimeId, RuntimeQualifier.MATCH, State.TenantId, State.ProjectId,
                    State.StageId, State.VersionId, State.DeploymentId, null, MatchConfig(matchId), image, ids.Next(), now, MatchmakerId, matchId));
                events.Add(new MatchmakerEvents.MatchCreated(matchId, runtimeId, byMode.Key, now));
                Context.Logger.LogInformation("matchmaker {Matchmaker}: match {Match} of '{Mode}' with runtime {Runtime} for {Count} players",
                    Context.Id, matchId, byMode.Key, runtimeId, created.Players.Count);
                foreach (var (group, request) in created.Players) events.Add(Place(matchId, runtimeId, group, request));
            }
        }
        if (events.Count > 0)
        {
            events.Add(new MatchmakerEvents.RequestsTaken(events.OfType<MatchmakerEvents.PlayerPlaced>().Select(p => p.ClientId).ToArray()));
            await PersistAsync(events);
            _waitingIds = null;
            _playingIds = null;
        }
    }

    private MatchmakerEvents.PlayerPlaced Place(long matchId, long runtimeId, string group, WaitingRequest request)
    {
        Deliver(ClientEntity.Address(request.ClientId), new ClientCommands.Assign(runtimeId, RuntimeQualifier.MATCH, MatchConfig(matchId), group));
        return new MatchmakerEvents.PlayerPlaced(matchId, request.ClientId, request.UserId, group);
    }

    private JsonElement MatchConfig(long matchId) => WireBodies.RuntimeConfig(null, (MatchmakerId, matchId), State.VersionConfig);

    private async Task RemovePlayerAsync(long matchId, long clientId, bool backToLobby)
    {
        if (!State.Matches.TryGetValue(matchId, out var match) || !match.Players.TryGetValue(clientId, out var player)) return;
        if (backToLobby)
            Deliver(DeploymentEntity.Address(State.DeploymentId), new DeploymentCommands.Requeue(clientId, player.UserId));
        var now = DateTimeOffset.UtcNow;
        await PersistAsync(new MatchmakerEvents.PlayerRemoved(matchId, clientId, now));
        if (State.Matches[matchId].Players.IsEmpty)
            await Context.SetReminderAsync(EmptyMatchesReminder, now + EmptyMatchLifetime);
    }

    private List<object> DeleteMatch(long matchId, MatchRecord match, bool backToLobby, DisconnectionReason? reason = null)
    {
        if (backToLobby)
            foreach (var (clientId, player) in match.Players)
                Deliver(DeploymentEntity.Address(State.DeploymentId), new DeploymentCommands.Requeue(clientId, player.UserId));
        // Players sent back to a lobby leave the match runtime when their lobby assignment arrives; without a way back
        // (the deployment is gone) the runtime disconnects them.
        Deliver(RuntimeEntity.Address(match.RuntimeId), new RuntimeCommands.Delete(backToLobby ? null : reason));
        return [new MatchmakerEvents.MatchDeleted(matchId)];
    }

    private async Task DeleteEmptyMatchesAsync()
    {
        var now = DateTimeOffset.UtcNow;
        var events = new List<object>();
        foreach (var (matchId, match) in State.Matches)
            if (match.Players.IsEmpty && match.EmptySince is { } since && since + EmptyMatchLifetime <= now)
                events.AddRange(DeleteMatch(matchId, match, backToLobby: false));
        if (events.Count > 0)
        {
            Context.Logger.LogInformation("matchmaker {Matchmaker}: {Count} empty matches deleted", Context.Id, events.Count);
            await PersistAsync(events);
        }
        var next = State.Matches.Values.Where(m => m.Players.IsEmpty && m.EmptySince is not null).Select(m => m.EmptySince!.Value + EmptyMatchLifetime).DefaultIfEmpty().Min();
        if (next != default) await Context.SetReminderAsync(EmptyMatchesReminder, next > now ? next : now.AddSeconds(1));
    }

    private MatchmakerView View() => new(MatchmakerId, State.Started, State.Deleted, State.TenantId, State.DeploymentId,
        Modes.Values.Select(m => new MatchmakerView.ModeQueue(m.Name, State.Waiting.Count(w => w.Mode == m.Name), MatchingStep.WhyUnsatisfiable(m))).ToList(),
        State.Matches.Select(m => new MatchmakerView.Match(m.Key, m.Value.RuntimeId, m.Value.Mode, m.Value.Open, m.Value.Created,
            m.Value.Players.Values.GroupBy(p => p.Group).ToDictionary(g => g.Key, g => g.Count()), m.Value.Players.Count)).ToList(),
        State.Refused);

    // Requests of many runtimes queue up: taken together, one write for all.
    protected override bool Batches(object message) =>
        message is MatchmakerCommands.Request or MatchmakerCommands.Requests && State.Started && !State.Deleted;

    protected override async ValueTask<IReadOnlyList<object?>> HandleBatchAsync(IReadOnlyList<object> messages)
    {
        var items = new List<MatchmakerCommands.Request>();
        foreach (var message in messages)
            if (message is MatchmakerCommands.Request one) items.Add(one);
            else if (message is MatchmakerCommands.Requests many) items.AddRange(many.Items);
        await RequestsAsync(items);
        return new object?[messages.Count];
    }

    // Requests and departures come from many runtimes and are idempotent by this state.
    protected override bool RecordsDelivery(object message) =>
        message is not (MatchmakerCommands.Request or MatchmakerCommands.Requests or MatchmakerCommands.PlayerLeft or MatchmakerCommands.Kick);

    private sealed class RunStep
    {
        public static readonly RunStep Instance = new();
    }

    public static void Register(EntityRegistryBuilder r) => r.Entity<MatchmakerEntity>(TypeName, sp => new MatchmakerEntity(GameServices.Ids(sp)))
        // Its state holds every waiting request: a snapshot is large, so one per 5,000 events (recovery reads at most that many).
        .SnapshotEvery(5000)
        .PassivateAfter(TimeSpan.FromMinutes(10))
        .Event<MatchmakerEvents.Started>("matchmaker.started")
        .Event<MatchmakerEvents.RequestAdded>("matchmaker.request-added")
        .Event<MatchmakerEvents.RequestRefused>("matchmaker.request-refused")
        .Event<MatchmakerEvents.MatchCreated>("matchmaker.match-created")
        .Event<MatchmakerEvents.PlayerPlaced>("matchmaker.player-placed")
        .Event<MatchmakerEvents.RequestsTaken>("matchmaker.requests-taken")
        .Event<MatchmakerEvents.PlayerRemoved>("matchmaker.player-removed")
        .Event<MatchmakerEvents.MatchClosed>("matchmaker.match-closed")
        .Event<MatchmakerEvents.MatchDeleted>("matchmaker.match-deleted")
        .Event<MatchmakerEvents.Deleted>("matchmaker.deleted")
        .Message<MatchmakerCommands.Start>("matchmaker.start")
        .Message<MatchmakerCommands.Request>("matchmaker.request")
        .Message<MatchmakerCommands.Requests>("matchmaker.requests")
        .Message<MatchmakerCommands.CloseMatch>("matchmaker.close-match")
        .Message<MatchmakerCommands.Kick>("matchmaker.kick")
        .Message<MatchmakerCommands.PlayerLeft>("matchmaker.player-left")
        .Message<MatchmakerCommands.MatchRuntimeFailed>("matchmaker.match-runtime-failed")
        .Message<MatchmakerCommands.Delete>("matchmaker.delete")
        .Message<MatchmakerCommands.GetView>("matchmaker.get-view")
        .Message<MatchmakerView>("matchmaker.view");
}
