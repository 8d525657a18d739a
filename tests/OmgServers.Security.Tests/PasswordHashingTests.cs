namespace OmgServers.Security.Tests;

public sealed class PasswordHashingTests
{
    [Fact]
    public void Generated_passwords_are_24_random_bytes_in_standard_base64()
    {
        var passwords = Enumerable.Range(0, 1000).Select(_ => PasswordGenerator.Generate()).ToList();

        passwords.Should().OnlyContain(p => p.Length == 32);
        passwords.Should().OnlyContain(p => Convert.FromBase64String(p).Length == 24);
        passwords.Distinct().Should().HaveCount(1000);
        // Standard (not URL) alphabet: over 1000 passwords both '+' and '/' show up.
        string.Concat(passwords).Should().Contain("+").And.Contain("/");
    }

    [Fact]
    public void Fast_hash_has_the_documented_shape_and_round_trips()
    {
        string password = PasswordGenerator.Generate();
        string stored = PasswordHashing.HashGenerated(password);

        stored.Should().MatchRegex(@"^\$omgs1\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=$");
        stored.Should().HaveLength(PasswordHashing.FastHashLength);
        PasswordHashing.IsFastHash(stored).Should().BeTrue();
        PasswordHashing.Verify(password, stored).Should().BeTrue();
        PasswordHashing.Verify(password[..^1], stored).Should().BeFalse();
        PasswordHashing.Verify(password + "A", stored).Should().BeFalse();
    }

    [Fact]
    public void Fast_hash_is_salted()
    {
        PasswordHashing.HashGenerated("same").Should().NotBe(PasswordHashing.HashGenerated("same"));
    }

    [Fact]
    public void Fast_hash_is_hmac_sha256_keyed_by_the_salt()
    {
        string stored = PasswordHashing.HashGenerated("secret");
        string[] parts = stored.Split('$');
        byte[] salt = Convert.FromBase64String(parts[2]);
        byte[] mac = System.Security.Cryptography.HMACSHA256.HashData(salt, "secret"u8);

        parts[3].Should().Be(Convert.ToBase64String(mac));
    }

    [Fact]
    public void Chosen_passwords_use_bcrypt_cost_10()
    {
        string stored = PasswordHashing.HashChosen("admin-password");

        stored.Should().StartWith("$2b$10$");
        PasswordHashing.IsFastHash(stored).Should().BeFalse();
        PasswordHashing.Verify("admin-password", stored).Should().BeTrue();
        PasswordHashing.Verify("admin-passwore", stored).Should().BeFalse();
    }

    [Fact]
    public void Verify_reads_upstream_bcrypt_rows()
    {
        PasswordHashing.Verify("abc", "$2a$10$WvvTPHKwdBJ3uk0Z37EMR.hLA2W6N9AEBhEgrAOljy2Ae5MtaSIUi").Should().BeTrue();
        PasswordHashing.Verify("abd", "$2a$10$WvvTPHKwdBJ3uk0Z37EMR.hLA2W6N9AEBhEgrAOljy2Ae5MtaSIUi").Should().BeFalse();
    }

    [Theory]
    [InlineData("")]
    [InlineData("secret")]
    [InlineData("$omgs1$")]
    [InlineData("$omgs1$AAAAAAAAAAAAAAAAAAAAAA==")]
    [InlineData("$omgs1$AAAAAAAAAAAAAAAAAAAAAA==$AAAA")]
    [InlineData("$omgs1$AAAAAAAAAAAAAAAAAAAAAA==!AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")] // wrong separator
    [InlineData("$omgs1$AAAAAAAAAAAAAAAAAAAA*A==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")] // bad base64
    [InlineData("$omgs2$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")] // unknown version
    [InlineData("$2a$10$nonsense")]
    public void Verify_returns_false_for_unknown_or_malformed_values(string stored)
    {
        PasswordHashing.Verify("secret", stored).Should().BeFalse();
    }

    [Fact]
    public void A_tampered_mac_does_not_verify()
    {
        string stored = PasswordHashing.HashGenerated("secret");
        // The third character from the end is fully part of the digest (the one before '=' carries padding bits).
        char c = stored[^3];
        string tampered = stored[..^3] + (c == 'A' ? 'B' : 'A') + stored[^2..];

        PasswordHashing.Verify("secret", tampered).Should().BeFalse();
    }
}
