using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace OmgServers.Security.Tests;

public sealed class JwtTests : IDisposable
{
    private readonly JwtIssuer _issuer = new(TestKeys.Server);
    private readonly JwtValidator _validator = new(TestKeys.Server);

    public void Dispose()
    {
        _issuer.Dispose();
        _validator.Dispose();
    }

    private static JsonElement Part(string token, int index) =>
        JsonDocument.Parse(Base64Url.DecodeFromChars(token.Split('.')[index])).RootElement;

    [Fact]
    public void User_token_round_trips_with_the_contract_claims()
    {
        var before = DateTimeOffset.UtcNow;
        string token = _issuer.IssueUserToken(226870983437451264, OmgRoles.Developer);

        var result = _validator.Validate(token);

        result.IsValid.Should().BeTrue(result.ToString());
        result.Reason.Should().Be(JwtInvalidReason.None);
        var claims = result.Claims!;
        claims.Subject.Should().Be("226870983437451264");
        claims.UserId.Should().Be("226870983437451264");
        claims.TryGetInt64(OmgClaimNames.UserId, out long userId).Should().BeTrue();
        userId.Should().Be(226870983437451264);
        claims.Groups.Should().Equal(OmgRoles.Developer);
        claims.IsInGroup(OmgRoles.Developer).Should().BeTrue();
        claims.IsInGroup(OmgRoles.Admin).Should().BeFalse();
        claims.Issuer.Should().Be("omgservers");
        claims.Audiences.Should().Equal("omgservers");
        claims.IssuedAt.Should().NotBeNull();
        claims.IssuedAt!.Value.Should().BeCloseTo(before, TimeSpan.FromSeconds(2));
        (claims.ExpiresAt - claims.IssuedAt.Value).Should().Be(TimeSpan.FromSeconds(3600));
        Guid.TryParse(claims.TokenId, out _).Should().BeTrue();
    }

    [Fact]
    public void Issued_tokens_have_the_smallrye_shape_on_the_wire()
    {
        string token = _issuer.IssueUserToken(7, OmgRoles.Player);

        var header = Part(token, 0);
        header.GetProperty("alg").GetString().Should().Be("RS256");
        header.GetProperty("typ").GetString().Should().Be("JWT");
        var payload = Part(token, 1);
        payload.GetProperty("iss").GetString().Should().Be("omgservers");
        payload.GetProperty("aud").GetString().Should().Be("omgservers");
        payload.GetProperty("sub").GetString().Should().Be("7");
        payload.GetProperty("user_id").ValueKind.Should().Be(JsonValueKind.String);
        payload.GetProperty("groups").EnumerateArray().Select(g => g.GetString()).Should().Equal("player");
        payload.GetProperty("iat").ValueKind.Should().Be(JsonValueKind.Number);
        payload.GetProperty("exp").GetInt64().Should().Be(payload.GetProperty("iat").GetInt64() + 3600);
        // The signature is RS256 over header.payload with the server key.
        string[] parts = token.Split('.');
        TestKeys.Server.VerifyData(Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]), Base64Url.DecodeFromChars(parts[2]),
            HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1).Should().BeTrue();
    }

    [Fact]
    public void Contract_token_kinds_carry_their_claims()
    {
        var apiToken = _validator.Validate(_issuer.IssueRuntimeApiToken(1001)).Claims!;
        apiToken.Subject.Should().Be("1001");
        apiToken.RuntimeId.Should().Be("1001");
        apiToken.Groups.Should().Equal("runtime");

        var runtimeWs = _validator.Validate(_issuer.IssueRuntimeWsToken(runtimeUserId: 2002, runtimeId: 1001)).Claims!;
        runtimeWs.Subject.Should().Be("2002");
        runtimeWs.RuntimeId.Should().Be("1001");
        runtimeWs.UserRole.Should().Be("runtime");
        runtimeWs.Groups.Should().Equal("websocket");

        var playerWs = _validator.Validate(_issuer.IssuePlayerWsToken(clientId: 3003, runtimeId: 1001)).Claims!;
        playerWs.Subject.Should().Be("3003");
        playerWs.RuntimeId.Should().Be("1001");
        playerWs.UserRole.Should().Be("player");
        playerWs.Groups.Should().Equal("websocket");

        var service = _validator.Validate(_issuer.IssueServiceToken("gateway")).Claims!;
        service.Subject.Should().Be("gateway");
        service.Groups.Should().Equal("service");
        (service.ExpiresAt - service.IssuedAt!.Value).Should().Be(TimeSpan.FromSeconds(31_536_000));
    }

    [Fact]
    public void Registry_style_token_carries_json_claims_x5c_and_its_own_audience()
    {
        var access = JsonDocument.Parse("""[{"type":"repository","name":"omgservers/t/p","actions":["pull","push"]}]""").RootElement;
        string token = _issuer.Issue(new JwtTokenDescriptor
        {
            Subject = "5",
            Lifetime = TimeSpan.FromHours(1),
            Audience = "registry",
            JsonClaims = new Dictionary<string, JsonElement> { ["access"] = access },
            X5c = ["MIIBcert"],
        });

        Part(token, 0).GetProperty("x5c")[0].GetString().Should().Be("MIIBcert");
        Part(token, 1).GetProperty("access")[0].GetProperty("actions")[1].GetString().Should().Be("push");
        Part(token, 1).TryGetProperty("groups", out _).Should().BeFalse();
        _validator.Validate(token).Reason.Should().Be(JwtInvalidReason.WrongAudience);
        using var registryValidator = new JwtValidator(TestKeys.Server, new JwtValidationOptions { Audience = "registry" });
        registryValidator.Validate(token).IsValid.Should().BeTrue();
    }

    [Theory]
    [InlineData("sub")]
    [InlineData("exp")]
    [InlineData("groups")]
    [InlineData("iss")]
    public void Extra_claims_cannot_overwrite_registered_ones(string name)
    {
        var act = () => _issuer.Issue("1", OmgRoles.Admin, TimeSpan.FromMinutes(1), new Dictionary<string, string> { [name] = "x" });
        act.Should().Throw<ArgumentException>();
    }

    [Fact]
    public void Issuer_refuses_a_key_under_2048_bits()
    {
        using var small = RSA.Create(1024);
        var act = () => new JwtIssuer(small);
        act.Should().Throw<ArgumentException>();
    }

    [Fact]
    public void Validator_built_from_the_private_key_uses_its_public_half()
    {
        using var fromPublic = new JwtValidator(RsaFromPublic(TestKeys.Server));
        string token = _issuer.IssueUserToken(1, OmgRoles.Admin);

        fromPublic.Validate(token).IsValid.Should().BeTrue();
        _validator.Validate(token).IsValid.Should().BeTrue();
    }

    private static RSA RsaFromPublic(RSA key)
    {
        var rsa = RSA.Create();
        rsa.ImportSubjectPublicKeyInfo(key.ExportSubjectPublicKeyInfo(), out _);
        return rsa;
    }

    [Theory]
    [InlineData("\"omgservers\"")]
    [InlineData("[\"omgservers\"]")]
    [InlineData("[\"registry\",\"omgservers\"]")]
    public void Audience_may_be_a_string_or_an_array(string aud)
    {
        string token = TestTokens.SignRs256(TestTokens.Rs256Header, TestTokens.Payload(aud: aud), TestKeys.Server);
        _validator.Validate(token).IsValid.Should().BeTrue();
    }

    [Theory]
    [InlineData("\"registry\"")]
    [InlineData("[\"registry\",\"other\"]")]
    [InlineData("[]")]
    [InlineData("42")]
    [InlineData("\"OMGSERVERS\"")]
    public void Wrong_audience_is_refused(string aud)
    {
        string token = TestTokens.SignRs256(TestTokens.Rs256Header, TestTokens.Payload(aud: aud), TestKeys.Server);
        _validator.Validate(token).Reason.Should().Be(JwtInvalidReason.WrongAudience);
    }

    [Fact]
    public void Missing_audience_is_refused()
    {
        long exp = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds();
        string token = TestTokens.SignRs256(TestTokens.Rs256Header, $$"""{"iss":"omgservers","sub":"1","exp":{{exp}}}""", TestKeys.Server);
        _validator.Validate(token).Reason.Should().Be(JwtInvalidReason.WrongAudience);
    }

    [Theory]
    [InlineData("other")]
    [InlineData("Omgservers")]
    [InlineData("")]
    public void Wrong_issuer_is_refused(string iss)
    {
        string token = TestTokens.SignRs256(TestTokens.Rs256Header, TestTokens.Payload(iss: iss), TestKeys.Server);
        _validator.Validate(token).Reason.Should().Be(JwtInvalidReason.WrongIssuer);
    }

    [Fact]
    public void A_remembered_token_still_expires_and_a_refused_one_is_never_remembered()
    {
        var clock = new ManualClock(DateTimeOffset.Parse("2025-01-22T18:00:00Z"));
        using var issuer = new JwtIssuer(TestKeys.Server, timeProvider: clock);
        using var validator = new JwtValidator(TestKeys.Server, new JwtValidationOptions { TimeProvider = clock, ClockSkew = TimeSpan.Zero });
        string token = issuer.Issue("7", OmgRoles.Player, TimeSpan.FromSeconds(60));

        validator.ValidateCached(token).Claims!.Subject.Should().Be("7");
        validator.ValidateCached(token).Claims!.Subject.Should().Be("7", "the second use is answered from memory");
        clock.Advance(TimeSpan.FromSeconds(59));
        validator.ValidateCached(token).IsValid.Should().BeTrue();
        clock.Advance(TimeSpan.FromSeconds(1));
        validator.ValidateCached(token).Reason.Should().Be(JwtInvalidReason.Expired, "a remembered token expires like any other");
        validator.ValidateCached(token).Reason.Should().Be(JwtInvalidReason.Expired);

        string tampered = token[..^4] + (token[^4] == 'A' ? "B" : "A") + token[^3..];
        validator.ValidateCached(tampered).Reason.Should().Be(JwtInvalidReason.BadSignature);
        validator.ValidateCached(tampered).Reason.Should().Be(JwtInvalidReason.BadSignature, "a refused token is checked again every time");
        validator.ValidateCached(null).Reason.Should().Be(JwtInvalidReason.Malformed);
    }

    [Fact]
    public void The_memory_of_verified_tokens_is_bounded()
    {
        using var issuer = new JwtIssuer(TestKeys.Server);
        using var validator = new JwtValidator(TestKeys.Server);
        var first = issuer.Issue("0", OmgRoles.Player, TimeSpan.FromMinutes(5));
        validator.ValidateCached(first).IsValid.Should().BeTrue();
        // Fill the memory past its bound with distinct valid tokens: it starts over, and every token still verifies.
        for (var i = 1; i <= JwtValidator.MaxCachedTokens; i++)
            validator.ValidateCached(issuer.Issue(i.ToString(), OmgRoles.Player, TimeSpan.FromMinutes(5))).IsValid.Should().BeTrue();
        validator.CachedTokens.Should().BeLessThanOrEqualTo(JwtValidator.MaxCachedTokens);
        validator.ValidateCached(first).Claims!.Subject.Should().Be("0");
    }

    [Fact]
    public void Expiry_is_checked_with_the_configured_clock_skew()
    {
        var clock = new ManualClock(DateTimeOffset.Parse("2025-01-22T18:00:00Z"));
        using var issuer = new JwtIssuer(TestKeys.Server, timeProvider: clock);
        using var validator = new JwtValidator(TestKeys.Server, new JwtValidationOptions { TimeProvider = clock });
        string token = issuer.Issue("1", OmgRoles.Player, TimeSpan.FromSeconds(60));

        clock.Advance(TimeSpan.FromSeconds(59));
        validator.Validate(token).IsValid.Should().BeTrue();
        clock.Advance(TimeSpan.FromSeconds(30)); // 29 s past exp: inside the default 30 s skew
        validator.Validate(token).IsValid.Should().BeTrue();
        clock.Advance(TimeSpan.FromSeconds(1)); // 30 s past exp
        validator.Validate(token).Reason.Should().Be(JwtInvalidReason.Expired);

        using var strict = new JwtValidator(TestKeys.Server, new JwtValidationOptions { TimeProvider = clock, ClockSkew = TimeSpan.Zero });
        clock.Set(DateTimeOffset.Parse("2025-01-22T18:01:00Z"));
        strict.Validate(token).Reason.Should().Be(JwtInvalidReason.Expired);
        clock.Set(DateTimeOffset.Parse("2025-01-22T18:00:59.999Z"));
        strict.Validate(token).IsValid.Should().BeTrue();
    }

    [Fact]
    public void Not_before_in_the_future_is_refused_beyond_the_skew()
    {
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        string later = TestTokens.SignRs256(TestTokens.Rs256Header, TestTokens.Payload(extra: $",\"nbf\":{now + 120}"), TestKeys.Server);
        string slightlyLater = TestTokens.SignRs256(TestTokens.Rs256Header, TestTokens.Payload(extra: $",\"nbf\":{now + 10}"), TestKeys.Server);

        _validator.Validate(later).Reason.Should().Be(JwtInvalidReason.NotYetValid);
        var ok = _validator.Validate(slightlyLater);
        ok.IsValid.Should().BeTrue();
        ok.Claims!.NotBefore.Should().Be(DateTimeOffset.FromUnixTimeSeconds(now + 10));
    }

    [Fact]
    public void Alg_none_is_refused()
    {
        _validator.Validate(TestTokens.Unsigned(TestTokens.Payload())).Reason.Should().Be(JwtInvalidReason.WrongAlgorithm);
    }

    [Fact]
    public void Hs256_signed_with_the_public_key_is_refused()
    {
        string token = TestTokens.SignHs256WithPublicKey(TestTokens.Payload(), TestKeys.Server);
        _validator.Validate(token).Reason.Should().Be(JwtInvalidReason.WrongAlgorithm);
    }

    [Theory]
    [InlineData("""{"alg":"RS512","typ":"JWT"}""")]
    [InlineData("""{"alg":"rs256","typ":"JWT"}""")]
    [InlineData("""{"alg":"RS256 ","typ":"JWT"}""")]
    [InlineData("""{"alg":"PS256","typ":"JWT"}""")]
    [InlineData("""{"alg":null,"typ":"JWT"}""")]
    [InlineData("""{"alg":["RS256"],"typ":"JWT"}""")]
    [InlineData("""{"typ":"JWT"}""")]
    public void Any_algorithm_but_exactly_RS256_is_refused(string header)
    {
        // Even with a valid RS256 signature over the input.
        string token = TestTokens.SignRs256(header, TestTokens.Payload(), TestKeys.Server);
        _validator.Validate(token).Reason.Should().Be(JwtInvalidReason.WrongAlgorithm);
    }

    [Theory]
    [InlineData("""{"alg":"RS256"}""", true)]
    [InlineData("""{"alg":"RS256","typ":"jwt"}""", true)]
    [InlineData("""{"typ":"JWT","alg":"RS256","kid":"k1"}""", true)]
    [InlineData("""{"alg":"RS256","typ":"application/jwt"}""", true)]
    [InlineData("""{"alg":"RS256","typ":"JWS"}""", false)]
    [InlineData("""{"alg":"RS256","typ":"at+jwt"}""", false)]
    [InlineData("""{"alg":"RS256","typ":1}""", false)]
    public void Typ_must_be_JWT_when_present(string header, bool valid)
    {
        string token = TestTokens.SignRs256(header, TestTokens.Payload(), TestKeys.Server);
        var result = _validator.Validate(token);
        if (valid)
            result.IsValid.Should().BeTrue(result.ToString());
        else
            result.Reason.Should().Be(JwtInvalidReason.WrongType);
    }

    [Fact]
    public void Critical_header_extensions_are_refused()
    {
        string token = TestTokens.SignRs256("""{"alg":"RS256","crit":["exp"],"exp":1}""", TestTokens.Payload(), TestKeys.Server);
        _validator.Validate(token).Reason.Should().Be(JwtInvalidReason.UnsupportedHeader);
    }

    [Fact]
    public void A_token_signed_by_another_key_is_refused()
    {
        using var otherIssuer = new JwtIssuer(TestKeys.Other);
        _validator.Validate(otherIssuer.IssueUserToken(1, OmgRoles.Admin)).Reason.Should().Be(JwtInvalidReason.BadSignature);
    }

    [Fact]
    public void Changing_the_payload_breaks_the_signature()
    {
        string token = _issuer.IssueUserToken(1, OmgRoles.Player);
        string[] parts = token.Split('.');
        string forged = TestTokens.Encode(Encoding.UTF8.GetString(Base64Url.DecodeFromChars(parts[1])).Replace("\"player\"", "\"admin\""));

        _validator.Validate($"{parts[0]}.{forged}.{parts[2]}").Reason.Should().Be(JwtInvalidReason.BadSignature);
    }

    [Fact]
    public void Missing_or_short_signatures_are_refused()
    {
        string token = _issuer.IssueUserToken(1, OmgRoles.Player);
        string input = token[..token.LastIndexOf('.')];
        string signature = token[(token.LastIndexOf('.') + 1)..];

        _validator.Validate(input + ".").Reason.Should().Be(JwtInvalidReason.BadSignature);
        _validator.Validate(input + "." + signature[..40]).Reason.Should().Be(JwtInvalidReason.BadSignature);
    }

    [Fact]
    public void A_non_canonical_signature_encoding_is_refused()
    {
        string token = _issuer.IssueUserToken(1, OmgRoles.Player);
        // 256 bytes encode to 342 characters; the last one carries 4 unused bits, which must be zero.
        char last = token[^1];
        char sibling = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".IndexOf(last) | 1];

        _validator.Validate(token[..^1] + sibling).Reason.Should().Be(JwtInvalidReason.Malformed);
    }

    [Theory]
    [InlineData("")]
    [InlineData("abc")]
    [InlineData("abc.def")]
    [InlineData(".eyJ9.sig")]
    [InlineData("a.b.c.d")]
    [InlineData("a.b.c.d.e")]
    public void Tokens_without_three_segments_are_malformed(string token)
    {
        _validator.Validate(token).Reason.Should().Be(JwtInvalidReason.Malformed);
    }

    [Fact]
    public void Null_is_malformed()
    {
        _validator.Validate((string?)null).Reason.Should().Be(JwtInvalidReason.Malformed);
    }

    [Fact]
    public void Segments_outside_the_base64url_alphabet_are_malformed()
    {
        string token = _issuer.IssueUserToken(1, OmgRoles.Player);
        string[] p = token.Split('.');

        _validator.Validate($"{p[0]}=.{p[1]}.{p[2]}").Reason.Should().Be(JwtInvalidReason.Malformed);
        _validator.Validate($"{p[0]}.{p[1]} .{p[2]}").Reason.Should().Be(JwtInvalidReason.Malformed);
        _validator.Validate($"{p[0]}.{p[1].Replace('-', '+').Replace('_', '/')}x+/.{p[2]}").Reason.Should().Be(JwtInvalidReason.Malformed);
        _validator.Validate($"{p[0]}.{p[1]}.{p[2]}==").Reason.Should().Be(JwtInvalidReason.Malformed);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[]")]
    [InlineData("\"str\"")]
    [InlineData("""{"alg":"RS256"} trailing""")]
    [InlineData("""{"alg":"RS256","alg":"RS256"}""")]
    public void Malformed_headers_are_refused(string header)
    {
        string token = TestTokens.SignRs256(header, TestTokens.Payload(), TestKeys.Server);
        _validator.Validate(token).Reason.Should().Be(JwtInvalidReason.Malformed);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[1,2]")]
    [InlineData("""{"iss":"omgservers","aud":"omgservers","sub":"1","exp":"tomorrow"}""")]
    [InlineData("""{"iss":"omgservers","aud":"omgservers","sub":1,"exp":4102444800}""")]
    [InlineData("""{"iss":"omgservers","aud":"omgservers","sub":"1","exp":4102444800,"groups":"admin","groups":"x"}""")]
    [InlineData("""{"iss":"omgservers","aud":"omgservers","sub":"1","exp":4102444800,"exp":4102444800}""")]
    [InlineData("""{"iss":"omgservers","aud":"omgservers","sub":"1","exp":4102444800,"groups":[1]}""")]
    [InlineData("""{"iss":"omgservers","aud":"omgservers","sub":"1","exp":-5}""")]
    [InlineData("""{"iss":"omgservers","aud":"omgservers","sub":"1","exp":1e300}""")]
    [InlineData("""{"iss":"omgservers","aud":"omgservers","sub":"1","exp":4102444800,"user_id":"1","user_id":"2"}""")]
    [InlineData("""{"iss":"omgservers","aud":"omgservers","sub":"1","exp":4102444800} {}""")]
    public void Malformed_payloads_are_refused(string payload)
    {
        string token = TestTokens.SignRs256(TestTokens.Rs256Header, payload, TestKeys.Server);
        _validator.Validate(token).Reason.Should().Be(JwtInvalidReason.Malformed);
    }

    [Theory]
    [InlineData("""{"iss":"omgservers","aud":"omgservers","sub":"1"}""")]
    [InlineData("""{"iss":"omgservers","aud":"omgservers","exp":4102444800}""")]
    [InlineData("""{"iss":"omgservers","aud":"omgservers","sub":"","exp":4102444800}""")]
    public void Exp_and_sub_are_required(string payload)
    {
        string token = TestTokens.SignRs256(TestTokens.Rs256Header, payload, TestKeys.Server);
        _validator.Validate(token).Reason.Should().Be(JwtInvalidReason.MissingClaim);
    }

    [Fact]
    public void Numeric_and_fractional_claims_are_read()
    {
        string payload = """{"iss":"omgservers","aud":"omgservers","sub":"9","exp":4102444800.75,"iat":1700000000,"runtime_id":123456789012,"flag":true,"nested":{"a":1},"groups":"admin"}""";
        var result = _validator.Validate(TestTokens.SignRs256(TestTokens.Rs256Header, payload, TestKeys.Server));

        result.IsValid.Should().BeTrue(result.ToString());
        result.Claims!.ExpiresAt.Should().Be(DateTimeOffset.FromUnixTimeSeconds(4102444800));
        result.Claims.RuntimeId.Should().Be("123456789012");
        result.Claims.Groups.Should().Equal("admin");
        result.Claims.Extra.Should().NotContainKey("flag").And.NotContainKey("nested");
    }

    [Fact]
    public void Tokens_over_the_length_limit_are_malformed_before_decoding()
    {
        string big = _issuer.Issue("1", OmgRoles.Player, TimeSpan.FromHours(1),
            new Dictionary<string, string> { ["padding"] = new string('x', 9000) });

        _validator.Validate(big).Reason.Should().Be(JwtInvalidReason.Malformed);
        using var lenient = new JwtValidator(TestKeys.Server, new JwtValidationOptions { MaxTokenLength = 20_000 });
        var result = lenient.Validate(big);
        result.IsValid.Should().BeTrue();
        result.Claims!.GetString("padding").Should().HaveLength(9000);
    }

    [Fact]
    public async Task Issue_and_validate_are_safe_across_threads()
    {
        var tasks = Enumerable.Range(0, 4).Select(t => Task.Factory.StartNew(() =>
        {
            int ok = 0;
            for (int i = 0; i < 300; i++)
            {
                string token = _issuer.IssueUserToken(t * 1000 + i, OmgRoles.Player);
                var result = _validator.Validate(token);
                if (result.IsValid && result.Claims!.Subject == (t * 1000 + i).ToString())
                    ok++;
                char c = token[^10];
                if (_validator.Validate(token[..^10] + (c == 'A' ? 'B' : 'A') + token[^9..]).IsValid)
                    ok = -1_000_000;
            }
            return ok;
        }, TaskCreationOptions.LongRunning));

        (await Task.WhenAll(tasks)).Should().Equal(300, 300, 300, 300);
    }
}
