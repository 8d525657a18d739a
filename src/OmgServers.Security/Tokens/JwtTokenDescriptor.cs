using System.Text.Json;

namespace OmgServers.Security;

/// <summary>What goes into one token besides <c>iss</c>, <c>iat</c> and <c>jti</c>, which the issuer adds.</summary>
public sealed record JwtTokenDescriptor
{
    /// <summary><c>sub</c>.</summary>
    public required string Subject { get; init; }

    /// <summary><c>exp</c> = <c>iat</c> + this, truncated to whole seconds.</summary>
    public required TimeSpan Lifetime { get; init; }

    /// <summary><c>groups</c>; written as an array even with one element, omitted when empty (registry tokens).</summary>
    public IReadOnlyList<string> Groups { get; init; } = [];

    /// <summary>Extra string claims (<c>user_id</c>, <c>runtime_id</c>, <c>user_role</c>, ...).</summary>
    public IReadOnlyDictionary<string, string>? Claims { get; init; }

    /// <summary>Extra claims with structured values, e.g. the registry token's <c>access</c> array.</summary>
    public IReadOnlyDictionary<string, JsonElement>? JsonClaims { get; init; }

    /// <summary><c>aud</c>; null means the issuer's configured audience (<c>omgservers</c>).</summary>
    public string? Audience { get; init; }

    /// <summary>Header <c>x5c</c>: base64 DER certificates (registry access tokens), or null for none.</summary>
    public IReadOnlyList<string>? X5c { get; init; }

    /// <summary>Header <c>kid</c>, or null for none.</summary>
    public string? KeyId { get; init; }
}
