using System.Text.Json;
using OmgServers.Actors;
using OmgServers.Contracts;
using OmgServers.Contracts.Interchange;
using OmgServers.Domain.Clients;
using OmgServers.Domain.Runtimes;
using OmgServers.Domain.Tenants;
using OmgServers.Security;
using OmgServers.Service.ControlPlane;
using OmgServers.Service.Identity;

namespace OmgServers.Service.Api;

/// <summary>
/// Player `create-client` and `interchange` (contract 2.1, 4.1). A client gets its SERVER_WELCOME_MESSAGE at once and
/// queues at its deployment for a lobby; the interchange acknowledges, then hands outgoing messages to the client's runtime.
/// </summary>
public static class PlayerApi
{
    private const string Base = "/service/v1/entrypoint/player/request";

    public static IEndpointRouteBuilder MapPlayerApi(this IEndpointRouteBuilder app)
    {
        var player = app.MapGroup(Base).WithTags("player");
        player.MapOmgPost<CreateClientRequest, CreateClientResponse>("/create-client", OmgRoles.Player, CreateClientAsync);
        player.MapOmgPost<PlayerInterchangeRequest, PlayerInterchangeResponse>("/interchange", OmgRoles.Player, InterchangeAsync);
        return app;
    }

    private static async Task<CreateClientResponse> CreateClientAsync(CreateClientRequest request, Caller? caller, HttpContext http)
    {
        var ct = http.RequestAborted;
        var tenants = http.RequestServices.GetRequiredService<Tenants>();
        var ids = http.RequestServices.GetRequiredService<SnowflakeIds>();
        var runtime = http.RequestServices.GetRequiredService<ActorRuntime>();
        var (tenantId, projectId, stageId) = await tenants.ResolveAsync(request.Tenant!, request.Project!, request.Stage!, ct);

        // The latest (highest id) live deployment of the stage (contract 2.1).
        var stage = await tenants.AskAsync<StageDetails>(tenantId, new TenantQueries.GetStageDetails(projectId, stageId, null), ct);
        var deployment = stage.Deployments.MaxBy(d => d.Id) ?? throw ApiException.NotFound(Qualifier.DEPLOYMENT_NOT_FOUND);
        var version = await tenants.AskAsync<VersionDetails>(tenantId, new TenantQueries.GetVersionDetails(deployment.VersionId, null), ct);

        var clientId = ids.Next();
        var now = Users.Now();
        var welcome = JsonSerializer.SerializeToElement(new ServerWelcomeMessageBody(tenantId, deployment.VersionId, version.Version.Created), WireJson.Options);
        var reply = await runtime.AskAsync<object>(ClientEntity.Address(clientId),
            new ClientCommands.Create(caller!.UserId, tenantId, stageId, deployment.Id, ids.Next(), welcome, now), ct: ct);
        if (reply is ClientRejected rejected) throw new ApiException(rejected.Qualifier, rejected.Status);
        return new CreateClientResponse(clientId);
    }

    private static async Task<PlayerInterchangeResponse> InterchangeAsync(PlayerInterchangeRequest request, Caller? caller, HttpContext http)
    {
        var outgoing = new List<JsonElement>(request.OutgoingMessages!.Count);
        foreach (var message in request.OutgoingMessages)
        {
            if (message is null || message.Qualifier != MessageQualifier.CLIENT_OUTGOING_MESSAGE)
                throw ApiException.BadRequest(Qualifier.WRONG_CLIENT_MESSAGE_BODY_TYPE);
            if (message.Body.ValueKind != JsonValueKind.Object || !message.Body.TryGetProperty("data", out var data))
                throw ApiException.BadRequest(Qualifier.WRONG_CLIENT_MESSAGE_BODY_TYPE);
            if (data.GetRawText().Length > PlayerInterchangeRequest.MaxMessageBytes)
                throw ApiException.BadRequest(Qualifier.VALIDATION_CONSTRAINT_VIOLATED, "a message's data is over 64 KiB");
            outgoing.Add(data.Clone());
        }
        var runtime = http.RequestServices.GetRequiredService<ActorRuntime>();
        var reply = await runtime.AskAsync<object>(ClientEntity.Address(request.ClientId!.Value),
            new ClientCommands.Interchange(caller!.UserId, outgoing, request.ConsumedMessages!), ct: http.RequestAborted);
        var ok = reply switch
        {
            InterchangeReply r => r,
            ClientRejected rejected => throw new ApiException(rejected.Qualifier, rejected.Status),
            _ => throw new InvalidOperationException($"unexpected reply {reply?.GetType().Name}"),
        };
        // The client's runtime gets the messages as HANDLE_MESSAGE commands, written before the player hears 200. A failure
        // here answers 503 and the player sends them again: at-least-once, as upstream.
        if (ok.RuntimeId is { } runtimeId && outgoing.Count > 0)
        {
            var handled = await runtime.AskAsync<object>(RuntimeEntity.Address(runtimeId),
                new RuntimeCommands.HandleMessages(request.ClientId.Value, outgoing), ct: http.RequestAborted);
            if (handled is RuntimeRejected rejected) throw new ApiException(rejected.Qualifier, rejected.Status);
        }
        return new PlayerInterchangeResponse(ok.Incoming);
    }
}
