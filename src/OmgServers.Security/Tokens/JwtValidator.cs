using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace OmgServers.Security;

/// <summary>
/// Verifies RS256 JWTs against one RSA public key and returns typed claims or a <see cref="JwtInvalidReason"/>.
/// Thread-safe; every thread verifies with its own <see cref="RSA"/> instance.
/// </summary>
/// <remarks>
/// Checks, in order: size and shape (three canonical base64url segments), header (<c>alg</c> exactly <c>RS256</c>;
/// <c>typ</c>, when present, <c>JWT</c>; no <c>crit</c>), the signature, then the payload (<c>iss</c>, <c>aud</c>,
/// <c>exp</c> required, <c>nbf</c> when present, <c>sub</c> required). The algorithm is never taken from the token
/// to pick a verification method, so <c>none</c> and the HS256-with-the-public-key trick fail on the header.
/// </remarks>
public sealed class JwtValidator : IDisposable
{
    private const int StackLimit = 1024;
    private const int MaxSignatureBytes = 1024; // RSA-8192

    private readonly PerThreadRsa _keys;
    private readonly JwtValidationOptions _options;
    private readonly long _skewMilliseconds;

    /// <param name="publicKey">The issuer's RSA public key (a private key works too; only its public half is kept).</param>
    /// <param name="options">Issuer, audience, clock skew and clock; the defaults when null.</param>
    public JwtValidator(RSA publicKey, JwtValidationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(publicKey);
        _options = options ?? new JwtValidationOptions();
        ArgumentException.ThrowIfNullOrEmpty(_options.Issuer, nameof(options));
        ArgumentException.ThrowIfNullOrEmpty(_options.Audience, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.ClockSkew, TimeSpan.Zero, nameof(options));
        ArgumentNullException.ThrowIfNull(_options.TimeProvider, nameof(options));
        _skewMilliseconds = (long)_options.ClockSkew.TotalMilliseconds;
        _keys = PerThreadRsa.ForPublicKey(publicKey);
    }

    public JwtValidationOptions Options => _options;

    public JwtValidationResult Validate(string? token) =>
        token is null ? JwtValidationResult.Failure(JwtInvalidReason.Malformed) : Validate(token.AsSpan());

    /// <summary>Most tokens whose verification <see cref="ValidateCached"/> remembers; past it the memory starts over.</summary>
    public const int MaxCachedTokens = 65_536;

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, JwtClaims> _verified = new(StringComparer.Ordinal);

    /// <summary>Tokens remembered now.</summary>
    public int CachedTokens => _verified.Count;

    /// <summary>
    /// <see cref="Validate(string)"/>, remembering tokens that verified: a player or runtime presents the same token on
    /// every call for an hour, and its RS256 verification is most of the cost of a call. A remembered token is checked
    /// against its expiry and not-before again at each use (the claims do not change; the key of a validator never
    /// does). Refused tokens are never remembered. At most <see cref="MaxCachedTokens"/>.
    /// </summary>
    public JwtValidationResult ValidateCached(string? token)
    {
        if (token is null) return JwtValidationResult.Failure(JwtInvalidReason.Malformed);
        if (_verified.TryGetValue(token, out var known))
        {
            var now = _options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds();
            if (now >= known.ExpiresAt.ToUnixTimeMilliseconds() + _skewMilliseconds)
            {
                _verified.TryRemove(token, out _);
                return Fail(JwtInvalidReason.Expired);
            }
            if (known.NotBefore is { } nbf && now + _skewMilliseconds < nbf.ToUnixTimeMilliseconds()) return Fail(JwtInvalidReason.NotYetValid);
            return JwtValidationResult.Success(known);
        }
        var result = Validate(token.AsSpan());
        if (result.IsValid)
        {
            if (_verified.Count >= MaxCachedTokens) _verified.Clear();
            _verified[token] = result.Claims;
        }
        return result;
    }

    public JwtValidationResult Validate(ReadOnlySpan<char> token)
    {
        if (token.IsEmpty || token.Length > _options.MaxTokenLength)
            return Fail(JwtInvalidReason.Malformed);

        int firstDot = token.IndexOf('.');
        if (firstDot <= 0)
            return Fail(JwtInvalidReason.Malformed);
        int secondDot = token[(firstDot + 1)..].IndexOf('.');
        if (secondDot <= 0)
            return Fail(JwtInvalidReason.Malformed);
        secondDot += firstDot + 1;

        ReadOnlySpan<char> headerText = token[..firstDot];
        ReadOnlySpan<char> payloadText = token[(firstDot + 1)..secondDot];
        ReadOnlySpan<char> signatureText = token[(secondDot + 1)..];
        if (signatureText.Contains('.'))
            return Fail(JwtInvalidReason.Malformed);

        // The buffer holds, one after another: the signing input (ASCII), the decoded header, the decoded payload.
        int headerBytes = Base64UrlStrict.DecodedLength(headerText.Length);
        int payloadBytes = Base64UrlStrict.DecodedLength(payloadText.Length);
        if (headerBytes <= 0 || payloadBytes <= 0)
            return Fail(JwtInvalidReason.Malformed);
        int inputLength = secondDot;
        int needed = inputLength + headerBytes + payloadBytes;
        byte[]? rented = null;
        Span<byte> buffer = needed <= StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(needed));
        try
        {
            Span<byte> header = buffer.Slice(inputLength, headerBytes);
            if (!Base64UrlStrict.TryDecode(headerText, header, out _))
                return Fail(JwtInvalidReason.Malformed);
            var headerCheck = CheckHeader(header);
            if (headerCheck != JwtInvalidReason.None)
                return Fail(headerCheck);

            Span<byte> payload = buffer.Slice(inputLength + headerBytes, payloadBytes);
            if (!Base64UrlStrict.TryDecode(payloadText, payload, out _))
                return Fail(JwtInvalidReason.Malformed);

            int signatureBytes = Base64UrlStrict.DecodedLength(signatureText.Length);
            if (signatureBytes <= 0 || signatureBytes > MaxSignatureBytes)
                return Fail(signatureText.IsEmpty ? JwtInvalidReason.BadSignature : JwtInvalidReason.Malformed);
            Span<byte> signature = stackalloc byte[MaxSignatureBytes];
            if (!Base64UrlStrict.TryDecode(signatureText, signature, out signatureBytes))
                return Fail(JwtInvalidReason.Malformed);

            // Header and payload passed the alphabet check, so the signing input is plain ASCII.
            Span<byte> input = buffer[..inputLength];
            Encoding.ASCII.GetBytes(token[..inputLength], input);
            if (!_keys.Current.VerifyData(input, signature[..signatureBytes], HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1))
                return Fail(JwtInvalidReason.BadSignature);

            return ReadClaims(payload);
        }
        finally
        {
            if (rented is not null)
                ArrayPool<byte>.Shared.Return(rented);
        }
    }

    public void Dispose() => _keys.Dispose();

    private static JwtValidationResult Fail(JwtInvalidReason reason) => JwtValidationResult.Failure(reason);

    private static JwtInvalidReason CheckHeader(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                return JwtInvalidReason.Malformed;
            bool sawAlgorithm = false, algorithmOk = false, sawType = false, typeOk = true;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("alg"u8))
                {
                    if (sawAlgorithm)
                        return JwtInvalidReason.Malformed;
                    sawAlgorithm = true;
                    reader.Read();
                    algorithmOk = reader.TokenType == JsonTokenType.String && reader.ValueTextEquals("RS256"u8);
                    reader.Skip();
                }
                else if (reader.ValueTextEquals("typ"u8))
                {
                    if (sawType)
                        return JwtInvalidReason.Malformed;
                    sawType = true;
                    reader.Read();
                    typeOk = reader.TokenType == JsonTokenType.String && IsJwtType(reader.GetString()!);
                    reader.Skip();
                }
                else if (reader.ValueTextEquals("crit"u8))
                {
                    return JwtInvalidReason.UnsupportedHeader;
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
                return JwtInvalidReason.Malformed;
            if (!algorithmOk)
                return JwtInvalidReason.WrongAlgorithm;
            return typeOk ? JwtInvalidReason.None : JwtInvalidReason.WrongType;
        }
        catch (JsonException)
        {
            return JwtInvalidReason.Malformed;
        }
    }

    private static bool IsJwtType(string type) =>
        type.Equals("JWT", StringComparison.OrdinalIgnoreCase) ||
        type.Equals("application/jwt", StringComparison.OrdinalIgnoreCase);

    private JwtValidationResult ReadClaims(ReadOnlySpan<byte> json)
    {
        string? subject = null, issuer = null, tokenId = null;
        List<string>? audiences = null;
        string[] groups = [];
        long? expiresAt = null, notBefore = null, issuedAt = null;
        Dictionary<string, string>? extra = null;
        var seen = Registered.None;

        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                return Fail(JwtInvalidReason.Malformed);
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                Registered name = Classify(ref reader);
                if (name != Registered.None)
                {
                    if ((seen & name) != 0)
                        return Fail(JwtInvalidReason.Malformed);
                    seen |= name;
                }
                string? otherName = name == Registered.None ? reader.GetString() : null;
                reader.Read();
                switch (name)
                {
                    case Registered.Issuer:
                        // Compared in place: the only accepted value is the configured one.
                        if (reader.TokenType != JsonTokenType.String || !reader.ValueTextEquals(_options.Issuer))
                            return Fail(JwtInvalidReason.WrongIssuer);
                        issuer = _options.Issuer;
                        break;
                    case Registered.Subject:
                        if (reader.TokenType != JsonTokenType.String)
                            return Fail(JwtInvalidReason.Malformed);
                        subject = reader.GetString();
                        break;
                    case Registered.TokenId:
                        if (reader.TokenType != JsonTokenType.String)
                            return Fail(JwtInvalidReason.Malformed);
                        tokenId = reader.GetString();
                        break;
                    case Registered.Audience:
                        audiences = ReadStrings(ref reader);
                        if (audiences is null)
                            return Fail(JwtInvalidReason.WrongAudience);
                        break;
                    case Registered.Groups:
                        List<string>? list = ReadStrings(ref reader);
                        if (list is null)
                            return Fail(JwtInvalidReason.Malformed);
                        groups = list.ToArray();
                        break;
                    case Registered.ExpiresAt:
                        if (!TryReadNumericDate(ref reader, out long exp))
                            return Fail(JwtInvalidReason.Malformed);
                        expiresAt = exp;
                        break;
                    case Registered.NotBefore:
                        if (!TryReadNumericDate(ref reader, out long nbf))
                            return Fail(JwtInvalidReason.Malformed);
                        notBefore = nbf;
                        break;
                    case Registered.IssuedAt:
                        if (!TryReadNumericDate(ref reader, out long iat))
                            return Fail(JwtInvalidReason.Malformed);
                        issuedAt = iat;
                        break;
                    default:
                        string? value = reader.TokenType switch
                        {
                            JsonTokenType.String => reader.GetString(),
                            JsonTokenType.Number => Encoding.UTF8.GetString(reader.ValueSpan),
                            _ => null,
                        };
                        if (value is null)
                            reader.Skip();
                        else if (!(extra ??= new Dictionary<string, string>(StringComparer.Ordinal)).TryAdd(otherName!, value))
                            return Fail(JwtInvalidReason.Malformed);
                        break;
                }
            }
            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
                return Fail(JwtInvalidReason.Malformed);
        }
        catch (JsonException)
        {
            return Fail(JwtInvalidReason.Malformed);
        }
        catch (InvalidOperationException)
        {
            // GetString on a malformed escape, ValueSpan of an escaped number, and similar.
            return Fail(JwtInvalidReason.Malformed);
        }

        if (issuer is null)
            return Fail(JwtInvalidReason.WrongIssuer);
        if (audiences is null || !audiences.Contains(_options.Audience, StringComparer.Ordinal))
            return Fail(JwtInvalidReason.WrongAudience);
        if (expiresAt is null)
            return Fail(JwtInvalidReason.MissingClaim);

        long now = _options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds();
        if (now - _skewMilliseconds >= expiresAt.Value * 1000)
            return Fail(JwtInvalidReason.Expired);
        if (notBefore is not null && now + _skewMilliseconds < notBefore.Value * 1000)
            return Fail(JwtInvalidReason.NotYetValid);
        if (string.IsNullOrEmpty(subject))
            return Fail(JwtInvalidReason.MissingClaim);

        return JwtValidationResult.Success(new JwtClaims(
            subject,
            issuer!,
            audiences,
            groups,
            DateTimeOffset.FromUnixTimeSeconds(expiresAt.Value),
            issuedAt is null ? null : DateTimeOffset.FromUnixTimeSeconds(issuedAt.Value),
            notBefore is null ? null : DateTimeOffset.FromUnixTimeSeconds(notBefore.Value),
            tokenId,
            (IReadOnlyDictionary<string, string>?)extra ?? EmptyExtra));
    }

    private static readonly IReadOnlyDictionary<string, string> EmptyExtra = new Dictionary<string, string>();

    [Flags]
    private enum Registered
    {
        None = 0,
        Issuer = 1,
        Audience = 2,
        Subject = 4,
        IssuedAt = 8,
        ExpiresAt = 16,
        NotBefore = 32,
        TokenId = 64,
        Groups = 128,
    }

    private static Registered Classify(ref Utf8JsonReader reader)
    {
        if (reader.ValueTextEquals("iss"u8)) return Registered.Issuer;
        if (reader.ValueTextEquals("aud"u8)) return Registered.Audience;
        if (reader.ValueTextEquals("sub"u8)) return Registered.Subject;
        if (reader.ValueTextEquals("iat"u8)) return Registered.IssuedAt;
        if (reader.ValueTextEquals("exp"u8)) return Registered.ExpiresAt;
        if (reader.ValueTextEquals("nbf"u8)) return Registered.NotBefore;
        if (reader.ValueTextEquals("jti"u8)) return Registered.TokenId;
        if (reader.ValueTextEquals("groups"u8)) return Registered.Groups;
        return Registered.None;
    }

    /// <summary>A string, or an array of strings; null for anything else.</summary>
    private static List<string>? ReadStrings(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.String)
            return [reader.GetString()!];
        if (reader.TokenType != JsonTokenType.StartArray)
            return null;
        var values = new List<string>(1);
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.String)
                return null;
            values.Add(reader.GetString()!);
        }
        return values;
    }

    /// <summary>RFC 7519 NumericDate: seconds since the Unix epoch, possibly fractional (truncated here).</summary>
    private static bool TryReadNumericDate(ref Utf8JsonReader reader, out long seconds)
    {
        const long Limit = 253_402_300_799; // 9999-12-31T23:59:59Z, the DateTimeOffset maximum
        seconds = 0;
        if (reader.TokenType != JsonTokenType.Number)
            return false;
        if (reader.TryGetInt64(out seconds))
            return seconds is >= 0 and <= Limit;
        if (reader.TryGetDouble(out double value) && double.IsFinite(value) && value is >= 0 and <= Limit)
        {
            seconds = (long)Math.Floor(value);
            return true;
        }
        return false;
    }
}
