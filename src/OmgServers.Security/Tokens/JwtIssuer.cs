using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;

namespace OmgServers.Security;

/// <summary>
/// Issues RS256 JWTs (RSASSA-PKCS1-v1_5 with SHA-256) shaped like upstream's SmallRye tokens (contract 3.1):
/// header <c>{"alg":"RS256","typ":"JWT"}</c>; claims <c>iss</c>, <c>aud</c>, <c>sub</c>, <c>iat</c>, <c>exp</c>,
/// <c>jti</c>, <c>groups</c>, plus the token kind's extra claims. Thread-safe; every thread signs with its own
/// <see cref="RSA"/> instance.
/// </summary>
public sealed class JwtIssuer : IDisposable
{
    /// <summary>Upstream default of <c>OMGSERVERS_SERVER_JWT_ISSUER</c>; also the audience of the service's own tokens.</summary>
    public const string DefaultIssuer = "omgservers";

    private static readonly string DefaultHeader = Base64Url.EncodeToString("""{"alg":"RS256","typ":"JWT"}"""u8);

    private readonly PerThreadRsa _keys;
    private readonly TimeProvider _time;

    /// <param name="privateKey">An RSA private key of at least 2048 bits; its material is copied, the caller keeps ownership.</param>
    /// <param name="issuer"><c>iss</c>, and the default <c>aud</c>.</param>
    /// <param name="timeProvider">Clock for <c>iat</c>/<c>exp</c>; the system clock when null.</param>
    public JwtIssuer(RSA privateKey, string issuer = DefaultIssuer, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(privateKey);
        ArgumentException.ThrowIfNullOrEmpty(issuer);
        if (privateKey.KeySize < RsaKeys.MinKeySizeBits)
            throw new ArgumentException($"RS256 signing needs an RSA key of at least {RsaKeys.MinKeySizeBits} bits.", nameof(privateKey));
        _keys = PerThreadRsa.ForPrivateKey(privateKey);
        Issuer = issuer;
        _time = timeProvider ?? TimeProvider.System;
    }

    public string Issuer { get; }

    /// <summary>A token for <paramref name="subject"/> with <c>groups = [role]</c> and optional extra string claims.</summary>
    public string Issue(string subject, string role, TimeSpan lifetime, IReadOnlyDictionary<string, string>? claims = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(role);
        return Issue(new JwtTokenDescriptor { Subject = subject, Lifetime = lifetime, Groups = [role], Claims = claims });
    }

    /// <summary>A token as described by <paramref name="descriptor"/>.</summary>
    /// <exception cref="ArgumentException">An extra claim reuses a registered name, or the lifetime is not positive.</exception>
    public string Issue(JwtTokenDescriptor descriptor)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        ArgumentException.ThrowIfNullOrEmpty(descriptor.Subject);
        if (descriptor.Lifetime <= TimeSpan.Zero)
            throw new ArgumentException("A token lifetime must be positive.", nameof(descriptor));

        long issuedAt = _time.GetUtcNow().ToUnixTimeSeconds();
        long expiresAt = checked(issuedAt + (long)descriptor.Lifetime.TotalSeconds);

        var buffer = new ArrayBufferWriter<byte>(512);
        string header = DefaultHeader;
        if (descriptor.X5c is { Count: > 0 } || descriptor.KeyId is not null)
        {
            using (var writer = new Utf8JsonWriter(buffer))
            {
                writer.WriteStartObject();
                writer.WriteString("alg"u8, "RS256"u8);
                writer.WriteString("typ"u8, "JWT"u8);
                if (descriptor.KeyId is not null)
                    writer.WriteString("kid"u8, descriptor.KeyId);
                if (descriptor.X5c is { Count: > 0 } chain)
                {
                    writer.WriteStartArray("x5c"u8);
                    foreach (string certificate in chain)
                        writer.WriteStringValue(certificate);
                    writer.WriteEndArray();
                }
                writer.WriteEndObject();
            }
            header = Base64Url.EncodeToString(buffer.WrittenSpan);
            buffer.ResetWrittenCount();
        }

        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("iss"u8, Issuer);
            writer.WriteString("aud"u8, descriptor.Audience ?? Issuer);
            writer.WriteString("sub"u8, descriptor.Subject);
            writer.WriteNumber("iat"u8, issuedAt);
            writer.WriteNumber("exp"u8, expiresAt);
            writer.WriteString("jti"u8, Guid.NewGuid().ToString());
            if (descriptor.Groups.Count > 0)
            {
                writer.WriteStartArray("groups"u8);
                foreach (string group in descriptor.Groups)
                    writer.WriteStringValue(group);
                writer.WriteEndArray();
            }
            if (descriptor.Claims is not null)
            {
                foreach (var (name, value) in descriptor.Claims)
                {
                    EnsureExtraName(name);
                    writer.WriteString(name, value);
                }
            }
            if (descriptor.JsonClaims is not null)
            {
                foreach (var (name, value) in descriptor.JsonClaims)
                {
                    EnsureExtraName(name);
                    if (descriptor.Claims?.ContainsKey(name) == true)
                        throw new ArgumentException($"Claim '{name}' is given twice.", nameof(descriptor));
                    writer.WritePropertyName(name);
                    value.WriteTo(writer);
                }
            }
            writer.WriteEndObject();
        }
        string payload = Base64Url.EncodeToString(buffer.WrittenSpan);
        return Sign(header, payload);
    }

    /// <summary>User token: <c>sub</c> = <c>user_id</c> = the user id, <c>groups</c> = [the user's role], 3600 s.</summary>
    public string IssueUserToken(long userId, string role)
    {
        string id = userId.ToString(CultureInfo.InvariantCulture);
        return Issue(id, role, OmgTokenLifetimes.Default, new Dictionary<string, string> { [OmgClaimNames.UserId] = id });
    }

    /// <summary>Runtime API token (<c>api_token</c>): <c>sub</c> = <c>runtime_id</c> = the runtime id, <c>groups</c> = [runtime].</summary>
    public string IssueRuntimeApiToken(long runtimeId)
    {
        string id = runtimeId.ToString(CultureInfo.InvariantCulture);
        return Issue(id, OmgRoles.Runtime, OmgTokenLifetimes.Default,
            new Dictionary<string, string> { [OmgClaimNames.RuntimeId] = id });
    }

    /// <summary>Runtime WebSocket token (<c>ws_token</c>): <c>sub</c> = the runtime's user id, <c>user_role</c> = runtime.</summary>
    public string IssueRuntimeWsToken(long runtimeUserId, long runtimeId) =>
        Issue(runtimeUserId.ToString(CultureInfo.InvariantCulture), OmgRoles.WebSocket, OmgTokenLifetimes.Default,
            new Dictionary<string, string>
            {
                [OmgClaimNames.RuntimeId] = runtimeId.ToString(CultureInfo.InvariantCulture),
                [OmgClaimNames.UserRole] = OmgRoles.Runtime,
            });

    /// <summary>Player WebSocket token (<c>CONNECTION_UPGRADE_MESSAGE</c>): <c>sub</c> = the client id, <c>user_role</c> = player.</summary>
    public string IssuePlayerWsToken(long clientId, long runtimeId) =>
        Issue(clientId.ToString(CultureInfo.InvariantCulture), OmgRoles.WebSocket, OmgTokenLifetimes.Default,
            new Dictionary<string, string>
            {
                [OmgClaimNames.RuntimeId] = runtimeId.ToString(CultureInfo.InvariantCulture),
                [OmgClaimNames.UserRole] = OmgRoles.Player,
            });

    /// <summary>Service token for shard calls: <c>sub</c> = the host part of the server URI, <c>groups</c> = [service], 1 year.</summary>
    public string IssueServiceToken(string serverHost) =>
        Issue(serverHost, OmgRoles.Service, OmgTokenLifetimes.Service);

    public void Dispose() => _keys.Dispose();

    private static void EnsureExtraName(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (OmgClaimNames.IsRegistered(name))
            throw new ArgumentException($"Claim '{name}' is written by the issuer and cannot be given as an extra claim.", nameof(name));
    }

    private string Sign(string header, string payload)
    {
        int inputLength = header.Length + 1 + payload.Length;
        byte[] rented = ArrayPool<byte>.Shared.Rent(inputLength);
        try
        {
            Span<byte> input = rented.AsSpan(0, inputLength);
            System.Text.Encoding.ASCII.GetBytes(header, input);
            input[header.Length] = (byte)'.';
            System.Text.Encoding.ASCII.GetBytes(payload, input[(header.Length + 1)..]);

            RSA rsa = _keys.Current;
            int size = (rsa.KeySize + 7) / 8;
            Span<byte> signature = size <= 512 ? stackalloc byte[512] : new byte[size];
            if (!rsa.TrySignData(input, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1, out int length))
                throw new CryptographicException("RS256 signing failed.");
            return string.Concat(header, ".", payload, ".", Base64Url.EncodeToString(signature[..length]));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
