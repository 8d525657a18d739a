using System.Buffers;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace OmgServers.Security;

/// <summary>
/// bcrypt in Modular Crypt Format, computed by the system's libxcrypt (<c>libcrypt.so.1</c>).
/// </summary>
/// <remarks>
/// <para>Upstream stores <c>$2a$10$...</c> (contract 3.3, Quarkus/Elytron <c>BcryptUtil</c>). <see cref="Verify"/>
/// accepts <c>$2a$</c>, <c>$2b$</c> and <c>$2y$</c>; for passwords shorter than 255 bytes the three variants
/// compute the same digest, so an upstream database imports unchanged. <see cref="Hash"/> writes <c>$2b$</c>, the
/// current OpenBSD name. <c>$2x$</c> (the deliberately broken pre-2011 crypt_blowfish variant) is refused.</para>
/// <para><b>Long passwords.</b> bcrypt only keys on the first 72 bytes of the UTF-8 encoding (the terminating NUL
/// counts when the password is shorter). Both methods therefore cut the UTF-8 bytes at 72, which is exactly what
/// bcrypt would do with the full string, and so a 100-byte password verifies against any other password that shares
/// its first 72 bytes. The contract caps password fields at 64 characters, but 64 non-ASCII characters can exceed
/// 72 bytes. Cutting first also keeps every input under libxcrypt's 512-byte phrase limit.</para>
/// <para><b>NUL characters.</b> A C string cannot hold U+0000, so <see cref="Hash"/> refuses such a password and
/// <see cref="Verify"/> returns false for it.</para>
/// <para>One verify at cost 10 takes about 45 ms of one core (baselines 3): call it off any actor mailbox.</para>
/// </remarks>
public static unsafe class Bcrypt
{
    public const int DefaultCost = 10;
    public const int MinCost = 4;
    public const int MaxCost = 31;

    /// <summary>bcrypt keys on at most this many password bytes.</summary>
    public const int MaxPasswordBytes = 72;

    /// <summary>Length of every bcrypt MCF string: <c>$2b$10$</c> + 22 salt + 31 digest characters.</summary>
    public const int HashLength = 60;

    private const int SaltBytes = 16;

    /// <summary>Hashes <paramref name="password"/> with a fresh random salt; returns <c>$2b$&lt;cost&gt;$...</c>.</summary>
    /// <exception cref="ArgumentException">The password contains a NUL character.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="cost"/> is outside 4..31.</exception>
    /// <exception cref="CryptographicException">libxcrypt refused the request (not expected).</exception>
    public static string Hash(string password, int cost = DefaultCost)
    {
        ArgumentNullException.ThrowIfNull(password);
        ArgumentOutOfRangeException.ThrowIfLessThan(cost, MinCost);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(cost, MaxCost);
        if (password.Contains('\0'))
            throw new ArgumentException("A bcrypt password cannot contain a NUL character.", nameof(password));

        Span<byte> random = stackalloc byte[SaltBytes];
        RandomNumberGenerator.Fill(random);
        Span<byte> setting = stackalloc byte[LibXcrypt.GensaltOutputSize];
        byte* generated;
        fixed (byte* prefix = "$2b$\0"u8)
        fixed (byte* rbytes = random)
        fixed (byte* output = setting)
        {
            generated = LibXcrypt.CryptGensaltRn(
                prefix, new CULong((nuint)cost), rbytes, SaltBytes, output, LibXcrypt.GensaltOutputSize);
        }
        CryptographicOperations.ZeroMemory(random);
        if (generated == null)
            throw new CryptographicException("libxcrypt crypt_gensalt_rn refused to make a bcrypt setting.");

        Span<byte> result = stackalloc byte[HashLength + 1];
        int written = Crypt(password, setting, result);
        if (written != HashLength)
            throw new CryptographicException("libxcrypt crypt_rn failed to compute a bcrypt hash.");
        return Encoding.ASCII.GetString(result[..written]);
    }

    /// <summary>
    /// True when <paramref name="password"/> matches <paramref name="hash"/> (<c>$2a$</c>, <c>$2b$</c> or
    /// <c>$2y$</c>). False, never an exception, for a malformed or unsupported hash. The final comparison is
    /// constant-time.
    /// </summary>
    public static bool Verify(string password, string hash)
    {
        ArgumentNullException.ThrowIfNull(password);
        if (hash is null || !IsWellFormed(hash) || password.Contains('\0'))
            return false;

        Span<byte> expected = stackalloc byte[HashLength];
        Span<byte> setting = stackalloc byte[HashLength + 1];
        Encoding.ASCII.GetBytes(hash, expected);
        expected.CopyTo(setting);
        setting[HashLength] = 0;

        Span<byte> actual = stackalloc byte[LibXcrypt.OutputSize];
        int written = Crypt(password, setting, actual);
        return written == HashLength && CryptographicOperations.FixedTimeEquals(actual[..written], expected);
    }

    /// <summary>True when <paramref name="value"/> has the shape of a bcrypt hash this class verifies.</summary>
    public static bool IsWellFormed(string? value)
    {
        if (value is null || value.Length != HashLength)
            return false;
        if (value[0] != '$' || value[1] != '2' || value[2] is not ('a' or 'b' or 'y') || value[3] != '$' || value[6] != '$')
            return false;
        if (!char.IsAsciiDigit(value[4]) || !char.IsAsciiDigit(value[5]))
            return false;
        int cost = (value[4] - '0') * 10 + (value[5] - '0');
        if (cost is < MinCost or > MaxCost)
            return false;
        foreach (char c in value.AsSpan(7))
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '.' || c == '/'))
                return false;
        }
        return true;
    }

    /// <summary>
    /// Runs <c>crypt_rn</c> on the first 72 UTF-8 bytes of <paramref name="password"/> with the NUL-terminated
    /// <paramref name="settingZ"/>; copies the result into <paramref name="output"/> and returns its length,
    /// or -1 on failure.
    /// </summary>
    private static int Crypt(string password, ReadOnlySpan<byte> settingZ, Span<byte> output)
    {
        Span<byte> phrase = stackalloc byte[MaxPasswordBytes + 1];
        int length = TruncatedUtf8(password, phrase[..MaxPasswordBytes]);
        phrase[length] = 0;

        void* data = NativeMemory.AllocZeroed(LibXcrypt.CryptDataSize);
        try
        {
            byte* result;
            fixed (byte* pPhrase = phrase)
            fixed (byte* pSetting = settingZ)
            {
                result = LibXcrypt.CryptRn(pPhrase, pSetting, data, LibXcrypt.CryptDataSize);
            }
            if (result == null)
                return -1;
            var produced = MemoryMarshal.CreateReadOnlySpanFromNullTerminated(result);
            if (produced.Length > output.Length)
                return -1;
            produced.CopyTo(output);
            return produced.Length;
        }
        finally
        {
            // The work area holds the output and key schedule copies; libxcrypt erases its scratch part only.
            NativeMemory.Clear(data, LibXcrypt.CryptDataSize);
            NativeMemory.Free(data);
            CryptographicOperations.ZeroMemory(phrase);
        }
    }

    /// <summary>Writes the first <c>destination.Length</c> bytes of the UTF-8 encoding of <paramref name="value"/>.</summary>
    private static int TruncatedUtf8(string value, Span<byte> destination)
    {
        int total = Encoding.UTF8.GetByteCount(value);
        if (total <= destination.Length)
            return Encoding.UTF8.GetBytes(value, destination);

        byte[] rented = ArrayPool<byte>.Shared.Rent(total);
        try
        {
            Encoding.UTF8.GetBytes(value, rented);
            rented.AsSpan(0, destination.Length).CopyTo(destination);
            return destination.Length;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(rented.AsSpan(0, total));
            ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
