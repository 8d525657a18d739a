using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace OmgServers.Security;

/// <summary>Options of <see cref="OmgJwtAuthenticationHandler"/>.</summary>
public sealed class OmgJwtAuthenticationOptions : AuthenticationSchemeOptions
{
    /// <summary>
    /// When set, a token in this query parameter is accepted if no <c>Authorization</c> header is present.
    /// Upstream's dispatcher reads <c>?ws_token=</c> on the WebSocket upgrade (contract 3.4); the service itself
    /// does not need it (3.1), so it is off by default.
    /// </summary>
    public string? QueryParameterName { get; set; }
}

/// <summary>
/// Bearer authentication with <see cref="JwtValidator"/>: <c>Authorization: Bearer &lt;jwt&gt;</c> becomes a
/// <see cref="ClaimsPrincipal"/> whose role claims are the token's <c>groups</c>, so <c>RequireRole("admin")</c>
/// works; the verified <see cref="JwtClaims"/> are also available through <see cref="OmgJwtHttpContextExtensions.GetJwtClaims"/>.
/// </summary>
/// <remarks>
/// Status codes and bodies (contract 1.3):
/// <list type="bullet">
/// <item>Challenge (no token, or a token that fails validation, on an endpoint that needs a role): 401 with
/// <c>{"qualifier":"WRONG_CREDENTIALS"}</c>. 1.3 documents exactly this body for a missing token; for an invalid
/// token upstream's framework answers 401 with (most likely) an empty body, and clients key on the status only, so
/// the same documented body is used for both.</item>
/// <item>Forbid (valid token, wrong role): 403 with an <b>empty body</b>, which is what 1.3 documents for upstream's
/// framework-level group check. The OMGSERVERS <c>{"qualifier": ...}</c> 403 bodies (<c>PERMISSION_NOT_FOUND</c>)
/// come from the endpoints' own permission checks, not from here.</item>
/// </list>
/// Upstream's proactive authentication also rejects a bad token on <c>@PermitAll</c> endpoints; here anonymous
/// endpoints ignore a failed authentication, as ASP.NET Core does by default (an ambiguity clients cannot observe
/// on the public API: every non-public endpoint requires a role).
/// </remarks>
/// <summary>Where the handler gets its validator; null while the key is still being loaded (the handler never waits).</summary>
public interface IJwtValidatorSource
{
    JwtValidator? Validator { get; }
}

internal sealed class FixedJwtValidatorSource(JwtValidator validator) : IJwtValidatorSource
{
    public JwtValidator? Validator => validator;
}

public sealed class OmgJwtAuthenticationHandler : AuthenticationHandler<OmgJwtAuthenticationOptions>
{
    /// <summary>The scheme name <see cref="OmgJwtAuthenticationExtensions.AddOmgJwtAuthentication"/> registers.</summary>
    public const string SchemeName = "Bearer";

    /// <summary>Claim type of the token's <c>groups</c> values (the identity's role claim type).</summary>
    public const string RoleClaimType = ClaimTypes.Role;

    private static readonly byte[] WrongCredentialsBody = """{"qualifier":"WRONG_CREDENTIALS"}"""u8.ToArray();

    /// <summary>Set in HttpContext.Items when a token arrived before the verification key was loaded (answer 503, not 401).</summary>
    public const string KeysUnavailableItem = "omg.auth.keys-unavailable";

    private readonly IJwtValidatorSource _validators;

    public OmgJwtAuthenticationHandler(
        IOptionsMonitor<OmgJwtAuthenticationOptions> options,
        ILoggerFactory logger,
        UrlEncoder encoder,
        IJwtValidatorSource validators)
        : base(options, logger, encoder)
    {
        _validators = validators;
    }

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? token = ReadToken(out bool present);
        if (!present)
            return Task.FromResult(AuthenticateResult.NoResult());

        if (_validators.Validator is not { } validator)
        {
            Context.Items[KeysUnavailableItem] = true;
            return Task.FromResult(AuthenticateResult.Fail("the token verification key is not loaded yet"));
        }

        JwtValidationResult result = validator.ValidateCached(token);
        if (!result.IsValid)
        {
            Logger.LogDebug("Bearer token refused: {Reason}", result.Reason);
            return Task.FromResult(AuthenticateResult.Fail($"Bearer token refused: {result.Reason}"));
        }

        JwtClaims claims = result.Claims;
        Context.Features.Set(claims);
        var principal = new ClaimsPrincipal(CreateIdentity(claims, Scheme.Name));
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(principal, Scheme.Name)));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        if (Response.HasStarted)
            return;
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers[HeaderNames.WWWAuthenticate] = "Bearer";
        Response.ContentType = "application/json";
        Response.ContentLength = WrongCredentialsBody.Length;
        await Response.Body.WriteAsync(WrongCredentialsBody, Context.RequestAborted);
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        if (!Response.HasStarted)
            Response.StatusCode = StatusCodes.Status403Forbidden;
        return Task.CompletedTask;
    }

    /// <summary>
    /// The identity for verified claims: name = <c>sub</c>; one role claim per <c>groups</c> value; <c>sub</c>,
    /// <c>jti</c> and every extra string claim (<c>user_id</c>, <c>runtime_id</c>, <c>user_role</c>, ...) under
    /// their JWT names.
    /// </summary>
    public static ClaimsIdentity CreateIdentity(JwtClaims claims, string authenticationType)
    {
        var identity = new ClaimsIdentity(authenticationType, OmgClaimNames.Subject, RoleClaimType);
        string issuer = claims.Issuer;
        identity.AddClaim(new Claim(OmgClaimNames.Subject, claims.Subject, ClaimValueTypes.String, issuer));
        foreach (string group in claims.Groups)
            identity.AddClaim(new Claim(RoleClaimType, group, ClaimValueTypes.String, issuer));
        if (claims.TokenId is not null)
            identity.AddClaim(new Claim(OmgClaimNames.TokenId, claims.TokenId, ClaimValueTypes.String, issuer));
        foreach (var (name, value) in claims.Extra)
            identity.AddClaim(new Claim(name, value, ClaimValueTypes.String, issuer));
        return identity;
    }

    /// <summary>The token text; <paramref name="present"/> is false when the request carries none for this scheme.</summary>
    private string? ReadToken(out bool present)
    {
        present = false;
        string? header = Request.Headers.Authorization;
        if (!string.IsNullOrEmpty(header))
        {
            const string Prefix = "Bearer ";
            if (!header.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase))
                return null; // another scheme (e.g. Basic for the docker token API) is not ours to refuse
            present = true;
            return header[Prefix.Length..].Trim();
        }
        if (Options.QueryParameterName is { Length: > 0 } parameter &&
            Request.Query.TryGetValue(parameter, out var values) && values.Count > 0)
        {
            present = true;
            return values[0];
        }
        return null;
    }
}

/// <summary>Access to the verified token of the current request.</summary>
public static class OmgJwtHttpContextExtensions
{
    /// <summary>The verified claims of this request's bearer token, or null when it was not authenticated by it.</summary>
    public static JwtClaims? GetJwtClaims(this HttpContext context) => context.Features.Get<JwtClaims>();
}
