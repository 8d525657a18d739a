using System.Net;
using OmgServers.Actors;

namespace OmgServers.Service.Management;

/// <summary>
/// The operator's view of the cluster (what `pbm cluster show` and a graceful leave give Akka users), served to
/// loopback callers only: run `omgserversctl.sh cluster ...` on a node, or through an SSH tunnel to it.
/// <list type="bullet">
/// <item><c>GET /q/cluster</c>: every node of the membership table with its state and shards, and this node's view.</item>
/// <item><c>POST /q/cluster/nodes/{nodeId}/drain</c>: the node's shards move to the other nodes (before maintenance).</item>
/// <item><c>POST /q/cluster/nodes/{nodeId}/undrain</c>: the node takes shards again.</item>
/// </list>
/// </summary>
public static class ClusterApi
{
    public static IEndpointRouteBuilder MapClusterApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/q/cluster").AddEndpointFilter(LoopbackOnly).ExcludeFromDescription();
        group.MapGet("", ShowAsync);
        group.MapPost("/nodes/{nodeId}/drain", (string nodeId, ActorRuntime runtime, CancellationToken ct) => SetStateAsync(runtime, nodeId, draining: true, ct));
        group.MapPost("/nodes/{nodeId}/undrain", (string nodeId, ActorRuntime runtime, CancellationToken ct) => SetStateAsync(runtime, nodeId, draining: false, ct));
        return app;
    }

    private static async ValueTask<object?> LoopbackOnly(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var remote = context.HttpContext.Connection.RemoteIpAddress;
        if (remote is null || !IPAddress.IsLoopback(remote))
            return Results.Json(new QualifierBody("PERMISSION_NOT_FOUND"), statusCode: StatusCodes.Status403Forbidden);
        return await next(context);
    }

    private static async Task<IResult> ShowAsync(ActorRuntime runtime, OmgServers.Hosting.Configuration.OmgServersSettings settings, CancellationToken ct)
    {
        if (!runtime.IsStarted)
            return Results.Json(new QualifierBody("SERVER_NOT_FOUND"), statusCode: StatusCodes.Status503ServiceUnavailable);
        var view = await runtime.GetClusterViewAsync(ct);
        return Results.Json(new
        {
            self = view.Self,
            shard_count = view.ShardCount,
            unowned_shards = view.UnownedShards,
            ready = runtime.IsReady,
            nodes = view.Nodes.Select(n => new
            {
                node_id = n.NodeId,
                owner = n.Owner,
                address = n.Address,
                api_address = n.ApiAddress,
                state = n.State,
                started = n.StartedAt.ToString("yyyy-MM-ddTHH:mm:ss.fffZ"),
                heartbeat = n.HeartbeatAt.ToString("yyyy-MM-ddTHH:mm:ss.fffZ"),
                shard_count = n.Shards.Count,
                shards = n.Shards,
            }),
            // Servers of the configured index (OMGSERVERS_INITIALIZATION_SERVER_INDEX_SERVERS_<i>) that no live node serves.
            absent_servers = settings.Initialization.ServerIndexServers.Select(u => u.ToString().TrimEnd('/'))
                .Where(u => !view.Nodes.Any(n => n.State != "dead" && string.Equals(n.ApiAddress, u, StringComparison.OrdinalIgnoreCase))),
            metrics = new
            {
                active_entities = runtime.ActiveEntityCount,
                activations = runtime.Metrics.Activations.Value,
                passivations = runtime.Metrics.Passivations.Value,
                restarts = runtime.Metrics.Restarts.Value,
                journal_events = runtime.Metrics.JournalEvents.Value,
                journal_batches = runtime.Metrics.JournalBatches.Value,
                handoffs = runtime.Metrics.Handoffs.Value,
                leases_lost = runtime.Metrics.LeasesLost.Value,
            },
        });
    }

    private static async Task<IResult> SetStateAsync(ActorRuntime runtime, string nodeId, bool draining, CancellationToken ct)
    {
        if (!runtime.IsStarted)
            return Results.Json(new QualifierBody("SERVER_NOT_FOUND"), statusCode: StatusCodes.Status503ServiceUnavailable);
        return await runtime.SetNodeStateAsync(nodeId, draining, ct)
            ? Results.Json(new { node_id = nodeId, state = draining ? "leaving" : "up" })
            : Results.Json(new QualifierBody("SERVER_NOT_FOUND"), statusCode: StatusCodes.Status404NotFound);
    }

    private sealed record QualifierBody(string qualifier);
}
