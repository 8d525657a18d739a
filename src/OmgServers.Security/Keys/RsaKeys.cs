using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace OmgServers.Security;

/// <summary>
/// Loads the server's RSA keys from configuration values and keeps a generated pair for the embedded default.
/// </summary>
/// <remarks>
/// A configuration value is either <c>file:&lt;path&gt;</c> (upstream's <c>OMGSERVERS_SERVER_PUBLIC_KEY</c> /
/// <c>OMGSERVERS_SERVER_PRIVATE_KEY</c> default to <c>file:/jwt_issuer/public_key.pem</c>; <c>file:///path</c>
/// works too) or the PEM text itself. Accepted PEM labels: <c>PUBLIC KEY</c> (SubjectPublicKeyInfo),
/// <c>RSA PUBLIC KEY</c>, <c>PRIVATE KEY</c> (PKCS#8) and <c>RSA PRIVATE KEY</c> (PKCS#1). Encrypted keys are not
/// supported. Keys below 2048 bits are refused.
/// </remarks>
public static class RsaKeys
{
    public const int MinKeySizeBits = 2048;

    /// <summary>Size of the pair <see cref="LoadOrCreate"/> generates.</summary>
    public const int GeneratedKeySizeBits = 2048;

    public const string KeyDirectoryName = "jwt";
    public const string PublicKeyFileName = "public_key.pem";
    public const string PrivateKeyFileName = "private_key.pem";

    private const UnixFileMode PrivateFileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode PublicFileMode = PrivateFileMode | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
    private const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>Loads a public key (a private key is accepted too) from <c>file:&lt;path&gt;</c> or inline PEM.</summary>
    /// <exception cref="ArgumentException">The value is neither form, or holds no usable RSA key.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static RSA LoadPublicKey(string value) => LoadValue(value, "public");

    /// <summary>Loads a private key from <c>file:&lt;path&gt;</c> or inline PEM.</summary>
    /// <exception cref="ArgumentException">The value is neither form, or holds no RSA private key.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static RSA LoadPrivateKey(string value)
    {
        var rsa = LoadValue(value, "private");
        if (!HasPrivateKey(rsa))
        {
            rsa.Dispose();
            throw new ArgumentException("The configured private key holds only a public key.", nameof(value));
        }
        return rsa;
    }

    /// <summary>
    /// Loads both configured keys and checks that they belong together (same modulus and exponent).
    /// </summary>
    public static RsaKeyPair Load(string publicKeyValue, string privateKeyValue)
    {
        RSA privateKey = LoadPrivateKey(privateKeyValue);
        try
        {
            using RSA publicKey = LoadPublicKey(publicKeyValue);
            if (!SamePublicKey(publicKey, privateKey))
                throw new ArgumentException("The configured public key does not match the configured private key.", nameof(publicKeyValue));
            return new RsaKeyPair(privateKey, created: false);
        }
        catch
        {
            privateKey.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Returns the pair kept in <c>&lt;directory&gt;/jwt/</c> (<c>public_key.pem</c>, <c>private_key.pem</c>),
    /// generating a 2048-bit pair on first use. The private key file is created with mode 0600 and the folder
    /// with 0700. Files appear atomically (written aside, then hard-linked into place, which fails if the name
    /// exists), so concurrent callers, threads or processes, end up sharing the first pair written. A public key file that does not match the private key is an error,
    /// never silently replaced.
    /// </summary>
    /// <exception cref="InvalidOperationException">The folder holds a public key without its private key, or two keys that do not match.</exception>
    public static RsaKeyPair LoadOrCreate(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        string folder = Path.Combine(directory, KeyDirectoryName);
        string privatePath = Path.Combine(folder, PrivateKeyFileName);
        string publicPath = Path.Combine(folder, PublicKeyFileName);
        CreateDirectory(folder);

        bool created = false;
        RSA? privateKey = null;
        try
        {
            if (!File.Exists(privatePath))
            {
                if (File.Exists(publicPath))
                    throw new InvalidOperationException($"'{publicPath}' exists without '{PrivateKeyFileName}'; restore the private key or remove both files.");
                using var generated = RSA.Create(GeneratedKeySizeBits);
                created = TryPublish(privatePath, generated.ExportPkcs8PrivateKeyPem(), PrivateFileMode);
            }
            privateKey = LoadPemFile(privatePath, "private");
            if (!HasPrivateKey(privateKey))
                throw new InvalidOperationException($"'{privatePath}' holds no private key.");

            if (!File.Exists(publicPath))
                TryPublish(publicPath, privateKey.ExportSubjectPublicKeyInfoPem(), PublicFileMode);
            using (RSA publicKey = LoadPemFile(publicPath, "public"))
            {
                if (!SamePublicKey(publicKey, privateKey))
                    throw new InvalidOperationException($"'{publicPath}' does not match '{privatePath}'.");
            }
            return new RsaKeyPair(privateKey, created, publicPath, privatePath);
        }
        catch
        {
            privateKey?.Dispose();
            throw;
        }
    }

    /// <summary>True when both keys have the same modulus and public exponent.</summary>
    public static bool SamePublicKey(RSA a, RSA b)
    {
        RSAParameters x = a.ExportParameters(false), y = b.ExportParameters(false);
        return x.Modulus.AsSpan().SequenceEqual(y.Modulus) && x.Exponent.AsSpan().SequenceEqual(y.Exponent);
    }

    internal static bool HasPrivateKey(RSA rsa)
    {
        try
        {
            rsa.ExportParameters(includePrivateParameters: true);
            return true;
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    private static RSA LoadValue(string value, string what)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(value);
        string trimmed = value.Trim();
        if (trimmed.StartsWith("file:", StringComparison.OrdinalIgnoreCase))
            return LoadPemFile(FilePath(trimmed), what);
        if (trimmed.Contains("-----BEGIN", StringComparison.Ordinal))
            return FromPem(trimmed, what, "the configured value");
        throw new ArgumentException($"An RSA {what} key setting must be 'file:<path>' or PEM text beginning with '-----BEGIN'.", nameof(value));
    }

    private static string FilePath(string value)
    {
        // "file:///x/y.pem" is a URI; "file:/x/y.pem" (upstream's form) and "file:relative.pem" are plain paths.
        if (value.StartsWith("file://", StringComparison.OrdinalIgnoreCase))
            return new Uri(value).LocalPath;
        string path = value["file:".Length..];
        if (path.Length == 0)
            throw new ArgumentException("'file:' needs a path.", nameof(value));
        return path;
    }

    private static RSA LoadPemFile(string path, string what) => FromPem(File.ReadAllText(path), what, $"'{path}'");

    private static RSA FromPem(string pem, string what, string source)
    {
        var rsa = RSA.Create();
        try
        {
            rsa.ImportFromPem(pem);
        }
        catch (ArgumentException e)
        {
            rsa.Dispose();
            throw new ArgumentException($"{source} holds no unencrypted RSA {what} key in PEM form: {e.Message}", e);
        }
        catch (CryptographicException e)
        {
            rsa.Dispose();
            throw new ArgumentException($"{source} holds no readable RSA {what} key: {e.Message}", e);
        }
        if (rsa.KeySize < MinKeySizeBits)
        {
            int size = rsa.KeySize;
            rsa.Dispose();
            throw new ArgumentException($"{source} holds a {size}-bit RSA key; at least {MinKeySizeBits} bits are required.");
        }
        return rsa;
    }

    private static void CreateDirectory(string folder)
    {
        if (OperatingSystem.IsWindows())
            Directory.CreateDirectory(folder);
        else
            Directory.CreateDirectory(folder, DirectoryMode);
    }

    /// <summary>
    /// Gives <paramref name="temporary"/> the name <paramref name="path"/> unless that name exists, atomically
    /// (hard link on Unix). False when another caller published first; its file is the one everybody uses.
    /// </summary>
    private static bool PublishNoReplace(string temporary, string path)
    {
        if (!OperatingSystem.IsWindows())
        {
            if (LibC.Link(temporary, path) == 0)
                return true;
            int errno = Marshal.GetLastPInvokeError();
            if (errno == LibC.EEXIST)
                return false;
            // A file system without hard links (EPERM, ENOTSUP, ...): fall back to a checked move below.
        }
        try
        {
            File.Move(temporary, path, overwrite: false);
            return true;
        }
        catch (IOException) when (File.Exists(path))
        {
            return false;
        }
    }

    /// <summary>
    /// Writes <paramref name="content"/> to a new temporary file with <paramref name="mode"/> and moves it to
    /// <paramref name="path"/> unless that exists by then. True when this call's file won.
    /// </summary>
    private static bool TryPublish(string path, string content, UnixFileMode mode)
    {
        string temporary = $"{path}.{Guid.NewGuid():N}.tmp";
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = mode;
        try
        {
            using (var stream = new FileStream(temporary, options))
            using (var writer = new StreamWriter(stream))
            {
                writer.Write(content);
                writer.Flush();
                stream.Flush(flushToDisk: true);
            }
            return PublishNoReplace(temporary, path);
        }
        finally
        {
            File.Delete(temporary);
        }
    }
}

/// <summary>An RSA private key with its public half; owns the key.</summary>
public sealed class RsaKeyPair : IDisposable
{
    internal RsaKeyPair(RSA privateKey, bool created, string? publicKeyPath = null, string? privateKeyPath = null)
    {
        PrivateKey = privateKey;
        PublicKey = RSA.Create();
        PublicKey.ImportSubjectPublicKeyInfo(privateKey.ExportSubjectPublicKeyInfo(), out _);
        Created = created;
        PublicKeyPath = publicKeyPath;
        PrivateKeyPath = privateKeyPath;
    }

    /// <summary>For <see cref="JwtIssuer"/>.</summary>
    public RSA PrivateKey { get; }

    /// <summary>For <see cref="JwtValidator"/>; holds no private part.</summary>
    public RSA PublicKey { get; }

    /// <summary>True when <see cref="RsaKeys.LoadOrCreate"/> generated the pair during this call.</summary>
    public bool Created { get; }

    /// <summary>Where the public key lives, when it came from <see cref="RsaKeys.LoadOrCreate"/>.</summary>
    public string? PublicKeyPath { get; }

    /// <summary>Where the private key lives, when it came from <see cref="RsaKeys.LoadOrCreate"/>.</summary>
    public string? PrivateKeyPath { get; }

    /// <summary>The public key as a <c>PUBLIC KEY</c> PEM (what other servers and the dispatcher need).</summary>
    public string PublicKeyPem => PublicKey.ExportSubjectPublicKeyInfoPem();

    public void Dispose()
    {
        PrivateKey.Dispose();
        PublicKey.Dispose();
    }
}
