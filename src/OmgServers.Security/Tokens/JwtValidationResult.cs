using System.Diagnostics.CodeAnalysis;

namespace OmgServers.Security;

/// <summary>Why a token was refused. Every value maps to 401 <c>WRONG_CREDENTIALS</c> on the wire.</summary>
public enum JwtInvalidReason
{
    /// <summary>The token is valid.</summary>
    None = 0,

    /// <summary>Not three base64url segments, bad JSON, a claim of the wrong type, or longer than allowed.</summary>
    Malformed,

    /// <summary>Header <c>alg</c> is missing or anything but <c>RS256</c> (<c>none</c>, <c>HS256</c>, <c>RS512</c>, ...).</summary>
    WrongAlgorithm,

    /// <summary>Header <c>typ</c> is present and is not <c>JWT</c>.</summary>
    WrongType,

    /// <summary>Header <c>crit</c> lists extensions; none are understood, so RFC 7515 4.1.11 requires refusal.</summary>
    UnsupportedHeader,

    /// <summary>The RS256 signature does not verify with the configured public key.</summary>
    BadSignature,

    /// <summary><c>exp</c> is in the past by more than the clock skew.</summary>
    Expired,

    /// <summary><c>nbf</c> is in the future by more than the clock skew.</summary>
    NotYetValid,

    /// <summary><c>iss</c> is missing or differs from the configured issuer.</summary>
    WrongIssuer,

    /// <summary><c>aud</c> is missing or does not contain the configured audience.</summary>
    WrongAudience,

    /// <summary>A required claim (<c>exp</c> or <c>sub</c>) is missing.</summary>
    MissingClaim,
}

/// <summary>The outcome of <see cref="JwtValidator.Validate(string)"/>: claims, or the reason for refusal.</summary>
public sealed class JwtValidationResult
{
    private static readonly JwtValidationResult[] Failures =
        Enum.GetValues<JwtInvalidReason>().Select(reason => new JwtValidationResult(null, reason)).ToArray();

    private JwtValidationResult(JwtClaims? claims, JwtInvalidReason reason)
    {
        Claims = claims;
        Reason = reason;
    }

    /// <summary>The verified claims; not null exactly when <see cref="IsValid"/>.</summary>
    public JwtClaims? Claims { get; }

    /// <summary><see cref="JwtInvalidReason.None"/> for a valid token.</summary>
    public JwtInvalidReason Reason { get; }

    [MemberNotNullWhen(true, nameof(Claims))]
    public bool IsValid => Claims is not null;

    internal static JwtValidationResult Success(JwtClaims claims) => new(claims, JwtInvalidReason.None);

    internal static JwtValidationResult Failure(JwtInvalidReason reason) => Failures[(int)reason];

    public override string ToString() => IsValid ? $"valid (sub={Claims.Subject})" : $"invalid ({Reason})";
}

/// <summary>The claims of a verified token.</summary>
public sealed class JwtClaims
{
    internal JwtClaims(
        string subject,
        string issuer,
        IReadOnlyList<string> audiences,
        IReadOnlyList<string> groups,
        DateTimeOffset expiresAt,
        DateTimeOffset? issuedAt,
        DateTimeOffset? notBefore,
        string? tokenId,
        IReadOnlyDictionary<string, string> extra)
    {
        Subject = subject;
        Issuer = issuer;
        Audiences = audiences;
        Groups = groups;
        ExpiresAt = expiresAt;
        IssuedAt = issuedAt;
        NotBefore = notBefore;
        TokenId = tokenId;
        Extra = extra;
    }

    /// <summary><c>sub</c>: user id, runtime id, client id or server host, depending on the token kind.</summary>
    public string Subject { get; }

    public string Issuer { get; }

    public IReadOnlyList<string> Audiences { get; }

    /// <summary><c>groups</c>: role names (<see cref="OmgRoles"/>); empty when the claim is absent.</summary>
    public IReadOnlyList<string> Groups { get; }

    public DateTimeOffset ExpiresAt { get; }

    public DateTimeOffset? IssuedAt { get; }

    public DateTimeOffset? NotBefore { get; }

    /// <summary><c>jti</c>.</summary>
    public string? TokenId { get; }

    /// <summary>Every other top-level claim whose value is a string or a number (numbers as their JSON text).</summary>
    public IReadOnlyDictionary<string, string> Extra { get; }

    /// <summary><c>user_id</c> (user tokens).</summary>
    public string? UserId => GetString(OmgClaimNames.UserId);

    /// <summary><c>runtime_id</c> (runtime API and WebSocket tokens).</summary>
    public string? RuntimeId => GetString(OmgClaimNames.RuntimeId);

    /// <summary><c>user_role</c> (WebSocket tokens).</summary>
    public string? UserRole => GetString(OmgClaimNames.UserRole);

    public bool IsInGroup(string role)
    {
        foreach (string group in Groups)
        {
            if (string.Equals(group, role, StringComparison.Ordinal))
                return true;
        }
        return false;
    }

    public string? GetString(string name) => Extra.TryGetValue(name, out string? value) ? value : null;

    /// <summary>Reads an id claim such as <c>user_id</c> or <c>runtime_id</c> as a 64-bit integer.</summary>
    public bool TryGetInt64(string name, out long value)
    {
        value = 0;
        string? text = GetString(name);
        return text is not null && long.TryParse(text, System.Globalization.NumberStyles.AllowLeadingSign,
            System.Globalization.CultureInfo.InvariantCulture, out value);
    }
}
