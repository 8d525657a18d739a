using Xunit;
using System.Net;
using System.Text;
using System.Text.Json;
using FluentAssertions;
using Npgsql;
using OmgServers.Security;

namespace OmgServers.Service.Tests.Identity;

/// <summary>Player users and tokens, create-token of every role, admin utilities, and token and input attacks, over real HTTP.</summary>
public sealed class IdentityApiTests(IdentityServiceFixture f) : IClassFixture<IdentityServiceFixture>
{
    private const string Player = "/service/v1/entrypoint/player/request";
    private const string Admin = "/service/v1/entrypoint/admin/request";

    private static JsonElement Payload(string token) =>
        JsonDocument.Parse(Convert.FromBase64String(Pad(token.Split('.')[1].Replace('-', '+').Replace('_', '/')))).RootElement.Clone();

    private static string Pad(string s) => s.PadRight(s.Length + (4 - s.Length % 4) % 4, '=');

    private async Task<(long UserId, string Password)> NewPlayerAsync()
    {
        var (status, body) = await f.PostAsync(Player + "/create-user", new { });
        status.Should().Be(HttpStatusCode.OK);
        body.GetProperty("user_id").ValueKind.Should().Be(JsonValueKind.String, "ids are strings on the wire");
        var password = body.GetProperty("password").GetString()!;
        password.Should().HaveLength(32);
        return (long.Parse(body.GetProperty("user_id").GetString()!), password);
    }

    [Fact]
    public async Task Ping_service_answers_pong_and_validates_its_message()
    {
        var (status, body) = await f.PostAsync(Player + "/ping-service", new { message = "hello" });
        status.Should().Be(HttpStatusCode.OK);
        body.GetProperty("message").GetString().Should().Be("pong");
        (await f.PostAsync(Player + "/ping-service", new { })).Should().Be400("VALIDATION_CONSTRAINT_VIOLATED");
        (await f.PostAsync(Player + "/ping-service", new { message = "   " })).Should().Be400("VALIDATION_CONSTRAINT_VIOLATED");
        (await f.PostAsync(Player + "/ping-service", new { message = new string('x', 65) })).Should().Be400("VALIDATION_CONSTRAINT_VIOLATED");
        (await f.PostAsync(Player + "/ping-service", new { message = new string('x', 64) })).Status.Should().Be(HttpStatusCode.OK);
        (await f.PostAsync(Player + "/ping-service", new { message = 42 })).Status.Should().Be(HttpStatusCode.OK, "a string field accepts a number");
    }

    [Fact]
    public async Task A_player_is_created_logs_in_and_gets_a_token_with_the_configured_lifetime()
    {
        var (userId, password) = await NewPlayerAsync();
        foreach (var id in new object[] { userId, userId.ToString() })
        {
            var (status, body) = await f.PostAsync(Player + "/create-token", new { user_id = id, password, unknown_field = true });
            status.Should().Be(HttpStatusCode.OK);
            var claims = Payload(body.GetProperty("raw_token").GetString()!);
            claims.GetProperty("sub").GetString().Should().Be(userId.ToString());
            claims.GetProperty("user_id").GetString().Should().Be(userId.ToString());
            claims.GetProperty("groups").EnumerateArray().Select(g => g.GetString()).Should().Equal("player");
            claims.GetProperty("iss").GetString().Should().Be("omgservers");
            (claims.GetProperty("exp").GetInt64() - claims.GetProperty("iat").GetInt64()).Should().Be((long)IdentityServiceFixture.PlayerTokenLifetime.TotalSeconds,
                "OMGSERVERS_CLIENTS_TOKEN_LIFETIME is honoured (upstream ignores it)");
        }
    }

    [Fact]
    public async Task Wrong_passwords_unknown_users_and_bad_bodies_get_the_contract_errors()
    {
        var (userId, _) = await NewPlayerAsync();
        (await f.PostAsync(Player + "/create-token", new { user_id = userId, password = "wrong" })).Should().BeError(401, "WRONG_CREDENTIALS");
        (await f.PostAsync(Player + "/create-token", new { user_id = 123, password = "x" })).Should().BeError(404, "OBJECT_NOT_FOUND");
        (await f.PostAsync(Player + "/create-token", new { user_id = "abc", password = "x" })).Should().Be400("WRONG_REQUEST");
        (await f.PostAsync(Player + "/create-token", new { user_id = 1.5, password = "x" })).Should().Be400("WRONG_REQUEST");
        (await f.PostAsync(Player + "/create-token", new { user_id = userId })).Should().Be400("VALIDATION_CONSTRAINT_VIOLATED");
        (await f.PostAsync(Player + "/create-token", new { password = "x" })).Should().Be400("VALIDATION_CONSTRAINT_VIOLATED");
        (await f.PostAsync(Player + "/create-token", IdentityServiceFixture.Raw("{\"user_id\": "))).Should().Be400("WRONG_REQUEST");
        (await f.PostAsync(Player + "/create-token", IdentityServiceFixture.Raw("[1,2]"))).Should().Be400("WRONG_REQUEST");
        (await f.PostAsync(Player + "/create-token", IdentityServiceFixture.Raw(""))).Should().Be400("VALIDATION_CONSTRAINT_VIOLATED");
        (await f.PostAsync(Player + "/create-token", IdentityServiceFixture.Raw("user_id=1", "text/plain"))).Should().Be400("WRONG_MEDIA_TYPE");
        var huge = "{\"user_id\":\"1\",\"password\":\"" + new string('x', 2 * 1024 * 1024) + "\"}";
        (await f.PostAsync(Player + "/create-token", IdentityServiceFixture.Raw(huge))).Should().BeError(413, "LIMIT_EXCEEDED");
    }

    [Fact]
    public async Task Every_role_logs_in_by_id_or_alias_and_the_token_carries_the_users_real_role()
    {
        var adminToken = await f.AdminTokenAsync();
        Payload(adminToken).GetProperty("groups")[0].GetString().Should().Be("admin");
        var supportToken = await f.TokenAsync("support", new { user = "support", password = IdentityServiceFixture.SupportPassword });
        Payload(supportToken).GetProperty("groups")[0].GetString().Should().Be("support");
        var adminId = Payload(adminToken).GetProperty("sub").GetString()!;
        (await f.TokenAsync("admin", new { user = adminId, password = IdentityServiceFixture.AdminPassword })).Should().NotBeEmpty("a numeric user is an id");

        // Any create-token works for any user; the token opens only that user's role (contract 3.2).
        var (playerId, password) = await NewPlayerAsync();
        var playerViaAdmin = await f.TokenAsync("admin", new { user = playerId.ToString(), password });
        Payload(playerViaAdmin).GetProperty("groups")[0].GetString().Should().Be("player");
        (await f.PostAsync(Admin + "/generate-id", new { }, playerViaAdmin)).Should().BeError(403, "PERMISSION_NOT_FOUND");

        (await f.PostAsync("/service/v1/entrypoint/admin/request/create-token", new { user = "nobody", password = "x" })).Should().BeError(404, "OBJECT_NOT_FOUND");
        (await f.PostAsync("/service/v1/entrypoint/admin/request/create-token", new { user = "admin", password = "wrong" })).Should().BeError(401, "WRONG_CREDENTIALS");
        (await f.PostAsync("/service/v1/entrypoint/developer/request/create-token", new { user_id = "admin", password = "x" })).Should().Be400("WRONG_REQUEST", "developer create-token takes a numeric id only");
    }

    [Fact]
    public async Task Admin_utilities_work_and_refuse_other_roles_and_bad_tokens()
    {
        var token = await f.AdminTokenAsync();
        var (status, id) = await f.PostAsync(Admin + "/generate-id", new { }, token);
        status.Should().Be(HttpStatusCode.OK);
        SnowflakeIds.Decode(long.Parse(id.GetProperty("id").GetString()!)).InstanceId.Should().Be(0);

        var (_, hash) = await f.PostAsync(Admin + "/bcrypt-hash", new { value = "secret" }, token);
        Bcrypt.Verify("secret", hash.GetProperty("hash").GetString()!).Should().BeTrue();
        hash.GetProperty("hash").GetString().Should().StartWith("$2b$10$");

        var (_, shard) = await f.PostAsync(Admin + "/calculate-shard", new { shard_key = "123456789" }, token);
        shard.GetProperty("shard_index").GetInt32().Should().Be(0xBB3D % 4, "CRC-16/ARC mod OMGSERVERS_SERVER_SHARD_COUNT");
        (await f.PostAsync(Admin + "/calculate-shard", new { }, token)).Should().Be400("VALIDATION_CONSTRAINT_VIOLATED");

        (await f.PostAsync(Admin + "/generate-id", new { })).Should().BeError(401, "WRONG_CREDENTIALS");
        (await f.PostAsync(Admin + "/generate-id", new { }, "not.a.token")).Should().BeError(401, "WRONG_CREDENTIALS");
        var header = Convert.ToBase64String("{\"alg\":\"none\",\"typ\":\"JWT\"}"u8.ToArray()).TrimEnd('=');
        var body = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{{\"iss\":\"omgservers\",\"aud\":\"omgservers\",\"sub\":\"1\",\"groups\":[\"admin\"],\"exp\":{DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds()}}}")).TrimEnd('=');
        (await f.PostAsync(Admin + "/generate-id", new { }, $"{header}.{body}.")).Should().BeError(401, "WRONG_CREDENTIALS");
        using (var otherKey = System.Security.Cryptography.RSA.Create(2048))
        using (var other = new JwtIssuer(otherKey))
            (await f.PostAsync(Admin + "/generate-id", new { }, other.IssueUserToken(1, "admin"))).Should().BeError(401, "WRONG_CREDENTIALS");
        (await f.PostAsync(Admin + "/generate-id", new { }, f.Forge("1", "admin", TimeSpan.FromMinutes(-10)))).Should().BeError(401, "WRONG_CREDENTIALS");
        (await f.PostAsync(Admin + "/generate-id", new { }, f.Forge("1", "admin", TimeSpan.FromMinutes(10), issuer: "someone-else"))).Should().BeError(401, "WRONG_CREDENTIALS");
        (await f.PostAsync(Admin + "/generate-id", new { }, f.Forge("1", "admin", TimeSpan.FromMinutes(10), audience: "registry"))).Should().BeError(401, "WRONG_CREDENTIALS");
        (await f.PostAsync(Admin + "/generate-id", new { }, f.Forge("1", "admin", TimeSpan.FromMinutes(10)))).Status.Should().Be(HttpStatusCode.OK, "the forged-but-valid control case");
    }

    [Fact]
    public async Task Passwords_are_stored_only_as_hashes_and_never_logged()
    {
        var (_, playerPassword) = await NewPlayerAsync();
        await f.AdminTokenAsync();
        await using var db = NpgsqlDataSource.Create(f.ConnectionString);
        await using var cmd = db.CreateCommand("SELECT convert_from(payload, 'UTF8') FROM actors.journal WHERE manifest = 'user.created'");
        var stored = new List<string>();
        await using (var reader = await cmd.ExecuteReaderAsync())
            while (await reader.ReadAsync()) stored.Add(reader.GetString(0));
        stored.Should().Contain(s => s.Contains("$omgs1$"), "generated passwords use the fast salted hash");
        stored.Should().Contain(s => s.Contains("$2b$10$"), "chosen (bootstrap) passwords use bcrypt");
        var everything = string.Join('\n', stored) + string.Join('\n', f.Service.Output);
        everything.Should().NotContain(playerPassword).And.NotContain(IdentityServiceFixture.AdminPassword).And.NotContain(IdentityServiceFixture.SupportPassword);
    }
}

internal static class ErrorAssertions
{
    public static ErrorAssertion Should(this (HttpStatusCode Status, JsonElement Body) response) => new(response);

    public sealed class ErrorAssertion((HttpStatusCode Status, JsonElement Body) response)
    {
        public void Be400(string qualifier, string because = "") => BeError(400, qualifier, because);

        public void BeError(int status, string qualifier, string because = "")
        {
            ((int)response.Status).Should().Be(status, because);
            response.Body.ValueKind.Should().Be(JsonValueKind.Object);
            response.Body.EnumerateObject().Select(p => p.Name).Should().Equal(["qualifier"], "the error body is exactly {\"qualifier\": ...}");
            response.Body.GetProperty("qualifier").GetString().Should().Be(qualifier, because);
        }
    }
}
