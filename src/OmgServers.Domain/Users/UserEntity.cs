using System.Globalization;
using OmgServers.Actors;

namespace OmgServers.Domain.Users;

/// <summary>A user of any role: its role and password hash (bcrypt for chosen passwords, a fast salted hash for generated ones).</summary>
public static class UserCommands
{
    /// <summary>Creates the user; idempotent for the same id and role. Replies <see cref="UserView"/>.</summary>
    public sealed record Create(string Role, string PasswordHash, DateTimeOffset Created);

    /// <summary>Replies <see cref="UserView"/> (Exists = false for an unknown id).</summary>
    public sealed record Get;

    /// <summary>Soft-deletes the user; replies true if it existed and was not deleted yet.</summary>
    public sealed record Delete;
}

public static class UserEvents
{
    public sealed record Created(string Role, string PasswordHash, DateTimeOffset At);
    public sealed record Deleted(DateTimeOffset At);
}

public sealed record UserView(long Id, bool Exists, string Role, string PasswordHash, bool Deleted, DateTimeOffset Created);

public sealed record UserState(bool Exists, string Role, string PasswordHash, bool Deleted, DateTimeOffset Created)
{
    public static readonly UserState Empty = new(false, "", "", false, default);

    public UserState Apply(object @event) => @event switch
    {
        UserEvents.Created c => new UserState(true, c.Role, c.PasswordHash, false, c.At),
        UserEvents.Deleted => this with { Deleted = true },
        _ => this,
    };
}

public sealed class UserEntity : PersistentEntity<UserState>
{
    public const string TypeName = "user";

    public static EntityAddress Address(long userId) => new(TypeName, userId.ToString(CultureInfo.InvariantCulture));

    protected override UserState CreateInitialState() => UserState.Empty;

    protected override UserState Apply(UserState state, object @event) => state.Apply(@event);

    private UserView View() => new(long.Parse(Context.Id, CultureInfo.InvariantCulture), State.Exists, State.Role, State.PasswordHash, State.Deleted, State.Created);

    protected override async ValueTask<object?> HandleAsync(object message)
    {
        switch (message)
        {
            case UserCommands.Create create:
                if (!State.Exists)
                    await PersistAsync(new UserEvents.Created(create.Role, create.PasswordHash, create.Created));
                return View();
            case UserCommands.Get:
                if (!State.Exists) Context.Passivate(); // an unknown id: do not keep an empty entity in memory
                return View();
            case UserCommands.Delete:
                if (!State.Exists || State.Deleted) return false;
                await PersistAsync(new UserEvents.Deleted(DateTimeOffset.UtcNow));
                return true;
            default:
                return null;
        }
    }

    /// <summary>A user is needed for a login and little else: it leaves memory soon after.</summary>
    public static void Register(EntityRegistryBuilder r) => r.Entity<UserEntity>(TypeName)
        .PassivateAfter(TimeSpan.FromSeconds(30))
        .Event<UserEvents.Created>("user.created")
        .Event<UserEvents.Deleted>("user.deleted")
        .Message<UserCommands.Create>("user.create")
        .Message<UserCommands.Get>("user.get")
        .Message<UserCommands.Delete>("user.delete")
        .Message<UserView>("user.view");
}
