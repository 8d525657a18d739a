using System.Text.RegularExpressions;

namespace OmgServers.Security.Tests;

public sealed class BcryptTests
{
    // Published vectors: cost-10 "$2a$" from jBCrypt's TestBCrypt (the upstream prefix and cost), cost-5 from the
    // OpenBSD / Openwall crypt_blowfish test suite. "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"
    // is NOT the hash of "U*U" (checked against libxcrypt), so it is not used.
    [Theory]
    [InlineData("abc", "$2a$10$WvvTPHKwdBJ3uk0Z37EMR.hLA2W6N9AEBhEgrAOljy2Ae5MtaSIUi")]
    [InlineData("", "$2a$10$k1wbIrmNyFAPwPVPSVa/zecw2BCEnBwVS2GbrmgzxFUOqW9dk4TCW")]
    [InlineData("U*U", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW")]
    [InlineData("U*U*", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK")]
    [InlineData("U*U", "$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW")]
    [InlineData("U*U", "$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW")]
    public void Verify_accepts_published_vectors(string password, string hash)
    {
        Bcrypt.Verify(password, hash).Should().BeTrue();
        Bcrypt.Verify(password + "x", hash).Should().BeFalse();
    }

    [Fact]
    public void Verify_rejects_a_wrong_password_for_an_upstream_cost_10_hash()
    {
        Bcrypt.Verify("abd", "$2a$10$WvvTPHKwdBJ3uk0Z37EMR.hLA2W6N9AEBhEgrAOljy2Ae5MtaSIUi").Should().BeFalse();
        Bcrypt.Verify("ABC", "$2a$10$WvvTPHKwdBJ3uk0Z37EMR.hLA2W6N9AEBhEgrAOljy2Ae5MtaSIUi").Should().BeFalse();
    }

    [Fact]
    public void Hash_writes_2b_cost_10_and_round_trips()
    {
        string hash = Bcrypt.Hash("correct horse battery staple");

        hash.Should().MatchRegex(@"^\$2b\$10\$[./A-Za-z0-9]{53}$");
        Bcrypt.Verify("correct horse battery staple", hash).Should().BeTrue();
        Bcrypt.Verify("correct horse battery stapler", hash).Should().BeFalse();
    }

    [Fact]
    public void Hash_uses_a_fresh_salt_each_time()
    {
        string first = Bcrypt.Hash("same", cost: 4);
        string second = Bcrypt.Hash("same", cost: 4);

        first.Should().NotBe(second);
        first[..29].Should().NotBe(second[..29]);
        Bcrypt.Verify("same", first).Should().BeTrue();
        Bcrypt.Verify("same", second).Should().BeTrue();
    }

    [Fact]
    public void Hash_honours_the_cost_and_handles_non_ascii()
    {
        string hash = Bcrypt.Hash("pässwörd-密码", cost: 5);

        hash.Should().StartWith("$2b$05$");
        Bcrypt.Verify("pässwörd-密码", hash).Should().BeTrue();
        Bcrypt.Verify("passwörd-密码", hash).Should().BeFalse();
    }

    [Theory]
    [InlineData(3)]
    [InlineData(32)]
    public void Hash_refuses_a_cost_outside_4_to_31(int cost)
    {
        var act = () => Bcrypt.Hash("x", cost);
        act.Should().Throw<ArgumentOutOfRangeException>();
    }

    [Theory]
    [InlineData("")]
    [InlineData("plain-text")]
    [InlineData("$2a$10$short")]
    [InlineData("$2x$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW")] // buggy variant refused
    [InlineData("$2c$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW")]
    [InlineData("$2a$03$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW")] // cost too low
    [InlineData("$2a$32$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW")] // cost too high
    [InlineData("$2a$5x$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW")]
    [InlineData("$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOe!")] // outside the alphabet
    [InlineData("$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW\n")]
    [InlineData("$1$saltsalt$qjXMvbEw8oaL.CzflDugX/")] // MD5-crypt is not bcrypt
    public void Verify_returns_false_for_malformed_hashes(string hash)
    {
        Bcrypt.Verify("U*U", hash).Should().BeFalse();
        Bcrypt.IsWellFormed(hash).Should().BeFalse();
    }

    [Fact]
    public void Verify_returns_false_for_a_null_hash()
    {
        Bcrypt.Verify("U*U", null!).Should().BeFalse();
    }

    [Fact]
    public void Passwords_are_cut_at_72_utf8_bytes_as_bcrypt_defines()
    {
        string prefix = new('a', 72);
        string hash = Bcrypt.Hash(prefix + "first tail", cost: 4);

        // Everything after byte 72 is ignored ...
        Bcrypt.Verify(prefix + "another tail", hash).Should().BeTrue();
        Bcrypt.Verify(prefix, hash).Should().BeTrue();
        // ... but the first 72 bytes all count.
        Bcrypt.Verify(new string('a', 71) + "b" + "first tail", hash).Should().BeFalse();
        Bcrypt.Verify(new string('a', 71), hash).Should().BeFalse();
    }

    [Fact]
    public void A_NUL_character_cannot_be_hashed_and_never_verifies()
    {
        var act = () => Bcrypt.Hash("ab\0c");
        act.Should().Throw<ArgumentException>();

        string hash = Bcrypt.Hash("ab", cost: 4);
        Bcrypt.Verify("ab\0c", hash).Should().BeFalse();
    }

    [Fact]
    public async Task Concurrent_verifies_are_independent()
    {
        string hash = Bcrypt.Hash("parallel", cost: 4);
        var results = await Task.WhenAll(Enumerable.Range(0, 16).Select(i =>
            Task.Run(() => Bcrypt.Verify(i % 2 == 0 ? "parallel" : "other", hash))));

        results.Where((ok, i) => ok != (i % 2 == 0)).Should().BeEmpty();
    }
}
