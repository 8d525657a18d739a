namespace OmgServers.Security;

/// <summary>What <see cref="JwtValidator"/> requires of a token besides a good RS256 signature.</summary>
public sealed record JwtValidationOptions
{
    /// <summary>Required <c>iss</c> (upstream <c>OMGSERVERS_SERVER_JWT_ISSUER</c>, default <c>omgservers</c>).</summary>
    public string Issuer { get; init; } = JwtIssuer.DefaultIssuer;

    /// <summary>Required member of <c>aud</c> (a string or an array); <c>omgservers</c> for the service's own tokens.</summary>
    public string Audience { get; init; } = JwtIssuer.DefaultIssuer;

    /// <summary>Tolerance for <c>exp</c> and <c>nbf</c> between servers whose clocks differ. Default 30 s.</summary>
    public TimeSpan ClockSkew { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Clock for <c>exp</c>/<c>nbf</c>; the system clock by default.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Longer tokens are refused as malformed before any decoding. Default 8192 characters.</summary>
    public int MaxTokenLength { get; init; } = 8192;
}
