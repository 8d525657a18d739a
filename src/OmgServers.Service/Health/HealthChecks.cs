using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;
using OmgServers.Actors;
using OmgServers.Service.Database;

namespace OmgServers.Service.Health;

/// <summary>UP when PostgreSQL answers <c>SELECT 1</c> (own small pool, short timeouts, independent of the runtime).</summary>
internal sealed class DatabaseHealthCheck : IHealthCheck, IAsyncDisposable
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly Dictionary<string, object> _target;

    public DatabaseHealthCheck(DatabaseEndpoint endpoint)
    {
        var builder = new NpgsqlConnectionStringBuilder(endpoint.ConnectionString)
        {
            MaxPoolSize = 2,
            Timeout = 3,
            CommandTimeout = 3,
            ApplicationName = "omgservers-health",
        };
        _dataSource = NpgsqlDataSource.Create(builder);
        _target = new Dictionary<string, object>
        {
            ["host"] = builder.Host ?? "",
            ["port"] = builder.Port,
            ["database"] = builder.Database ?? "",
            ["embedded"] = endpoint.Embedded,
        };
    }

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await using var command = _dataSource.CreateCommand("SELECT 1");
            await command.ExecuteScalarAsync(cancellationToken);
            return HealthCheckResult.Healthy("PostgreSQL answers", _target);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or System.Net.Sockets.SocketException)
        {
            return HealthCheckResult.Unhealthy("PostgreSQL is not reachable", data: new Dictionary<string, object>(_target)
            {
                ["error"] = e.Message,
            });
        }
    }

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();
}

/// <summary>UP when the actor runtime has migrated its schema and this node holds every shard it should.</summary>
internal sealed class ActorRuntimeHealthCheck(ActorRuntime runtime) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object>
        {
            ["node"] = runtime.NodeId,
            ["started"] = runtime.IsStarted,
            ["shards_owned"] = runtime.OwnedShardCount,
            ["shard_count"] = runtime.Options.ShardCount,
        };
        return Task.FromResult(runtime.IsReady
            ? HealthCheckResult.Healthy("the node holds its shards", data)
            : HealthCheckResult.Unhealthy(runtime.IsStarted ? "the node does not hold all its shards yet" : "the actor runtime is not started", data: data));
    }
}

/// <summary>Ready once the JWT keys are loaded (from configuration or the database), so tokens can be issued and checked.</summary>
internal sealed class KeysHealthCheck(OmgServers.Service.Identity.KeyRing keys) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(keys.IsLoaded
            ? HealthCheckResult.Healthy("the JWT keys are loaded")
            : HealthCheckResult.Unhealthy("the JWT keys are not loaded yet"));
}

/// <summary>Ready once the default users exist (or bootstrap is off): the admin can log in when readiness says so.</summary>
internal sealed class BootstrapHealthCheck(OmgServers.Service.Identity.Bootstrap bootstrap) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(bootstrap.Completed
            ? HealthCheckResult.Healthy("the default users exist (or bootstrap is off)")
            : HealthCheckResult.Unhealthy("the default users are being created"));
}
