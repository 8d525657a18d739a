using System.Buffers;
using System.Security.Cryptography;
using System.Text;

namespace OmgServers.Security;

/// <summary>
/// Stored password hashes of two kinds, told apart by their prefix.
/// </summary>
/// <remarks>
/// <para><b>Chosen passwords</b> (bootstrap users from configuration, anything a human picked) are bcrypt cost 10,
/// the upstream format (contract 3.3), about 45 ms per verify.</para>
/// <para><b>Generated passwords</b> (players, developers, runtimes: <see cref="PasswordGenerator"/>, 192 random bits)
/// cannot be guessed, so a slow hash buys nothing against an offline attack and costs 45 ms of CPU on every
/// <c>create-token</c>. They are stored as <c>$omgs1$&lt;base64 salt&gt;$&lt;base64 HMAC-SHA-256(key: salt,
/// message: UTF-8 password)&gt;</c> with a 16-byte random salt, which verifies in well under a microsecond.</para>
/// <para><see cref="Verify"/> reads either kind, so rows written by upstream (<c>$2a$10$</c>) keep working.</para>
/// </remarks>
public static class PasswordHashing
{
    /// <summary>Prefix of the fast format; the digit is the format version.</summary>
    public const string FastPrefix = "$omgs1$";

    private const int SaltBytes = 16;
    private const int MacBytes = 32;
    private const int SaltChars = 24; // base64 of 16 bytes, with "==" padding
    private const int MacChars = 44;  // base64 of 32 bytes, with "=" padding

    /// <summary>Length of every <see cref="HashGenerated"/> result.</summary>
    public const int FastHashLength = 7 + SaltChars + 1 + MacChars;

    /// <summary>Salted HMAC-SHA-256 for a server-generated password: <c>$omgs1$&lt;salt&gt;$&lt;mac&gt;</c>.</summary>
    public static string HashGenerated(string password)
    {
        ArgumentNullException.ThrowIfNull(password);
        Span<byte> salt = stackalloc byte[SaltBytes];
        RandomNumberGenerator.Fill(salt);
        Span<byte> mac = stackalloc byte[MacBytes];
        ComputeMac(password, salt, mac);
        string result = string.Concat(FastPrefix, Convert.ToBase64String(salt), "$", Convert.ToBase64String(mac));
        CryptographicOperations.ZeroMemory(mac);
        return result;
    }

    /// <summary>bcrypt cost 10 for a password a person chose (<c>$2b$10$...</c>).</summary>
    public static string HashChosen(string password) => Bcrypt.Hash(password, Bcrypt.DefaultCost);

    /// <summary>
    /// True when <paramref name="password"/> matches <paramref name="stored"/>, whichever kind it is. An unknown or
    /// malformed stored value gives false. Comparisons are constant-time. A bcrypt value takes ~45 ms.
    /// </summary>
    public static bool Verify(string password, string stored)
    {
        ArgumentNullException.ThrowIfNull(password);
        if (string.IsNullOrEmpty(stored))
            return false;
        if (stored.StartsWith(FastPrefix, StringComparison.Ordinal))
            return VerifyFast(password, stored);
        if (stored.StartsWith("$2", StringComparison.Ordinal))
            return Bcrypt.Verify(password, stored);
        return false;
    }

    /// <summary>True when <paramref name="stored"/> is in the fast format (a hash of a generated password).</summary>
    public static bool IsFastHash(string? stored) => stored is not null && stored.StartsWith(FastPrefix, StringComparison.Ordinal);

    private static bool VerifyFast(string password, string stored)
    {
        if (stored.Length != FastHashLength || stored[FastPrefix.Length + SaltChars] != '$')
            return false;
        Span<byte> salt = stackalloc byte[SaltBytes + 2];
        Span<byte> expected = stackalloc byte[MacBytes + 2];
        if (!Convert.TryFromBase64Chars(stored.AsSpan(FastPrefix.Length, SaltChars), salt, out int saltLength) || saltLength != SaltBytes)
            return false;
        if (!Convert.TryFromBase64Chars(stored.AsSpan(FastPrefix.Length + SaltChars + 1), expected, out int macLength) || macLength != MacBytes)
            return false;

        Span<byte> actual = stackalloc byte[MacBytes];
        ComputeMac(password, salt[..SaltBytes], actual);
        bool equal = CryptographicOperations.FixedTimeEquals(actual, expected[..MacBytes]);
        CryptographicOperations.ZeroMemory(actual);
        return equal;
    }

    private static void ComputeMac(string password, ReadOnlySpan<byte> salt, Span<byte> mac)
    {
        int count = Encoding.UTF8.GetByteCount(password);
        byte[]? rented = null;
        Span<byte> bytes = count <= 256 ? stackalloc byte[256] : (rented = ArrayPool<byte>.Shared.Rent(count));
        try
        {
            int written = Encoding.UTF8.GetBytes(password, bytes);
            HMACSHA256.HashData(salt, bytes[..written], mac);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes[..count]);
            if (rented is not null)
                ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
