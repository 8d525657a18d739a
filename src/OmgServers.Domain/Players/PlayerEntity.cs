using System.Globalization;
using System.Text.Json;
using OmgServers.Actors;
using OmgServers.Contracts.Interchange;

namespace OmgServers.Domain.Players;

/// <summary>
/// A user's player record in one stage (contract 2.1): its profile, <c>{}</c> until a runtime sets one with
/// <c>SET_PROFILE</c>. Id <c>&lt;user id&gt;-&lt;stage id&gt;</c>, shard key the user id (contract 6.1). Nothing is written
/// until the first profile, so reading the profile of a new player costs no row.
/// </summary>
public static class PlayerCommands
{
    /// <summary>Replies <see cref="PlayerProfile"/>.</summary>
    public sealed record GetProfile;

    public sealed record SetProfile(JsonElement Profile);
}

public sealed record PlayerProfile(JsonElement Profile);

public static class PlayerEvents
{
    public sealed record ProfileSet(JsonElement Profile);
}

public sealed record PlayerState(JsonElement? Profile)
{
    public static readonly PlayerState Empty = new((JsonElement?)null);
}

public sealed class PlayerEntity : PersistentEntity<PlayerState>
{
    public const string TypeName = "player";

    public static EntityAddress Address(long userId, long stageId) =>
        new(TypeName, string.Create(CultureInfo.InvariantCulture, $"{userId}-{stageId}"));

    protected override PlayerState CreateInitialState() => PlayerState.Empty;

    protected override PlayerState Apply(PlayerState state, object @event) => @event switch
    {
        PlayerEvents.ProfileSet p => new PlayerState(p.Profile),
        _ => state,
    };

    protected override async ValueTask<object?> HandleAsync(object message)
    {
        switch (message)
        {
            case PlayerCommands.GetProfile:
                return new PlayerProfile(State.Profile ?? Payload.EmptyObject);
            case PlayerCommands.SetProfile set:
                await PersistAsync(new PlayerEvents.ProfileSet(set.Profile));
                return new PlayerProfile(set.Profile);
            default:
                return null;
        }
    }

    public static void Register(EntityRegistryBuilder r) => r.Entity<PlayerEntity>(TypeName)
        .ShardKey(id => id[..id.IndexOf('-')])
        .PassivateAfter(TimeSpan.FromSeconds(30))
        .SnapshotEvery(20)
        .Event<PlayerEvents.ProfileSet>("player.profile-set")
        .Message<PlayerCommands.GetProfile>("player.get-profile")
        .Message<PlayerCommands.SetProfile>("player.set-profile")
        .Message<PlayerProfile>("player.profile");
}
