using System.Runtime.InteropServices;

namespace OmgServers.Security;

/// <summary>
/// The two libxcrypt entry points bcrypt needs (<c>crypt.h</c> of libxcrypt 4.x, Debian package <c>libcrypt1</c>).
/// Both are reentrant: every call brings its own buffers, so no lock is needed.
/// </summary>
internal static unsafe partial class LibXcrypt
{
    private const string Library = "libcrypt.so.1";

    /// <summary><c>sizeof(struct crypt_data)</c>: the size <c>crypt_rn</c> needs for its work area.</summary>
    public const int CryptDataSize = 32768;

    /// <summary><c>CRYPT_OUTPUT_SIZE</c>: longest string <c>crypt_rn</c> returns, counting the terminating NUL.</summary>
    public const int OutputSize = 384;

    /// <summary><c>CRYPT_GENSALT_OUTPUT_SIZE</c>: the smallest output buffer <c>crypt_gensalt_rn</c> accepts.</summary>
    public const int GensaltOutputSize = 192;

    /// <summary><c>CRYPT_MAX_PASSPHRASE_SIZE</c>: longest phrase, counting the terminating NUL.</summary>
    public const int MaxPassphraseSize = 512;

    /// <summary>
    /// <c>char *crypt_rn(const char *phrase, const char *setting, void *data, int size)</c>:
    /// returns a pointer into <paramref name="data"/>, or null on failure (never the "*0" string).
    /// </summary>
    [LibraryImport(Library, EntryPoint = "crypt_rn")]
    public static partial byte* CryptRn(byte* phrase, byte* setting, void* data, int size);

    /// <summary>
    /// <c>char *crypt_gensalt_rn(const char *prefix, unsigned long count, const char *rbytes, int nrbytes,
    /// char *output, int output_size)</c>: returns <paramref name="output"/>, or null on failure.
    /// </summary>
    [LibraryImport(Library, EntryPoint = "crypt_gensalt_rn")]
    public static partial byte* CryptGensaltRn(
        byte* prefix, CULong count, byte* rbytes, int nrbytes, byte* output, int outputSize);
}
