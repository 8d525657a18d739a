using System.Collections.Immutable;
using System.Text.Json;
using OmgServers.Contracts;
using OmgServers.Contracts.Interchange;

namespace OmgServers.Domain.Runtimes;

/// <summary>What the runtime entity takes (contract 4.2, 5, 7.1).</summary>
public static class RuntimeCommands
{
    /// <summary>From the deployment (or, later, a matchmaker): create the runtime with its <c>INIT_RUNTIME</c> and start it.
    /// <paramref name="RuntimeConfig"/> is the RuntimeConfig object in wire JSON.</summary>
    public sealed record Create(
        long RuntimeId, RuntimeQualifier Qualifier, long TenantId, long ProjectId, long StageId, long VersionId, long DeploymentId,
        long? LobbyId, JsonElement RuntimeConfig, string ImageId, long UserId, DateTimeOffset At, long? MatchmakerId = null, long? MatchId = null);

    /// <summary>Assign a client: an <c>ADD_CLIENT</c> (or <c>ADD_MATCH_CLIENT</c> with a group) with the player's profile.
    /// <paramref name="MatchmakerId"/>: where the client's <c>REQUEST_MATCHMAKING</c> goes.</summary>
    public sealed record AddClient(long ClientId, long UserId, string? GroupName, long MatchmakerId = 0);

    /// <summary>The client left this runtime (moved, kicked, deleted, inactive): <c>DELETE_CLIENT</c>.</summary>
    public sealed record RemoveClient(long ClientId);

    /// <summary>Delete the runtime and stop it; with a reason, its clients are disconnected with it.</summary>
    public sealed record Delete(DisconnectionReason? Reason);

    /// <summary>Players' messages as <c>HANDLE_MESSAGE</c> commands. Replies <see cref="RuntimeAck"/> (also when dropped because the
    /// client is not assigned here) or <see cref="RuntimeRejected"/> (503: too many unacknowledged commands).</summary>
    /// <paramref name="BatchId"/>: set by a client forwarding its kept messages (reliable delivery): a batch id not above the last one
    /// seen for the client is a redelivery and is not added again. 0 (a player's call): no de-duplication, at-least-once.
    public sealed record HandleMessages(long ClientId, IReadOnlyList<JsonElement> Messages, long BatchId = 0);

    /// <summary>The runtime's own interchange. <paramref name="UpgradeTokens"/>: a player WS token per client id of an
    /// <c>UPGRADE_CONNECTION</c> (the edge signs them). Replies <see cref="RuntimeInterchangeReply"/> or <see cref="RuntimeRejected"/>.</summary>
    public sealed record Interchange(IReadOnlyList<OutgoingCommand> Outgoing, IReadOnlyList<long> Consumed, IReadOnlyDictionary<long, string> UpgradeTokens);

    /// <summary>Runtime <c>create-token</c>: replies <see cref="RuntimeAuthenticated"/> or <see cref="RuntimeRejected"/>.</summary>
    public sealed record Authenticate(string Password);

    /// <summary>Hosting's reconcile: replies <see cref="RuntimeShouldRun"/>.</summary>
    public sealed record ShouldRun;

    /// <summary>Hosting saw the runtime's process end on its own.</summary>
    public sealed record ProcessExited(int? ExitCode, string Reason);

    /// <summary>Replies <see cref="RuntimeDetails"/> or <see cref="RuntimeRejected"/>.</summary>
    public sealed record GetDetails;
}

public sealed record RuntimeAck
{
    public static readonly RuntimeAck Instance = new();
}

public sealed record RuntimeRejected(Qualifier Qualifier, int Status);

public sealed record RuntimeInterchangeReply(IReadOnlyList<RuntimeCommand> Incoming);

public sealed record RuntimeAuthenticated(long RuntimeId, long UserId);

public sealed record RuntimeShouldRun(bool Run);

public sealed record RuntimeDetails(
    long RuntimeId, RuntimeQualifier Qualifier, long TenantId, long StageId, long DeploymentId, long? LobbyId, string ImageId,
    bool Deleted, bool Inactive, IReadOnlyList<long> Clients, int UnconsumedCommands, DateTimeOffset Created);

public static class RuntimeEvents
{
    public sealed record Created(
        long RuntimeId, RuntimeQualifier Qualifier, long TenantId, long ProjectId, long StageId, long VersionId, long DeploymentId,
        long? LobbyId, string ImageId, long UserId, DateTimeOffset At, long? MatchmakerId = null, long? MatchId = null);
    public sealed record CommandsAdded(RuntimeCommand[] Commands);
    public sealed record CommandsConsumed(long[] Ids);
    public sealed record ClientAdded(long ClientId, long UserId, string? GroupName, long MatchmakerId = 0);
    public sealed record ClientRemoved(long ClientId);
    /// <summary>Messages of a client whose ADD_CLIENT has not arrived yet; they follow it.</summary>
    public sealed record EarlyMessagesKept(long ClientId, JsonElement[] Messages, DateTimeOffset At, long BatchId = 0);
    public sealed record ClientBatchSeen(long ClientId, long BatchId);
    public sealed record EarlyMessagesDropped(long ClientId);
    public sealed record PasswordSet(string Hash);
    public sealed record InactivityDetected(string Reason, DateTimeOffset At);
    public sealed record Deleted(DateTimeOffset At);
}

public sealed record AssignedClient(long UserId, string? GroupName, long MatchmakerId, long LastBatchId = 0);

/// <summary>Messages that reached the runtime before the client's ADD_CLIENT (the player's call and the client's own delivery race).</summary>
public sealed record EarlyMessages(ImmutableList<JsonElement> Messages, DateTimeOffset Since, long LastBatchId = 0);

public sealed record RuntimeState(
    bool Exists, long RuntimeId, RuntimeQualifier Qualifier, long TenantId, long ProjectId, long StageId, long VersionId, long DeploymentId,
    long? LobbyId, string ImageId, long UserId, string? PasswordHash, bool Inactive, bool Deleted, DateTimeOffset Created, long LastCommandId,
    ImmutableSortedDictionary<long, RuntimeCommand> Commands, ImmutableDictionary<long, AssignedClient> Clients,
    ImmutableDictionary<long, EarlyMessages> Early, long? MatchmakerId = null, long? MatchId = null)
{
    public static readonly RuntimeState Empty = new(false, 0, RuntimeQualifier.LOBBY, 0, 0, 0, 0, 0, null, "", 0, null, false, false,
        default, 0, ImmutableSortedDictionary<long, RuntimeCommand>.Empty, ImmutableDictionary<long, AssignedClient>.Empty,
        ImmutableDictionary<long, EarlyMessages>.Empty);

    public RuntimeState Apply(object @event) => @event switch
    {
        RuntimeEvents.Created c => this with
        {
            Exists = true, RuntimeId = c.RuntimeId, Qualifier = c.Qualifier, TenantId = c.TenantId, ProjectId = c.ProjectId, StageId = c.StageId,
            VersionId = c.VersionId, DeploymentId = c.DeploymentId, LobbyId = c.LobbyId, ImageId = c.ImageId, UserId = c.UserId, Created = c.At,
            MatchmakerId = c.MatchmakerId, MatchId = c.MatchId,
        },
        RuntimeEvents.CommandsAdded a => this with
        {
            Commands = Commands.SetItems(a.Commands.Select(c => KeyValuePair.Create(c.Id, c))),
            LastCommandId = Math.Max(LastCommandId, a.Commands.Length == 0 ? 0 : a.Commands.Max(c => c.Id)),
        },
        RuntimeEvents.CommandsConsumed c => this with { Commands = Commands.RemoveRange(c.Ids) },
        RuntimeEvents.ClientAdded a => this with
        {
            Clients = Clients.SetItem(a.ClientId, new AssignedClient(a.UserId, a.GroupName, a.MatchmakerId, Early.GetValueOrDefault(a.ClientId)?.LastBatchId ?? 0)),
            Early = Early.Remove(a.ClientId),
        },
        RuntimeEvents.EarlyMessagesKept k => this with
        {
            Early = Early.SetItem(k.ClientId, Early.TryGetValue(k.ClientId, out var early)
                ? early with { Messages = early.Messages.AddRange(k.Messages), LastBatchId = Math.Max(early.LastBatchId, k.BatchId) }
                : new EarlyMessages([.. k.Messages], k.At, k.BatchId)),
        },
        RuntimeEvents.ClientBatchSeen b => this with
        {
            Clients = Clients.TryGetValue(b.ClientId, out var seen) ? Clients.SetItem(b.ClientId, seen with { LastBatchId = Math.Max(seen.LastBatchId, b.BatchId) }) : Clients,
        },
        RuntimeEvents.EarlyMessagesDropped d => this with { Early = Early.Remove(d.ClientId) },
        RuntimeEvents.ClientRemoved r => this with { Clients = Clients.Remove(r.ClientId) },
        RuntimeEvents.PasswordSet p => this with { PasswordHash = p.Hash },
        RuntimeEvents.InactivityDetected => this with { Inactive = true },
        RuntimeEvents.Deleted => this with
        {
            Deleted = true, Clients = ImmutableDictionary<long, AssignedClient>.Empty, Early = ImmutableDictionary<long, EarlyMessages>.Empty,
            Commands = ImmutableSortedDictionary<long, RuntimeCommand>.Empty,
        },
        _ => this,
    };
}
