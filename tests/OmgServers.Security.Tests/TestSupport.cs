using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace OmgServers.Security.Tests;

/// <summary>Keys generated once per test run (RSA generation costs tens of milliseconds).</summary>
internal static class TestKeys
{
    public static readonly RSA Server = RSA.Create(2048);
    public static readonly RSA Other = RSA.Create(2048);
}

/// <summary>Builds tokens by hand, so tests can produce anything an attacker could send.</summary>
internal static class TestTokens
{
    public static string Encode(string json) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(json));

    /// <summary>header.payload.signature with an RS256 signature by <paramref name="key"/>.</summary>
    public static string SignRs256(string headerJson, string payloadJson, RSA key)
    {
        string input = Encode(headerJson) + "." + Encode(payloadJson);
        byte[] signature = key.SignData(Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return input + "." + Base64Url.EncodeToString(signature);
    }

    /// <summary>The classic confusion attack: HS256 keyed with the server's public key PEM.</summary>
    public static string SignHs256WithPublicKey(string payloadJson, RSA publicKey)
    {
        string input = Encode("""{"alg":"HS256","typ":"JWT"}""") + "." + Encode(payloadJson);
        byte[] secret = Encoding.ASCII.GetBytes(publicKey.ExportSubjectPublicKeyInfoPem());
        byte[] mac = HMACSHA256.HashData(secret, Encoding.ASCII.GetBytes(input));
        return input + "." + Base64Url.EncodeToString(mac);
    }

    /// <summary>An unsigned token (<c>alg: none</c>, empty signature).</summary>
    public static string Unsigned(string payloadJson) =>
        Encode("""{"alg":"none","typ":"JWT"}""") + "." + Encode(payloadJson) + ".";

    public static string Payload(
        string iss = "omgservers", string aud = "\"omgservers\"", string sub = "42",
        long? exp = null, string groups = "[\"admin\"]", string extra = "")
    {
        long expires = exp ?? DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds();
        return $$"""{"iss":"{{iss}}","aud":{{aud}},"sub":"{{sub}}","iat":{{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}},"exp":{{expires}},"jti":"t","groups":{{groups}}{{extra}}}""";
    }

    public const string Rs256Header = """{"alg":"RS256","typ":"JWT"}""";
}

/// <summary>A clock the test moves by hand.</summary>
internal sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private long _ticks = start.UtcTicks;

    public DateTimeOffset Now => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    public override DateTimeOffset GetUtcNow() => Now;

    public void Set(DateTimeOffset value) => Interlocked.Exchange(ref _ticks, value.UtcTicks);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}

/// <summary>A clock whose every reading comes from a function (to script what successive reads return).</summary>
internal sealed class FuncClock(Func<DateTimeOffset> read) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => read();
}
