using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using OmgServers.Contracts;

namespace OmgServers.Sdk.Internal;

/// <summary>
/// One POST of the contract (1.1): a JSON body written with <see cref="WireJson.Options"/>, a bearer token when the
/// call needs one, and the SDK's failure rules: 503 and network failures are retried with exponential backoff up to
/// <see cref="OmgClientOptions.MaxAttempts"/>; a 401 renews the token once and repeats the call; any other error
/// status becomes an <see cref="OmgApiException"/>.
/// </summary>
/// <remarks>
/// A retried call may reach the server twice when only the answer was lost. The interchange tolerates that: an
/// acknowledgement repeated is a no-op, and outgoing messages are at-least-once like the rest of the contract.
/// </remarks>
internal sealed class ServiceCaller(HttpClient http, Uri serviceUrl, OmgClientOptions options)
{
    private static readonly MediaTypeHeaderValue Json = new("application/json");
    private static readonly Dictionary<string, Qualifier> KnownQualifiers = Enum.GetValues<Qualifier>().ToDictionary(q => q.ToString(), StringComparer.Ordinal);

    public Uri ServiceUrl { get; } = new(serviceUrl.ToString().TrimEnd('/') + "/");

    public async Task<TResponse> PostAsync<TRequest, TResponse>(string path, TRequest request, TokenKeeper? auth, CancellationToken ct)
    {
        var payload = JsonSerializer.SerializeToUtf8Bytes(request, WireJson.Options);
        var uri = new Uri(ServiceUrl, path);
        var renewed = false;
        for (var attempt = 1; ; attempt++)
        {
            ct.ThrowIfCancellationRequested();
            var token = auth is null ? null : await auth.GetAsync(ct).ConfigureAwait(false);
            using var message = new HttpRequestMessage(HttpMethod.Post, uri) { Content = new ByteArrayContent(payload) };
            message.Content.Headers.ContentType = Json;
            if (token is not null) message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);

            HttpResponseMessage response;
            try
            {
                response = await http.SendAsync(message, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (IsNetworkFailure(e, ct) && attempt < options.MaxAttempts)
            {
                await BackOffAsync(path, attempt, e.Message, e, ct).ConfigureAwait(false);
                continue;
            }

            using (response)
            {
                if (response.IsSuccessStatusCode)
                {
                    await using var body = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
                    return await JsonSerializer.DeserializeAsync<TResponse>(body, WireJson.Options, ct).ConfigureAwait(false)
                           ?? throw new JsonException($"{path} answered null");
                }

                var error = await ReadErrorAsync(path, response, ct).ConfigureAwait(false);
                if (response.StatusCode == HttpStatusCode.Unauthorized && auth is not null && !renewed)
                {
                    renewed = true;
                    options.Write(OmgLogLevel.Information, $"{path} answered 401; renewing the token once");
                    await auth.RenewAsync(token, ct).ConfigureAwait(false);
                    attempt--; // the renewal is not a retry
                    continue;
                }
                if (response.StatusCode == HttpStatusCode.ServiceUnavailable && attempt < options.MaxAttempts)
                {
                    await BackOffAsync(path, attempt, "503 " + error.RawQualifier, null, ct).ConfigureAwait(false);
                    continue;
                }
                throw error;
            }
        }
    }

    private static bool IsNetworkFailure(Exception e, CancellationToken ct) =>
        e is HttpRequestException || (e is TaskCanceledException && !ct.IsCancellationRequested); // HttpClient.Timeout

    private async Task BackOffAsync(string path, int attempt, string why, Exception? e, CancellationToken ct)
    {
        var exponential = options.RetryInitialDelay.TotalMilliseconds * Math.Pow(2, attempt - 1);
        var capped = Math.Min(exponential, options.RetryMaxDelay.TotalMilliseconds);
        var delay = TimeSpan.FromMilliseconds(capped * (0.8 + 0.4 * Random.Shared.NextDouble())); // ±20% jitter
        options.Write(OmgLogLevel.Warning, $"{path} failed ({why}), attempt {attempt} of {options.MaxAttempts}; retrying in {delay.TotalMilliseconds:0} ms", e);
        await Task.Delay(delay, ct).ConfigureAwait(false);
    }

    private static async Task<OmgApiException> ReadErrorAsync(string path, HttpResponseMessage response, CancellationToken ct)
    {
        string? raw = null;
        try
        {
            var text = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
            if (!string.IsNullOrWhiteSpace(text))
            {
                using var document = JsonDocument.Parse(text);
                if (document.RootElement.ValueKind == JsonValueKind.Object
                    && document.RootElement.TryGetProperty("qualifier", out var q) && q.ValueKind == JsonValueKind.String)
                    raw = q.GetString();
            }
        }
        catch (JsonException)
        {
            // Not the contract's error body (a proxy's HTML page, say): the status alone tells.
        }
        Qualifier? qualifier = raw is not null && KnownQualifiers.TryGetValue(raw, out var known) ? known : null;
        return new OmgApiException(path, (int)response.StatusCode, qualifier, raw);
    }
}
