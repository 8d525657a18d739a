using OmgServers.Contracts;
using OmgServers.Security;
using OmgServers.Service.Api;

namespace OmgServers.Service.ControlPlane;

/// <summary>An endpoint of a feature this product does not have: the role is checked as everywhere, then 409 FEATURE_DISABLED.</summary>
public static class FeatureDisabled
{
    /// <summary>
    /// Maps POST <paramref name="path"/> for any content type (upload-files-archive is multipart): a missing or invalid
    /// token answers 401 WRONG_CREDENTIALS, another role 403, the role itself 409 FEATURE_DISABLED. The body is not read.
    /// </summary>
    public static RouteHandlerBuilder MapFeatureDisabled(this IEndpointRouteBuilder group, string path, string role)
    {
        Func<HttpContext, Task> endpoint = http =>
        {
            var claims = http.GetJwtClaims();
            Exception refusal = claims is null ? ApiException.Unauthorized()
                : !claims.IsInGroup(role) ? ApiException.Forbidden()
                : ApiException.Conflict(Qualifier.FEATURE_DISABLED);
            return ApiEdge.WriteErrorAsync(http, refusal);
        };
        // No Accepts metadata: it would make routing refuse other content types (415) before the role check.
        return group.MapPost(path, (Delegate)endpoint)
        .Produces<ErrorBody>(401)
        .Produces<ErrorBody>(403)
        .Produces<ErrorBody>(409);
    }
}
