using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.DependencyInjection;

namespace OmgServers.Security;

public static class OmgJwtAuthenticationExtensions
{
    /// <summary>
    /// Registers <paramref name="validator"/> as a singleton and <see cref="OmgJwtAuthenticationHandler"/> as the
    /// default authenticate, challenge and forbid scheme (<see cref="OmgJwtAuthenticationHandler.SchemeName"/>).
    /// Add <c>AddAuthorization()</c> and <c>RequireRole(...)</c> policies as usual.
    /// </summary>
    public static AuthenticationBuilder AddOmgJwtAuthentication(
        this IServiceCollection services,
        JwtValidator validator,
        Action<OmgJwtAuthenticationOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(validator);
        services.AddSingleton(validator);
        services.AddSingleton<IJwtValidatorSource>(new FixedJwtValidatorSource(validator));
        return AddScheme(services, configure);
    }

    /// <summary>
    /// As above, for a validator that the container provides (for example one whose key is loaded at start-up):
    /// register an <see cref="IJwtValidatorSource"/> yourself.
    /// </summary>
    public static AuthenticationBuilder AddOmgJwtAuthentication(
        this IServiceCollection services,
        Action<OmgJwtAuthenticationOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        return AddScheme(services, configure);
    }

    private static AuthenticationBuilder AddScheme(IServiceCollection services, Action<OmgJwtAuthenticationOptions>? configure)
    {
        return services
            .AddAuthentication(options =>
            {
                options.DefaultScheme = OmgJwtAuthenticationHandler.SchemeName;
                options.DefaultAuthenticateScheme = OmgJwtAuthenticationHandler.SchemeName;
                options.DefaultChallengeScheme = OmgJwtAuthenticationHandler.SchemeName;
                options.DefaultForbidScheme = OmgJwtAuthenticationHandler.SchemeName;
            })
            .AddScheme<OmgJwtAuthenticationOptions, OmgJwtAuthenticationHandler>(
                OmgJwtAuthenticationHandler.SchemeName, configure);
    }
}
