using System.Text.Json;
using OmgServers.Actors;
using OmgServers.Contracts;
using OmgServers.Contracts.Interchange;
using OmgServers.Domain.Runtimes;
using OmgServers.Security;
using OmgServers.Service.Identity;

namespace OmgServers.Service.Api;

/// <summary>
/// Runtime `create-token` and `interchange` (contract 2.2, 4.2). The runtime id comes from the token. The edge parses
/// and signs what only it can (a player WS token per UPGRADE_CONNECTION); the runtime entity checks assignments,
/// executes the commands and answers with every command not yet acknowledged.
/// </summary>
public static class RuntimeApi
{
    private const string Base = "/service/v1/entrypoint/runtime/request";

    /// <summary>Ours: player WS tokens signed per call (an RS256 signature each); further UPGRADE_CONNECTIONs of the call are skipped.</summary>
    public const int MaxUpgradesPerCall = 100;

    public static IEndpointRouteBuilder MapRuntimeApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup(Base).WithTags("runtime");
        group.MapOmgPost<CreateRuntimeTokenRequest, CreateRuntimeTokenResponse>("/create-token", null, CreateTokenAsync);
        group.MapOmgPost<RuntimeInterchangeRequest, RuntimeInterchangeResponse>("/interchange", OmgRoles.Runtime, InterchangeAsync,
            RuntimeInterchangeRequest.MaxBodyBytes);
        return app;
    }

    private static async Task<CreateRuntimeTokenResponse> CreateTokenAsync(CreateRuntimeTokenRequest request, Caller? _, HttpContext http)
    {
        var runtime = http.RequestServices.GetRequiredService<ActorRuntime>();
        var keys = http.RequestServices.GetRequiredService<KeyRing>();
        var reply = await runtime.AskAsync<object>(RuntimeEntity.Address(request.RuntimeId!.Value), new RuntimeCommands.Authenticate(request.Password!), ct: http.RequestAborted);
        return reply switch
        {
            RuntimeAuthenticated ok => new CreateRuntimeTokenResponse(keys.Issuer.IssueRuntimeApiToken(ok.RuntimeId), keys.Issuer.IssueRuntimeWsToken(ok.UserId, ok.RuntimeId)),
            RuntimeRejected rejected => throw new ApiException(rejected.Qualifier, rejected.Status),
            _ => throw new InvalidOperationException($"unexpected reply {reply?.GetType().Name}"),
        };
    }

    private static async Task<RuntimeInterchangeResponse> InterchangeAsync(RuntimeInterchangeRequest request, Caller? caller, HttpContext http)
    {
        if (!long.TryParse(caller!.Claims.RuntimeId ?? caller.Claims.Subject, out var runtimeId)) throw ApiException.Unauthorized();
        if (request.OutgoingCommands!.Any(c => c is null)) throw ApiException.BadRequest(Qualifier.WRONG_REQUEST, "an outgoing command is null");
        var outgoing = request.OutgoingCommands!;
        // Only the edge holds the signing key: it signs a player WS token per upgraded client; the entity hands it out
        // only when the client is assigned to this runtime.
        var keys = http.RequestServices.GetRequiredService<KeyRing>();
        var tokens = UpgradeTokens(outgoing, clientId => keys.Issuer.IssuePlayerWsToken(clientId, runtimeId));
        var actors = http.RequestServices.GetRequiredService<ActorRuntime>();
        var reply = await actors.AskAsync<object>(RuntimeEntity.Address(runtimeId),
            new RuntimeCommands.Interchange(outgoing, request.ConsumedCommands!, tokens), ct: http.RequestAborted);
        return reply switch
        {
            RuntimeInterchangeReply ok => new RuntimeInterchangeResponse(ok.Incoming),
            RuntimeRejected rejected => throw new ApiException(rejected.Qualifier, rejected.Status),
            _ => throw new InvalidOperationException($"unexpected reply {reply?.GetType().Name}"),
        };
    }

    /// <summary>One token per client of the call's UPGRADE_CONNECTIONs, for at most <see cref="MaxUpgradesPerCall"/> clients.</summary>
    public static IReadOnlyDictionary<long, string> UpgradeTokens(IEnumerable<OutgoingCommand> commands, Func<long, string> sign)
    {
        var tokens = new Dictionary<long, string>();
        foreach (var command in commands)
            if (command.Qualifier == OutgoingCommandQualifier.UPGRADE_CONNECTION && TryClientId(command.Body) is { } clientId
                && !tokens.ContainsKey(clientId) && tokens.Count < MaxUpgradesPerCall)
                tokens[clientId] = sign(clientId);
        return tokens;
    }

    private static long? TryClientId(JsonElement body)
    {
        try
        {
            return body.ValueKind == JsonValueKind.Object ? body.Deserialize<UpgradeConnectionBody>(WireJson.Options)?.ClientId : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
