using OmgServers.Hosting.Configuration;
using OmgServers.Service.Database;

namespace OmgServers.Service.Logging;

/// <summary>Logs where the settings came from and the main ones, once, at start.</summary>
internal sealed class StartupReport(LoadedSettings loaded, DatabaseEndpoint database, ILogger<StartupReport> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = loaded.Settings;
        logger.LogInformation("Configuration: {Source}; environment overrides: {Used}",
            loaded.ConfigFile ?? "built-in defaults", loaded.UsedVariables.Count == 0 ? "none" : string.Join(", ", loaded.UsedVariables));
        if (loaded.UnusedVariables.Count > 0)
        {
            logger.LogInformation("Environment variables not used by this server: {Unused}", string.Join(", ", loaded.UnusedVariables));
        }

        logger.LogInformation("{Application} instance {InstanceId} ({Uri}): HTTP on {Host}:{Port}, database {Database}, node {Node}, {Shards} actor shards",
            settings.ApplicationName, settings.Server.InstanceId, settings.Server.Uri, settings.Server.Host, settings.Server.Port,
            database.Embedded ? $"embedded in {settings.Server.DataDirFullPath()}" : "external", settings.Actors.NodeId, settings.Actors.ShardCount);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
