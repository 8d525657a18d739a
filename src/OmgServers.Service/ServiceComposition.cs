using System.Net;
using OmgServers.Actors;
using OmgServers.Hosting.Configuration;
using OmgServers.Service.Database;
using OmgServers.Service.Health;
using OmgServers.Service.Logging;
using OmgServers.Service.Management;
using OmgServers.Domain;
using OmgServers.Service.Api;
using OmgServers.Service.Identity;

namespace OmgServers.Service;

/// <summary>The one place the host is put together: settings, logging, listener, database, actor runtime, endpoints.</summary>
public static class ServiceComposition
{
    public static WebApplicationBuilder AddOmgServers(this WebApplicationBuilder builder, LoadedSettings loaded)
    {
        var settings = loaded.Settings;
        builder.Services.AddSingleton(loaded);
        builder.Services.AddSingleton(settings);

        builder.Logging.AddOmgServersLogging(settings.Logging);
        builder.WebHost.ConfigureKestrel(kestrel => Listen(kestrel, settings.Server));
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = settings.Server.ShutdownTimeout);
        builder.Services.AddHostedService<StartupReport>();

        // Registered before the actor runtime: hosted services stop in reverse order, so the embedded PostgreSQL
        // stops only after the runtime has drained its entities and flushed its journal.
        var database = builder.Services.AddOmgServersDatabase(settings);

        builder.Services.AddActorRuntime(
            new ActorRuntimeOptions
            {
                ConnectionString = database.ConnectionString,
                NodeId = settings.Actors.NodeId,
                // Other nodes reach this one at the host of its OMGSERVERS_SERVER_URI on the cluster port, unless told otherwise.
                NodeAddress = settings.Actors.NodeAddress.Length > 0 || settings.Actors.ClusterPort == 0
                    ? settings.Actors.NodeAddress
                    : $"http://{settings.Server.Uri.Host}:{settings.Actors.ClusterPort}",
                ApiAddress = settings.Server.Uri.ToString().TrimEnd('/'),
                ClusterPort = settings.Actors.ClusterPort,
                ClusterBindAddress = settings.Actors.ClusterBindAddress,
                ClusterSecret = settings.Actors.ClusterSecret,
                MemberDeadAfter = settings.Actors.MemberDeadAfter > TimeSpan.Zero ? settings.Actors.MemberDeadAfter : null,
                HandoffConcurrency = settings.Actors.HandoffConcurrency,
                ShardCount = settings.Actors.ShardCount,
                AskTimeout = settings.Actors.AskTimeout,
                MailboxCapacity = settings.Actors.MailboxCapacity,
                PassivateAfter = settings.Actors.PassivateAfter,
                SnapshotEvery = settings.Actors.SnapshotEvery,
                LeaseTtl = settings.Actors.LeaseTtl,
                LeaseRenewInterval = settings.Actors.LeaseRenewInterval,
                ReminderPollInterval = settings.Actors.ReminderPollInterval,
                JournalMaxBatchEvents = settings.Actors.JournalMaxBatchEvents,
                JournalWriters = settings.Actors.JournalWriters,
                RedeliveryInterval = settings.Actors.RedeliveryInterval,
                ShutdownTimeout = settings.Server.ShutdownTimeout / 2,
            },
            entities => entities.AddDomainEntities());
        builder.Services.AddOmgIdentity(settings);
        builder.Services.AddSingleton<OmgServers.Service.ControlPlane.Tenants>();
        builder.Services.AddSingleton(new GameOptions
        {
            ClientInactiveInterval = settings.Clients.InactiveInterval,
            RuntimeInactiveInterval = settings.Runtimes.InactiveInterval,
            LobbyMinLifetime = settings.Runtimes.LobbyMinLifetime,
            MaxClientsPerLobby = settings.Runtimes.MaxClientsPerLobby,
            MaxUnconsumedCommands = settings.Runtimes.MaxUnconsumedCommands,
        });
        builder.Services.AddSingleton<OmgServers.Service.Runtimes.RuntimeHosting>();
        builder.Services.AddSingleton<IRuntimeLauncher>(sp => sp.GetRequiredService<OmgServers.Service.Runtimes.RuntimeHosting>());
        builder.Services.AddHostedService(sp => sp.GetRequiredService<OmgServers.Service.Runtimes.RuntimeHosting>());
        builder.Services.AddOmgOpenApi();

        builder.Services.AddOmgServersHealthChecks();
        return builder;
    }

    public static WebApplication MapOmgServers(this WebApplication app)
    {
        if (app.Services.GetRequiredService<OmgServersSettings>().Logging.AccessLogsEnabled)
        {
            app.UseAccessLog();
        }

        app.MapOmgOpenApi();
        app.UseContractStatusCodes();
        app.UseAuthentication();
        app.MapHealthApi();
        app.MapClusterApi();
        app.MapIdentityApi();
        app.MapSupportApi();
        app.MapPlayerApi();
        app.MapRuntimeApi();
        app.MapDeveloperApi();
        return app;
    }

    private static void Listen(Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions kestrel, ServerSettings server)
    {
        if (server.Host == "localhost")
        {
            kestrel.ListenLocalhost(server.Port);
        }
        else
        {
            kestrel.Listen(IPAddress.Parse(server.Host), server.Port);
        }
    }
}
