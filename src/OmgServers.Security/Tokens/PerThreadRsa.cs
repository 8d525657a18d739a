using System.Security.Cryptography;

namespace OmgServers.Security;

/// <summary>
/// One <see cref="RSA"/> object per thread for the same key. The BCL documents RSA instance members as not
/// guaranteed thread-safe; an instance per thread costs one key import per thread and no locking afterwards.
/// Values are not tracked (<c>trackAllValues: false</c>): an instance whose thread exits becomes garbage and its
/// native key handle is released by its finalizer, so thread-pool churn cannot accumulate instances.
/// </summary>
internal sealed class PerThreadRsa : IDisposable
{
    private readonly ThreadLocal<RSA> _instances;
    private readonly byte[] _key;

    private PerThreadRsa(byte[] key, Action<RSA, byte[]> import)
    {
        _key = key;
        _instances = new ThreadLocal<RSA>(() =>
        {
            var rsa = RSA.Create();
            import(rsa, _key);
            return rsa;
        }, trackAllValues: false);
    }

    /// <summary>Public-key instances (for verification) made from <paramref name="key"/>'s SubjectPublicKeyInfo.</summary>
    public static PerThreadRsa ForPublicKey(RSA key) =>
        new(key.ExportSubjectPublicKeyInfo(), static (rsa, spki) => rsa.ImportSubjectPublicKeyInfo(spki, out _));

    /// <summary>Private-key instances (for signing) made from <paramref name="key"/>'s PKCS#8 export.</summary>
    public static PerThreadRsa ForPrivateKey(RSA key) =>
        new(key.ExportPkcs8PrivateKey(), static (rsa, pkcs8) => rsa.ImportPkcs8PrivateKey(pkcs8, out _));

    public RSA Current => _instances.Value!;

    public int KeySizeBits => Current.KeySize;

    public void Dispose()
    {
        _instances.Dispose();
        CryptographicOperations.ZeroMemory(_key);
    }
}
