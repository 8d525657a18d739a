using OmgServers.Hosting;
using OmgServers.Hosting.Configuration;

namespace OmgServers.Service.Database;

/// <summary>The PostgreSQL this server uses: an external one (omgservers.database.url) or the embedded cluster.</summary>
public sealed record DatabaseEndpoint(string ConnectionString, bool Embedded);

public static class DatabaseRegistration
{
    /// <summary>Name of the database inside the embedded cluster.</summary>
    public const string EmbeddedDatabase = "omgservers";

    /// <summary>
    /// Registers the <see cref="DatabaseEndpoint"/>. Without omgservers.database.url, also registers the embedded
    /// cluster in omgservers.server.data-dir as a hosted service; its port is chosen now, so the connection string is
    /// known before the cluster is up.
    /// </summary>
    public static DatabaseEndpoint AddOmgServersDatabase(this IServiceCollection services, OmgServersSettings settings)
    {
        DatabaseEndpoint endpoint;
        if (settings.Database.ConnectionString is { } external)
        {
            endpoint = new DatabaseEndpoint(external, Embedded: false);
        }
        else
        {
            var port = settings.Database.EmbeddedPort != 0 ? settings.Database.EmbeddedPort : EmbeddedPostgres.FindFreeLoopbackPort();
            endpoint = new DatabaseEndpoint(EmbeddedPostgres.LoopbackConnectionString(port, EmbeddedDatabase), Embedded: true);
            services.AddSingleton(new EmbeddedPostgresOptions
            {
                DataDirectory = settings.Server.DataDirFullPath(),
                Port = port,
                Database = EmbeddedDatabase,
            });
            services.AddHostedService<EmbeddedDatabaseService>();
        }

        services.AddSingleton(endpoint);
        return endpoint;
    }
}

/// <summary>
/// Starts the embedded PostgreSQL in the background (the host serves liveness meanwhile; readiness waits for it)
/// and stops it on shutdown. A cluster that cannot start stops the application with exit code 1.
/// </summary>
internal sealed class EmbeddedDatabaseService(
    EmbeddedPostgresOptions options,
    IHostApplicationLifetime lifetime,
    ILoggerFactory loggers) : IHostedService
{
    private readonly ILogger _logger = loggers.CreateLogger("OmgServers.Hosting.EmbeddedPostgres");
    private Task<EmbeddedPostgres?>? _starting;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _starting = Task.Run(StartClusterAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // A start in progress is let finish (it has its own deadline) so that the cluster is never left half started.
        if (_starting is not null && await _starting.ConfigureAwait(false) is { } postgres)
        {
            _logger.LogInformation("Stopping embedded PostgreSQL");
            await postgres.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task<EmbeddedPostgres?> StartClusterAsync()
    {
        try
        {
            _logger.LogInformation("Starting embedded PostgreSQL in {DataDirectory} on 127.0.0.1:{Port}", options.DataDirectory, options.Port);
            return await EmbeddedPostgres.StartAsync(options, _logger).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            _logger.LogCritical(e, "Embedded PostgreSQL could not start; stopping the server. Set OMGSERVERS_DATABASE_URL to use another PostgreSQL");
            Environment.ExitCode = 1;
            lifetime.StopApplication();
            return null;
        }
    }
}
