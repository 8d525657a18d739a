using System.Text.Json;
using System.Text.Json.Nodes;
using OmgServers.Contracts;

namespace OmgServers.Contracts.Interchange;

/// <summary>
/// Free-form JSON payloads (a player's <c>data</c>, a runtime's <c>message</c>, a <c>profile</c>): carried as
/// <see cref="JsonElement"/> so that DTOs stay immutable. <see cref="From"/> turns anything into one with
/// <see cref="WireJson.Options"/>: a <see cref="JsonElement"/> or <see cref="JsonNode"/> is kept as written,
/// dictionary keys are kept, properties of objects become snake_case, and <c>long</c> values are written as strings
/// like every id on the wire (so pass <c>int</c> or <c>double</c> for numbers that must stay numbers).
/// </summary>
public static class Payload
{
    /// <summary>The JSON value <c>null</c>.</summary>
    public static JsonElement Null { get; } = JsonSerializer.SerializeToElement<object?>(null);

    /// <summary>An empty object, <c>{}</c>.</summary>
    public static JsonElement EmptyObject { get; } = Parse("{}");

    public static JsonElement From(object? value) => value switch
    {
        null => Null,
        JsonElement element => element.ValueKind == JsonValueKind.Undefined ? Null : element,
        JsonDocument document => document.RootElement.Clone(),
        _ => JsonSerializer.SerializeToElement(value, value.GetType(), WireJson.Options),
    };

    public static JsonElement Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }

    /// <summary>A body record as its JSON object, with the wire's rules.</summary>
    internal static JsonElement Body<T>(T body) => JsonSerializer.SerializeToElement(body, WireJson.Options);

    internal static T ReadBody<T>(JsonElement body, string qualifier) =>
        body.ValueKind == JsonValueKind.Object
            ? body.Deserialize<T>(WireJson.Options) ?? throw new JsonException($"{qualifier}: the body is null")
            : throw new JsonException($"{qualifier}: the body is {body.ValueKind}, not an object");
}
