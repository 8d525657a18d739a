using System.Security.Cryptography;

namespace OmgServers.Security.Tests;

public sealed class RsaKeysTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("omgs-keys-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void LoadOrCreate_generates_a_pair_once_and_reuses_it()
    {
        using var first = RsaKeys.LoadOrCreate(_directory);
        using var second = RsaKeys.LoadOrCreate(_directory);

        first.Created.Should().BeTrue();
        second.Created.Should().BeFalse();
        first.PrivateKey.KeySize.Should().Be(2048);
        first.PublicKeyPath.Should().Be(Path.Combine(_directory, "jwt", "public_key.pem"));
        first.PrivateKeyPath.Should().Be(Path.Combine(_directory, "jwt", "private_key.pem"));
        File.ReadAllText(first.PublicKeyPath!).Should().StartWith("-----BEGIN PUBLIC KEY-----");
        File.ReadAllText(first.PrivateKeyPath!).Should().StartWith("-----BEGIN PRIVATE KEY-----");
        RsaKeys.SamePublicKey(first.PublicKey, second.PublicKey).Should().BeTrue();

        // A token from the first load verifies with the second: the pair survives a restart.
        using var issuer = new JwtIssuer(first.PrivateKey);
        using var validator = new JwtValidator(second.PublicKey);
        validator.Validate(issuer.IssueUserToken(1, OmgRoles.Admin)).IsValid.Should().BeTrue();
        Directory.GetFiles(Path.Combine(_directory, "jwt")).Should().HaveCount(2, "temporary files are cleaned up");
    }

    [Fact]
    public void LoadOrCreate_keeps_the_private_key_owner_only()
    {
        if (OperatingSystem.IsWindows())
            return;
        using var pair = RsaKeys.LoadOrCreate(_directory);

        File.GetUnixFileMode(pair.PrivateKeyPath!).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.GetUnixFileMode(Path.Combine(_directory, "jwt")).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.GetUnixFileMode(pair.PublicKeyPath!).HasFlag(UnixFileMode.OtherWrite).Should().BeFalse();
    }

    [Fact]
    public void Public_key_alone_is_an_error_not_a_silent_new_pair()
    {
        Directory.CreateDirectory(Path.Combine(_directory, "jwt"));
        File.WriteAllText(Path.Combine(_directory, "jwt", "public_key.pem"), TestKeys.Server.ExportSubjectPublicKeyInfoPem());

        var act = () => RsaKeys.LoadOrCreate(_directory);
        act.Should().Throw<InvalidOperationException>().WithMessage("*without*");
    }

    [Fact]
    public void Mismatched_key_files_are_an_error()
    {
        using (RsaKeys.LoadOrCreate(_directory)) { }
        File.WriteAllText(Path.Combine(_directory, "jwt", "public_key.pem"), TestKeys.Other.ExportSubjectPublicKeyInfoPem());

        var act = () => RsaKeys.LoadOrCreate(_directory);
        act.Should().Throw<InvalidOperationException>().WithMessage("*does not match*");
    }

    [Fact]
    public void A_missing_public_key_file_is_recreated_from_the_private_key()
    {
        using (RsaKeys.LoadOrCreate(_directory)) { }
        string publicPath = Path.Combine(_directory, "jwt", "public_key.pem");
        string original = File.ReadAllText(publicPath);
        File.Delete(publicPath);

        using var pair = RsaKeys.LoadOrCreate(_directory);
        pair.Created.Should().BeFalse();
        File.ReadAllText(publicPath).Should().Be(original);
    }

    [Fact]
    public async Task Concurrent_first_use_ends_with_one_shared_pair()
    {
        for (int round = 0; round < 3; round++)
        {
            string directory = Path.Combine(_directory, $"round{round}");
            using var start = new ManualResetEventSlim();
            var tasks = Enumerable.Range(0, 6).Select(_ => Task.Factory.StartNew(() =>
            {
                start.Wait(TestContext.Current.CancellationToken);
                return RsaKeys.LoadOrCreate(directory);
            }, TaskCreationOptions.LongRunning)).ToArray();
            start.Set();
            var pairs = await Task.WhenAll(tasks);
            try
            {
                pairs.Count(p => p.Created).Should().Be(1);
                pairs.Should().OnlyContain(p => RsaKeys.SamePublicKey(p.PublicKey, pairs[0].PublicKey));
                using var onDisk = RsaKeys.LoadPublicKey("file:" + pairs[0].PublicKeyPath);
                RsaKeys.SamePublicKey(onDisk, pairs[0].PrivateKey).Should().BeTrue();
                Directory.GetFiles(Path.Combine(directory, "jwt")).Should().HaveCount(2);
            }
            finally
            {
                foreach (var pair in pairs)
                    pair.Dispose();
            }
        }
    }

    [Fact]
    public void Keys_load_from_file_values_and_inline_pem()
    {
        string publicPath = Path.Combine(_directory, "public_key.pem");
        string privatePath = Path.Combine(_directory, "private_key.pem");
        File.WriteAllText(publicPath, TestKeys.Server.ExportSubjectPublicKeyInfoPem());
        File.WriteAllText(privatePath, TestKeys.Server.ExportPkcs8PrivateKeyPem());

        using var fromFile = RsaKeys.LoadPublicKey("file:" + publicPath);
        using var fromUri = RsaKeys.LoadPublicKey(new Uri(publicPath).AbsoluteUri);
        using var inline = RsaKeys.LoadPublicKey(TestKeys.Server.ExportSubjectPublicKeyInfoPem());
        using var pkcs1 = RsaKeys.LoadPublicKey(TestKeys.Server.ExportRSAPublicKeyPem());
        using var privateKey = RsaKeys.LoadPrivateKey("file:" + privatePath);
        using var privatePkcs1 = RsaKeys.LoadPrivateKey(TestKeys.Server.ExportRSAPrivateKeyPem());

        foreach (var key in new[] { fromFile, fromUri, inline, pkcs1, privateKey, privatePkcs1 })
            RsaKeys.SamePublicKey(key, TestKeys.Server).Should().BeTrue();

        using var pair = RsaKeys.Load("file:" + publicPath, "file:" + privatePath);
        using var issuer = new JwtIssuer(pair.PrivateKey);
        using var validator = new JwtValidator(fromFile);
        validator.Validate(issuer.IssueServiceToken("gateway")).IsValid.Should().BeTrue();
    }

    [Fact]
    public void Mismatched_configured_keys_are_refused()
    {
        var act = () => RsaKeys.Load(TestKeys.Other.ExportSubjectPublicKeyInfoPem(), TestKeys.Server.ExportPkcs8PrivateKeyPem());
        act.Should().Throw<ArgumentException>().WithMessage("*does not match*");
    }

    [Theory]
    [InlineData("/jwt_issuer/public_key.pem")] // a bare path, without "file:"
    [InlineData("not a key")]
    [InlineData("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----")]
    [InlineData("file:")]
    public void Bad_values_are_refused_with_an_argument_exception(string value)
    {
        var act = () => RsaKeys.LoadPublicKey(value);
        act.Should().Throw<ArgumentException>();
    }

    [Fact]
    public void A_missing_file_is_an_io_error()
    {
        var act = () => RsaKeys.LoadPublicKey("file:" + Path.Combine(_directory, "absent.pem"));
        act.Should().Throw<IOException>();
    }

    [Fact]
    public void A_public_key_is_not_accepted_as_the_private_key()
    {
        var act = () => RsaKeys.LoadPrivateKey(TestKeys.Server.ExportSubjectPublicKeyInfoPem());
        act.Should().Throw<ArgumentException>().WithMessage("*only a public key*");
    }

    [Fact]
    public void Keys_under_2048_bits_are_refused()
    {
        using var small = RSA.Create(1024);
        var act = () => RsaKeys.LoadPublicKey(small.ExportSubjectPublicKeyInfoPem());
        act.Should().Throw<ArgumentException>().WithMessage("*1024-bit*");
    }
}
