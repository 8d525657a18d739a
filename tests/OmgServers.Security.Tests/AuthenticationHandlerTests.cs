using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace OmgServers.Security.Tests;

/// <summary>A tiny web app with the handler wired as the service will wire it.</summary>
public sealed class AuthenticationAppFixture : IAsyncLifetime
{
    public JwtIssuer Issuer { get; } = new(TestKeys.Server);
    public JwtValidator Validator { get; } = new(TestKeys.Server);
    public WebApplication App { get; private set; } = null!;
    public HttpClient Client { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Services.AddOmgJwtAuthentication(Validator, options => options.QueryParameterName = "ws_token");
        builder.Services.AddAuthorization();

        App = builder.Build();
        App.UseAuthentication();
        App.UseAuthorization();
        App.MapPost("/admin", (HttpContext context) => Results.Json(new
        {
            name = context.User.Identity!.Name,
            admin = context.User.IsInRole(OmgRoles.Admin),
            user_id = context.User.FindFirst(OmgClaimNames.UserId)?.Value,
            typed_sub = context.GetJwtClaims()?.Subject,
        })).RequireAuthorization(policy => policy.RequireRole(OmgRoles.Admin));
        App.MapGet("/websocket", (HttpContext context) => Results.Json(new
        {
            runtime_id = context.User.FindFirst(OmgClaimNames.RuntimeId)?.Value,
            user_role = context.User.FindFirst(OmgClaimNames.UserRole)?.Value,
        })).RequireAuthorization(policy => policy.RequireRole(OmgRoles.WebSocket));
        App.MapPost("/open", () => Results.Json(new { ok = true }));

        await App.StartAsync();
        Client = App.GetTestClient();
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.DisposeAsync();
        Issuer.Dispose();
        Validator.Dispose();
    }
}

public sealed class AuthenticationHandlerTests(AuthenticationAppFixture app) : IClassFixture<AuthenticationAppFixture>
{
    private const string WrongCredentials = """{"qualifier":"WRONG_CREDENTIALS"}""";

    private async Task<HttpResponseMessage> PostAdmin(string? authorization)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/admin") { Content = new StringContent("{}") };
        if (authorization is not null)
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        return await app.Client.SendAsync(request, TestContext.Current.CancellationToken);
    }

    private static async Task ShouldBeWrongCredentials(HttpResponseMessage response)
    {
        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/json");
        (await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).Should().Be(WrongCredentials);
        response.Headers.WwwAuthenticate.Should().ContainSingle(h => h.Scheme == "Bearer");
    }

    [Fact]
    public async Task Valid_admin_token_gets_200_with_roles_and_claims()
    {
        string token = app.Issuer.IssueUserToken(226870983437451264, OmgRoles.Admin);

        using var response = await PostAdmin("Bearer " + token);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement;
        body.GetProperty("name").GetString().Should().Be("226870983437451264");
        body.GetProperty("admin").GetBoolean().Should().BeTrue();
        body.GetProperty("user_id").GetString().Should().Be("226870983437451264");
        body.GetProperty("typed_sub").GetString().Should().Be("226870983437451264");
    }

    [Fact]
    public async Task The_scheme_name_is_case_insensitive()
    {
        using var response = await PostAdmin("bearer " + app.Issuer.IssueUserToken(1, OmgRoles.Admin));
        response.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Missing_token_gets_401_wrong_credentials()
    {
        using var response = await PostAdmin(null);
        await ShouldBeWrongCredentials(response);
    }

    [Theory]
    [InlineData("expired")]
    [InlineData("other-key")]
    [InlineData("wrong-issuer")]
    [InlineData("wrong-audience")]
    [InlineData("alg-none")]
    [InlineData("hs256-public-key")]
    [InlineData("garbage")]
    [InlineData("empty")]
    [InlineData("basic-scheme")]
    public async Task Refused_tokens_get_401_wrong_credentials(string kind)
    {
        long past = DateTimeOffset.UtcNow.AddHours(-2).ToUnixTimeSeconds();
        string authorization = kind switch
        {
            "expired" => "Bearer " + TestTokens.SignRs256(TestTokens.Rs256Header, TestTokens.Payload(exp: past), TestKeys.Server),
            "other-key" => "Bearer " + TestTokens.SignRs256(TestTokens.Rs256Header, TestTokens.Payload(), TestKeys.Other),
            "wrong-issuer" => "Bearer " + TestTokens.SignRs256(TestTokens.Rs256Header, TestTokens.Payload(iss: "evil"), TestKeys.Server),
            "wrong-audience" => "Bearer " + TestTokens.SignRs256(TestTokens.Rs256Header, TestTokens.Payload(aud: "\"registry\""), TestKeys.Server),
            "alg-none" => "Bearer " + TestTokens.Unsigned(TestTokens.Payload()),
            "hs256-public-key" => "Bearer " + TestTokens.SignHs256WithPublicKey(TestTokens.Payload(), TestKeys.Server),
            "garbage" => "Bearer not-a-jwt",
            "empty" => "Bearer ",
            "basic-scheme" => "Basic YWRtaW46YWRtaW4=",
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };

        using var response = await PostAdmin(authorization);

        await ShouldBeWrongCredentials(response);
    }

    [Fact]
    public async Task Another_roles_token_gets_403_with_an_empty_body()
    {
        using var response = await PostAdmin("Bearer " + app.Issuer.IssueUserToken(5, OmgRoles.Player));

        response.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).Should().BeEmpty();
    }

    [Fact]
    public async Task A_websocket_token_in_the_configured_query_parameter_is_accepted()
    {
        string token = app.Issuer.IssuePlayerWsToken(clientId: 3003, runtimeId: 1001);

        using var response = await app.Client.GetAsync($"/websocket?ws_token={Uri.EscapeDataString(token)}", TestContext.Current.CancellationToken);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement;
        body.GetProperty("runtime_id").GetString().Should().Be("1001");
        body.GetProperty("user_role").GetString().Should().Be("player");
    }

    [Fact]
    public async Task A_bad_query_token_gets_401()
    {
        using var response = await app.Client.GetAsync("/websocket?ws_token=abc.def.ghi", TestContext.Current.CancellationToken);
        await ShouldBeWrongCredentials(response);
    }

    [Fact]
    public async Task Anonymous_endpoints_ignore_a_refused_token()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/open") { Content = new StringContent("{}") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "not-a-jwt");

        using var response = await app.Client.SendAsync(request, TestContext.Current.CancellationToken);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
    }
}
