using OmgServers.Hosting.Configuration;
using OmgServers.Security;

namespace OmgServers.Service.Identity;

public static class IdentityComposition
{
    /// <summary>Keys, JWT authentication, id generation, users and bootstrap.</summary>
    public static IServiceCollection AddOmgIdentity(this IServiceCollection services, OmgServersSettings settings)
    {
        services.AddSingleton<KeyRing>();
        services.AddHostedService(sp => sp.GetRequiredService<KeyRing>());
        services.AddSingleton<IJwtValidatorSource>(sp => sp.GetRequiredService<KeyRing>());
        services.AddOmgJwtAuthentication();
        services.AddSingleton(new SnowflakeIds(settings.Server.InstanceId));
        services.AddSingleton<Users>();
        services.AddSingleton<Bootstrap>();
        services.AddHostedService(sp => sp.GetRequiredService<Bootstrap>());
        return services;
    }
}
