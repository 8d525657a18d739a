using System.Globalization;
using OmgServers.Actors;
using OmgServers.Contracts;
using OmgServers.Domain.Aliases;
using OmgServers.Domain.Users;
using OmgServers.Security;

namespace OmgServers.Service.Identity;

/// <summary>
/// Users at the edge: resolving `user` fields (id or alias), creating users, and logging in. Password checks run
/// here, off the user entity's mailbox; bcrypt (about 45 ms each) is limited to one per core at a time so a login
/// storm of bootstrap users cannot starve the server. Generated passwords use the fast salted hash.
/// </summary>
public sealed class Users(ActorRuntime runtime, SnowflakeIds ids, KeyRing keys)
{
    private static readonly SemaphoreSlim BcryptGate = new(Environment.ProcessorCount);

    public const long UserAliasGroup = 2;

    /// <summary>A `user` field: a number is an id (never looked up as an alias, contract 6.4), otherwise a user alias.</summary>
    public async Task<long> ResolveAsync(string user, CancellationToken ct)
    {
        if (long.TryParse(user, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var id)) return id;
        var alias = await runtime.AskAsync<AliasView>(AliasEntity.Address(AliasQualifier.USER, 0, UserAliasGroup, user), new AliasCommands.Resolve(), ct: ct);
        return alias.EntityId ?? throw ApiException.NotFound();
    }

    public Task<UserView> GetAsync(long userId, CancellationToken ct) =>
        runtime.AskAsync<UserView>(UserEntity.Address(userId), new UserCommands.Get(), ct: ct);

    /// <summary>A new user with a generated password (players, developers, runtimes): returns the id and the password, shown once.</summary>
    public async Task<(long UserId, string Password)> CreateGeneratedAsync(string role, CancellationToken ct)
    {
        var userId = ids.Next();
        var password = PasswordGenerator.Generate();
        await runtime.AskAsync<UserView>(UserEntity.Address(userId), new UserCommands.Create(role, PasswordHashing.HashGenerated(password), Now()), ct: ct);
        return (userId, password);
    }

    /// <summary>A user with a chosen password (bcrypt) and an alias; idempotent by alias. Returns the user id.</summary>
    public async Task<long> EnsureWithAliasAsync(string role, string alias, string password, CancellationToken ct)
    {
        var address = AliasEntity.Address(AliasQualifier.USER, 0, UserAliasGroup, alias);
        var existing = await runtime.AskAsync<AliasView>(address, new AliasCommands.Resolve(), ct: ct);
        if (existing.EntityId is { } known) return known;
        var userId = ids.Next();
        var hash = await Task.Run(() => PasswordHashing.HashChosen(password), ct);
        await runtime.AskAsync<UserView>(UserEntity.Address(userId), new UserCommands.Create(role, hash, Now()), ct: ct);
        var claimed = await runtime.AskAsync<AliasView>(address, new AliasCommands.Claim(ids.Next(), userId, Now()), ct: ct);
        return claimed.EntityId ?? userId; // another node won the race: its user is the one
    }

    /// <summary>Checks the password and issues a token carrying the user's real role (contract 3.2).</summary>
    public async Task<string> LoginAsync(long userId, string password, TimeSpan lifetime, CancellationToken ct)
    {
        var user = await GetAsync(userId, ct);
        if (!user.Exists) throw ApiException.NotFound();
        if (user.Deleted) throw ApiException.Unauthorized(Qualifier.USER_NOT_FOUND);
        if (!await VerifyAsync(password, user.PasswordHash, ct)) throw ApiException.Unauthorized();
        var id = userId.ToString(CultureInfo.InvariantCulture);
        return keys.Issuer.Issue(id, user.Role, lifetime, new Dictionary<string, string> { [OmgClaimNames.UserId] = id });
    }

    public static async Task<bool> VerifyAsync(string password, string stored, CancellationToken ct)
    {
        if (PasswordHashing.IsFastHash(stored)) return PasswordHashing.Verify(password, stored);
        await BcryptGate.WaitAsync(ct);
        try
        {
            return await Task.Run(() => PasswordHashing.Verify(password, stored), ct);
        }
        finally
        {
            BcryptGate.Release();
        }
    }

    public static DateTimeOffset Now() => DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
}
