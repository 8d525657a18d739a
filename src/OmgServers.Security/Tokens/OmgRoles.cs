namespace OmgServers.Security;

/// <summary>Role names as they appear in the JWT <c>groups</c> claim (contract 3.1, 6.2).</summary>
public static class OmgRoles
{
    public const string Admin = "admin";
    public const string Support = "support";
    public const string Registry = "registry";
    public const string Builder = "builder";
    public const string Service = "service";
    public const string Dispatcher = "dispatcher";
    public const string Developer = "developer";
    public const string Player = "player";
    public const string Runtime = "runtime";

    /// <summary>Only in WebSocket tokens; the role of the bearer is then in <c>user_role</c>.</summary>
    public const string WebSocket = "websocket";

    public static IReadOnlyList<string> All { get; } =
        [Admin, Support, Registry, Builder, Service, Dispatcher, Developer, Player, Runtime, WebSocket];
}

/// <summary>Claim names of the tokens in contract 3.1.</summary>
public static class OmgClaimNames
{
    public const string Issuer = "iss";
    public const string Audience = "aud";
    public const string Subject = "sub";
    public const string IssuedAt = "iat";
    public const string ExpiresAt = "exp";
    public const string NotBefore = "nbf";
    public const string TokenId = "jti";
    public const string Groups = "groups";

    /// <summary>User tokens: the user id (decimal string).</summary>
    public const string UserId = "user_id";

    /// <summary>Runtime API and WebSocket tokens: the runtime id (decimal string).</summary>
    public const string RuntimeId = "runtime_id";

    /// <summary>WebSocket tokens: <c>runtime</c> or <c>player</c>.</summary>
    public const string UserRole = "user_role";

    /// <summary>Names the issuer writes itself; extra claims may not reuse them.</summary>
    internal static bool IsRegistered(string name) =>
        name is Issuer or Audience or Subject or IssuedAt or ExpiresAt or NotBefore or TokenId or Groups;
}

/// <summary>Token lifetimes hard-coded upstream (contract 3.1, 11). <c>OMGSERVERS_CLIENTS_TOKEN_LIFETIME</c> is unused.</summary>
public static class OmgTokenLifetimes
{
    /// <summary>User, runtime API, runtime WS, player WS and registry access tokens.</summary>
    public static readonly TimeSpan Default = TimeSpan.FromSeconds(3600);

    /// <summary>The service token each server issues itself at start-up for shard calls (1 year, never refreshed).</summary>
    public static readonly TimeSpan Service = TimeSpan.FromSeconds(31_536_000);
}
