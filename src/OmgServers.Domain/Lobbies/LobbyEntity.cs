using System.Globalization;
using OmgServers.Actors;

namespace OmgServers.Domain.Lobbies;

/// <summary>
/// A lobby (type "lobby", id = the lobby id, contract 6.1): which deployment it belongs to and which runtime runs it.
/// The deployment owns the lobby's life (its clients, its removal); this record lets a developer address a lobby by
/// its id alone (<c>delete-lobby</c>) and says whether it still exists.
/// </summary>
public static class LobbyCommands
{
    public sealed record Create(long TenantId, long DeploymentId, long RuntimeId, DateTimeOffset At);

    public sealed record MarkDeleted;

    /// <summary>Replies <see cref="LobbyInfo"/> (<c>Exists</c> false for an unknown or deleted lobby).</summary>
    public sealed record Get;
}

public sealed record LobbyInfo(bool Exists, long TenantId, long DeploymentId, long RuntimeId, DateTimeOffset Created);

public static class LobbyEvents
{
    public sealed record Created(long TenantId, long DeploymentId, long RuntimeId, DateTimeOffset At);
    public sealed record Deleted;
}

public sealed record LobbyState(bool Exists, bool Deleted, long TenantId, long DeploymentId, long RuntimeId, DateTimeOffset Created)
{
    public static readonly LobbyState Empty = new(false, false, 0, 0, 0, default);
}

public sealed class LobbyEntity : PersistentEntity<LobbyState>
{
    public const string TypeName = "lobby";

    public static EntityAddress Address(long lobbyId) => new(TypeName, lobbyId.ToString(CultureInfo.InvariantCulture));

    protected override LobbyState CreateInitialState() => LobbyState.Empty;

    protected override LobbyState Apply(LobbyState state, object @event) => @event switch
    {
        LobbyEvents.Created c => new LobbyState(true, false, c.TenantId, c.DeploymentId, c.RuntimeId, c.At),
        LobbyEvents.Deleted => state with { Deleted = true },
        _ => state,
    };

    protected override async ValueTask<object?> HandleAsync(object message)
    {
        switch (message)
        {
            case LobbyCommands.Create create:
                if (!State.Exists) await PersistAsync(new LobbyEvents.Created(create.TenantId, create.DeploymentId, create.RuntimeId, create.At));
                return null;
            case LobbyCommands.MarkDeleted:
                if (State.Exists && !State.Deleted) await PersistAsync(new LobbyEvents.Deleted());
                Context.Passivate();
                return null;
            case LobbyCommands.Get:
                if (!State.Exists) Context.Passivate();
                return new LobbyInfo(State.Exists && !State.Deleted, State.TenantId, State.DeploymentId, State.RuntimeId, State.Created);
            default:
                return null;
        }
    }

    public static void Register(EntityRegistryBuilder r) => r.Entity<LobbyEntity>(TypeName)
        .PassivateAfter(TimeSpan.FromSeconds(30))
        .Event<LobbyEvents.Created>("lobby.created")
        .Event<LobbyEvents.Deleted>("lobby.deleted")
        .Message<LobbyCommands.Create>("lobby.create")
        .Message<LobbyCommands.MarkDeleted>("lobby.mark-deleted")
        .Message<LobbyCommands.Get>("lobby.get")
        .Message<LobbyInfo>("lobby.info");
}
