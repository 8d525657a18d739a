using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace OmgServers.Benchmarks;

/// <summary>A player as the load client sees it: its client, its token, and the ids it still has to acknowledge.</summary>
internal sealed class PlayerState(long clientId, string token)
{
    public long ClientId { get; } = clientId;
    public AuthenticationHeaderValue Authorization { get; } = new("Bearer", token);
    public List<long> Acks { get; } = [];
}

/// <summary>An incoming message, as much of it as the benchmarks read.</summary>
internal readonly record struct Incoming(long Id, string Qualifier, JsonElement Body);

/// <summary>
/// One player interchange call as raw HTTP: the body is written by hand and the answer read with one JsonDocument, so
/// the load client costs the same against the service and against the bare floor.
/// </summary>
internal static class PlayerCalls
{
    public const string InterchangePath = "/service/v1/entrypoint/player/request/interchange";

    /// <summary>
    /// POSTs {"client_id", "outgoing_messages": the given data values as CLIENT_OUTGOING_MESSAGE, "consumed_messages":
    /// the player's pending acks}; on 200 the acks are replaced by the ids that came back. Returns the milliseconds
    /// from send to the whole answer, and the incoming messages.
    /// </summary>
    public static async Task<(double Ms, List<Incoming> Incoming)> InterchangeAsync(HttpClient http, string path, PlayerState player, IReadOnlyList<string>? outgoingDataJson = null)
    {
        var body = new StringBuilder(128);
        body.Append("{\"client_id\":\"").Append(player.ClientId).Append("\",\"outgoing_messages\":[");
        for (var i = 0; i < (outgoingDataJson?.Count ?? 0); i++)
        {
            if (i > 0) body.Append(',');
            body.Append("{\"id\":").Append(i + 1).Append(",\"qualifier\":\"CLIENT_OUTGOING_MESSAGE\",\"body\":{\"data\":").Append(outgoingDataJson![i]).Append("}}");
        }
        body.Append("],\"consumed_messages\":[");
        for (var i = 0; i < player.Acks.Count; i++)
        {
            if (i > 0) body.Append(',');
            body.Append('"').Append(player.Acks[i]).Append('"');
        }
        body.Append("]}");
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body.ToString()));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        request.Headers.Authorization = player.Authorization;

        var t0 = Stopwatch.GetTimestamp();
        using var response = await http.SendAsync(request);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        var ms = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        if (response.StatusCode != HttpStatusCode.OK)
            throw new InvalidOperationException($"{path}: {(int)response.StatusCode} {Encoding.UTF8.GetString(bytes)}");

        var incoming = new List<Incoming>();
        using (var document = JsonDocument.Parse(bytes))
        {
            foreach (var message in document.RootElement.GetProperty("incoming_messages").EnumerateArray())
                incoming.Add(new Incoming(long.Parse(message.GetProperty("id").GetString()!), message.GetProperty("qualifier").GetString()!, message.GetProperty("body").Clone()));
        }
        player.Acks.Clear();
        foreach (var message in incoming) player.Acks.Add(message.Id);
        return (ms, incoming);
    }

    /// <summary>An HTTP/1.1 keep-alive client with up to <paramref name="connections"/> connections.</summary>
    public static HttpClient NewClient(int port, int connections) =>
        new(new SocketsHttpHandler { MaxConnectionsPerServer = connections, PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5) })
        {
            BaseAddress = new Uri($"http://127.0.0.1:{port}"),
            Timeout = TimeSpan.FromSeconds(30),
            DefaultRequestVersion = HttpVersion.Version11,
        };
}
