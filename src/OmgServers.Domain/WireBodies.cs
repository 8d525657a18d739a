using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using OmgServers.Contracts;
using OmgServers.Contracts.Interchange;

namespace OmgServers.Domain;

/// <summary>Message and command bodies in wire JSON (contract 4.1, 4.2), built where the entities need them.</summary>
public static class WireBodies
{
    public static JsonElement Of<T>(T body) => JsonSerializer.SerializeToElement(body, WireJson.Options);

    public static string Id(long id) => id.ToString(CultureInfo.InvariantCulture);

    /// <summary>A RuntimeConfig object: <c>lobby_config</c> or <c>match_config</c>, and the whole version config.</summary>
    public static JsonElement RuntimeConfig(long? lobbyId, (long MatchmakerId, long MatchId)? match, JsonElement versionConfig)
    {
        var config = new JsonObject
        {
            ["lobby_config"] = lobbyId is { } l ? new JsonObject { ["lobby_id"] = Id(l) } : null,
            ["match_config"] = match is { } m ? new JsonObject { ["matchmaker_id"] = Id(m.MatchmakerId), ["match_id"] = Id(m.MatchId) } : null,
            ["version_config"] = versionConfig.ValueKind == JsonValueKind.Undefined ? null : JsonNode.Parse(versionConfig.GetRawText()),
        };
        return JsonSerializer.SerializeToElement(config);
    }

    /// <summary>The body of <c>INIT_RUNTIME</c>: the RuntimeConfig as the deployment built it (the version config untouched).</summary>
    public static JsonElement InitRuntime(JsonElement runtimeConfig) =>
        JsonSerializer.SerializeToElement(new JsonObject { ["runtime_config"] = JsonNode.Parse(runtimeConfig.GetRawText()) });

    public static JsonElement RuntimeAssignment(long runtimeId, RuntimeQualifier qualifier, JsonElement runtimeConfig) =>
        JsonSerializer.SerializeToElement(new JsonObject
        {
            ["runtime_id"] = Id(runtimeId),
            ["runtime_qualifier"] = qualifier.ToString(),
            ["runtime_config"] = JsonNode.Parse(runtimeConfig.GetRawText()),
        });
}
