using OmgServers.Actors;

namespace OmgServers.Domain.Aliases;

/// <summary>Alias namespaces of contract 6.4.</summary>
public enum AliasQualifier { ROOT, POOL, USER, TENANT, PROJECT, STAGE }

/// <summary>
/// One alias value in one namespace (qualifier, shard key, uniqueness group). Each is its own entity, so
/// "unique among non-deleted aliases" is decided by a single writer: the first claim wins, later claims by another
/// entity are refused (DB_CONSTRAINT_VIOLATED), and a released alias can be claimed again.
/// </summary>
public static class AliasCommands
{
    /// <summary>Replies <see cref="AliasView"/> with Claimed = false when another entity holds the alias.</summary>
    public sealed record Claim(long AliasId, long EntityId, DateTimeOffset Created);

    /// <summary>Replies <see cref="AliasView"/> (EntityId null when free).</summary>
    public sealed record Resolve;

    /// <summary>Frees the alias if <see cref="EntityId"/> holds it; replies true if it did.</summary>
    public sealed record Release(long EntityId);
}

public static class AliasEvents
{
    public sealed record Claimed(long AliasId, long EntityId, DateTimeOffset At);
    public sealed record Released(long EntityId, DateTimeOffset At);
}

public sealed record AliasView(string Key, bool Claimed, long? EntityId, long AliasId, DateTimeOffset Created);

public sealed record AliasState(long? EntityId, long AliasId, DateTimeOffset Created)
{
    public static readonly AliasState Free = new(null, 0, default);

    public AliasState Apply(object @event) => @event switch
    {
        AliasEvents.Claimed c => new AliasState(c.EntityId, c.AliasId, c.At),
        AliasEvents.Released => Free,
        _ => this,
    };
}

public sealed class AliasEntity : PersistentEntity<AliasState>
{
    public const string TypeName = "alias";

    /// <summary>The entity id of an alias: qualifier, shard key, uniqueness group and value. The value may hold any character.</summary>
    public static string Key(AliasQualifier qualifier, long shardKey, long uniquenessGroup, string value) =>
        $"{qualifier}:{shardKey}:{uniquenessGroup}:{value}";

    public static EntityAddress Address(AliasQualifier qualifier, long shardKey, long uniquenessGroup, string value) =>
        new(TypeName, Key(qualifier, shardKey, uniquenessGroup, value));

    protected override AliasState CreateInitialState() => AliasState.Free;

    protected override AliasState Apply(AliasState state, object @event) => state.Apply(@event);

    private AliasView View(bool claimed) => new(Context.Id, claimed, State.EntityId, State.AliasId, State.Created);

    protected override async ValueTask<object?> HandleAsync(object message)
    {
        switch (message)
        {
            case AliasCommands.Claim claim:
                if (State.EntityId == claim.EntityId) return View(true);
                if (State.EntityId is not null) return View(false);
                await PersistAsync(new AliasEvents.Claimed(claim.AliasId, claim.EntityId, claim.Created));
                return View(true);
            case AliasCommands.Resolve:
                if (State.EntityId is null) Context.Passivate();
                return View(State.EntityId is not null);
            case AliasCommands.Release release:
                if (State.EntityId != release.EntityId) return false;
                await PersistAsync(new AliasEvents.Released(release.EntityId, DateTimeOffset.UtcNow));
                return true;
            default:
                return null;
        }
    }

    public static void Register(EntityRegistryBuilder r) => r.Entity<AliasEntity>(TypeName)
        .Event<AliasEvents.Claimed>("alias.claimed")
        .Event<AliasEvents.Released>("alias.released")
        .Message<AliasCommands.Claim>("alias.claim")
        .Message<AliasCommands.Resolve>("alias.resolve")
        .Message<AliasCommands.Release>("alias.release")
        .Message<AliasView>("alias.view");
}
