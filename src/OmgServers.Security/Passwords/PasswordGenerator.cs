using System.Security.Cryptography;

namespace OmgServers.Security;

/// <summary>Passwords the server makes for players, developers and runtimes (contract 3.3).</summary>
public static class PasswordGenerator
{
    /// <summary>Random bytes per generated password (192 bits).</summary>
    public const int RandomBytes = 24;

    /// <summary>Length of a generated password: standard Base64 of 24 bytes (no padding is needed at this size).</summary>
    public const int Length = 32;

    /// <summary>24 bytes from the OS CSPRNG as standard Base64 (32 characters, may contain <c>+</c> and <c>/</c>).</summary>
    public static string Generate()
    {
        Span<byte> bytes = stackalloc byte[RandomBytes];
        RandomNumberGenerator.Fill(bytes);
        string password = Convert.ToBase64String(bytes);
        CryptographicOperations.ZeroMemory(bytes);
        return password;
    }
}
