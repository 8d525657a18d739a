using System.Text.Json;

namespace OmgServers.Sdk.Internal;

/// <summary>
/// Holds a bearer token and renews it by calling create-token again (the contract has no refresh endpoint, 3.1):
/// ahead of time, <see cref="OmgClientOptions.TokenRefreshMargin"/> before the <c>exp</c> read from the JWT payload
/// (never before half its lifetime), and on demand after a 401. Concurrent callers share one renewal.
/// </summary>
internal sealed class TokenKeeper(Func<CancellationToken, Task<string>> issue, OmgClientOptions options, string name)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile Holder? _current;

    private sealed record Holder(string Token, DateTimeOffset? ExpiresAt, DateTimeOffset? RenewAt);

    public string? Token => _current?.Token;

    public DateTimeOffset? ExpiresAt => _current?.ExpiresAt;

    public void Set(string token)
    {
        var now = options.TimeProvider.GetUtcNow();
        var (exp, iat) = JwtClaims.ReadTimes(token);
        DateTimeOffset? renewAt = null;
        if (exp is { } e)
        {
            var lifetime = e - (iat ?? now);
            var margin = TimeSpan.FromTicks(Math.Min(options.TokenRefreshMargin.Ticks, Math.Max(0, lifetime.Ticks / 2)));
            renewAt = e - margin;
        }
        _current = new Holder(token, exp, renewAt);
    }

    /// <summary>The token to send now, renewed first when it is due.</summary>
    public async ValueTask<string> GetAsync(CancellationToken ct)
    {
        var current = _current;
        if (current is not null && !IsDue(current)) return current.Token;
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            current = _current;
            if (current is not null && !IsDue(current)) return current.Token;
            try
            {
                Set(await issue(ct).ConfigureAwait(false));
                options.Write(OmgLogLevel.Information, $"{name}: token renewed, expires {_current!.ExpiresAt:O}");
            }
            catch (Exception e) when (current is not null && !IsExpired(current) && e is not OperationCanceledException)
            {
                // The old token still works for a while: keep it and try again on the next call.
                options.Write(OmgLogLevel.Warning, $"{name}: renewing the token failed; using the current one until {current.ExpiresAt:O}", e);
                return current.Token;
            }
            return _current!.Token;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>After a 401: renew unless someone else already replaced <paramref name="rejected"/>.</summary>
    public async Task RenewAsync(string? rejected, CancellationToken ct)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_current is not null && _current.Token != rejected) return;
            Set(await issue(ct).ConfigureAwait(false));
        }
        finally
        {
            _gate.Release();
        }
    }

    private bool IsDue(Holder holder) => holder.RenewAt is { } at && options.TimeProvider.GetUtcNow() >= at;

    private bool IsExpired(Holder holder) => holder.ExpiresAt is { } at && options.TimeProvider.GetUtcNow() >= at;
}

/// <summary>Reads <c>exp</c> and <c>iat</c> from a JWT's payload without checking it (the server checks it).</summary>
internal static class JwtClaims
{
    public static (DateTimeOffset? Exp, DateTimeOffset? Iat) ReadTimes(string token)
    {
        var parts = token.Split('.');
        if (parts.Length < 2) return (null, null);
        try
        {
            var segment = parts[1].Replace('-', '+').Replace('_', '/');
            segment = segment.PadRight(segment.Length + (4 - segment.Length % 4) % 4, '=');
            using var document = JsonDocument.Parse(Convert.FromBase64String(segment));
            if (document.RootElement.ValueKind != JsonValueKind.Object) return (null, null);
            return (Seconds(document.RootElement, "exp"), Seconds(document.RootElement, "iat"));
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
            return (null, null);
        }
    }

    private static DateTimeOffset? Seconds(JsonElement payload, string claim)
    {
        if (!payload.TryGetProperty(claim, out var value)) return null;
        double seconds;
        if (value.ValueKind == JsonValueKind.Number) seconds = value.GetDouble();
        else if (value.ValueKind == JsonValueKind.String && double.TryParse(value.GetString(), System.Globalization.CultureInfo.InvariantCulture, out var s)) seconds = s;
        else return null;
        return DateTimeOffset.FromUnixTimeMilliseconds((long)(seconds * 1000));
    }
}
