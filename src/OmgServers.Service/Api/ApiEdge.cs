using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using OmgServers.Actors;
using OmgServers.Actors.Cluster;
using OmgServers.Contracts;
using OmgServers.Security;

namespace OmgServers.Service.Api;

/// <summary>Who is calling: the verified token's subject, role and claims (null for permit endpoints).</summary>
public sealed record Caller(long UserId, string Role, JwtClaims Claims);

/// <summary>
/// How every public endpoint reads, checks and answers (contract 1.1-1.4): POST with a JSON body, snake_case,
/// top-level validation, role from the bearer token, and every expected failure as {"qualifier": ...} with its
/// status. Actor-runtime failures that a retry may cure answer 503 SERVICE_UNAVAILABLE; anything unexpected is
/// logged and answers 500 INTERNAL_EXCEPTION_OCCURRED. Nothing here ever answers a bare 500.
/// </summary>
public static class ApiEdge
{
    /// <summary>Largest JSON body of a control-plane or player call (a version config is the largest; upstream's framework limit is 10 MiB).</summary>
    public const long DefaultMaxBodyBytes = 1024 * 1024;

    public static RouteHandlerBuilder MapOmgPost<TRequest, TResponse>(this IEndpointRouteBuilder group, string path, string? role,
        Func<TRequest, Caller?, HttpContext, Task<TResponse>> handler, long maxBodyBytes = DefaultMaxBodyBytes)
        where TRequest : class
    {
        Func<HttpContext, Task> endpoint = async http =>
        {
            try
            {
                var caller = Authorize(http, role);
                var request = await ReadAsync<TRequest>(http, maxBodyBytes);
                var response = await handler(request, caller, http);
                await WriteAsync(http, 200, response);
            }
            catch (Exception ex)
            {
                await WriteErrorAsync(http, ex);
            }
        };
        return group.MapPost(path, (Delegate)endpoint)
        .Accepts<TRequest>("application/json")
        .Produces<TResponse>(200)
        .Produces<ErrorBody>(400)
        .Produces<ErrorBody>(401)
        .Produces<ErrorBody>(403)
        .Produces<ErrorBody>(404)
        .Produces<ErrorBody>(409);
    }

    /// <summary>
    /// Routing answers an unsupported content type with a bare 415 before any endpoint runs; the contract says
    /// 400 WRONG_MEDIA_TYPE (1.3). This rewrites it for the API paths.
    /// </summary>
    public static IApplicationBuilder UseContractStatusCodes(this IApplicationBuilder app) => app.Use(async (http, next) =>
    {
        await next(http);
        if (http.Response.StatusCode == StatusCodes.Status415UnsupportedMediaType && !http.Response.HasStarted
            && http.Request.Path.StartsWithSegments("/service"))
            await WriteAsync(http, 400, new ErrorBody(Qualifier.WRONG_MEDIA_TYPE));
    });

    /// <summary>A missing or invalid token: 401 WRONG_CREDENTIALS; a valid token of another role: 403 PERMISSION_NOT_FOUND.</summary>
    private static Caller? Authorize(HttpContext http, string? role)
    {
        if (role is null) return null;
        var claims = http.GetJwtClaims();
        if (claims is null && http.Items.ContainsKey(OmgJwtAuthenticationHandler.KeysUnavailableItem))
            throw ApiException.Unavailable("token verification key not loaded yet");
        if (claims is null) throw ApiException.Unauthorized();
        if (!claims.IsInGroup(role)) throw ApiException.Forbidden();
        var userId = long.TryParse(claims.UserId ?? claims.Subject, out var id) ? id : 0;
        return new Caller(userId, role, claims);
    }

    public static async Task<T> ReadAsync<T>(HttpContext http, long maxBodyBytes) where T : class
    {
        var contentType = http.Request.ContentType;
        if (contentType is not null && !contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
            throw ApiException.BadRequest(Qualifier.WRONG_MEDIA_TYPE);
        if (http.Request.ContentLength > maxBodyBytes)
            throw new ApiException(Qualifier.LIMIT_EXCEEDED, 413);
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
            size.MaxRequestBodySize = maxBodyBytes;

        T? request;
        try
        {
            request = await JsonSerializer.DeserializeAsync<T>(http.Request.Body, WireJson.Options, http.RequestAborted);
        }
        catch (JsonException ex) when (ex.Message.Contains("The input does not contain any JSON tokens"))
        {
            throw ApiException.BadRequest(Qualifier.VALIDATION_CONSTRAINT_VIOLATED, "a JSON object body is required");
        }
        catch (JsonException ex)
        {
            throw ApiException.BadRequest(Qualifier.WRONG_REQUEST, ex.Message);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == 413)
        {
            throw new ApiException(Qualifier.LIMIT_EXCEEDED, 413);
        }
        if (request is null) throw ApiException.BadRequest(Qualifier.VALIDATION_CONSTRAINT_VIOLATED, "a JSON object body is required");
        if (RequestValidator.FirstViolation(request) is { } field)
            throw ApiException.BadRequest(Qualifier.VALIDATION_CONSTRAINT_VIOLATED, $"{field} is not valid");
        return request;
    }

    public static async Task WriteAsync<T>(HttpContext http, int status, T body)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(http.Response.Body, body, WireJson.Options, http.RequestAborted);
    }

    public static Task WriteErrorAsync(HttpContext http, Exception ex)
    {
        var (status, qualifier) = Map(ex);
        if (status >= 500 && qualifier == Qualifier.INTERNAL_EXCEPTION_OCCURRED)
            http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("OmgServers.Api")
                .LogError(ex, "{Method} {Path} failed", http.Request.Method, http.Request.Path);
        if (http.Response.HasStarted) return Task.CompletedTask;
        http.Response.Clear();
        return WriteAsync(http, status, new ErrorBody(qualifier));
    }

    public static (int Status, Qualifier Qualifier) Map(Exception ex) => ex switch
    {
        ApiException api => (api.Status, api.Qualifier),
        IdGeneratorFailedException => (500, Qualifier.ID_GENERATOR_FAILED),
        AskTimeoutException or MailboxFullException or ShardUnavailableException or NodeUnreachableException => (503, Qualifier.SERVICE_UNAVAILABLE),
        JournalWriteException => (503, Qualifier.SERVICE_UNAVAILABLE),
        OperationCanceledException => (503, Qualifier.SERVICE_UNAVAILABLE),
        BadHttpRequestException { StatusCode: 413 } => (413, Qualifier.LIMIT_EXCEEDED),
        BadHttpRequestException => (400, Qualifier.WRONG_REQUEST),
        _ => (500, Qualifier.INTERNAL_EXCEPTION_OCCURRED),
    };
}
