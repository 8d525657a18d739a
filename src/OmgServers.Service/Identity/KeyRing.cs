using System.Security.Cryptography;
using Npgsql;
using OmgServers.Hosting.Configuration;
using OmgServers.Security;
using OmgServers.Service.Database;

namespace OmgServers.Service.Identity;

/// <summary>
/// The RSA pair that signs and verifies this installation's JWTs. From OMGSERVERS_SERVER_PUBLIC_KEY / _PRIVATE_KEY
/// when set; otherwise a pair generated once and kept in the database (table service_keys), so every node of a
/// cluster signs with the same key and tokens stay valid across restarts.
/// </summary>
public sealed class KeyRing(OmgServersSettings settings, DatabaseEndpoint database, ILogger<KeyRing> log) : IHostedService, IJwtValidatorSource, IDisposable
{
    private readonly TaskCompletionSource<(JwtIssuer Issuer, JwtValidator Validator)> _keys = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stop = new();

    public bool IsLoaded => _keys.Task.IsCompletedSuccessfully;

    /// <summary>The signer; a call before the keys are loaded (database still unreachable) answers 503, it never waits.</summary>
    public JwtIssuer Issuer => _keys.Task.IsCompletedSuccessfully
        ? _keys.Task.Result.Issuer
        : throw OmgServers.Contracts.ApiException.Unavailable("signing keys not loaded yet");

    /// <summary>The verifier, or null while the keys load (the authentication handler then answers 503).</summary>
    public JwtValidator? Validator => _keys.Task.IsCompletedSuccessfully ? _keys.Task.Result.Validator : null;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // In the background, like the actor runtime: the host serves liveness while the database comes up.
        _ = Task.Run(LoadWithRetryAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    private async Task LoadWithRetryAsync()
    {
        for (var attempt = 1; !_stop.IsCancellationRequested; attempt++)
        {
            try
            {
                RSA privateKey;
                if (settings.Server.PrivateKey.Length > 0)
                {
                    privateKey = RsaKeys.Load(settings.Server.PublicKey, settings.Server.PrivateKey).PrivateKey;
                    log.LogInformation("JWT keys loaded from configuration");
                }
                else
                {
                    privateKey = await LoadOrCreateInDatabaseAsync(_stop.Token);
                }
                var publicKey = RSA.Create();
                publicKey.ImportSubjectPublicKeyInfo(privateKey.ExportSubjectPublicKeyInfo(), out _);
                _keys.TrySetResult((new JwtIssuer(privateKey, settings.Server.JwtIssuer),
                    new JwtValidator(publicKey, new JwtValidationOptions { Issuer = settings.Server.JwtIssuer, Audience = settings.Server.JwtIssuer })));
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException && !_stop.IsCancellationRequested)
            {
                log.Log(attempt <= 5 ? LogLevel.Debug : LogLevel.Warning, "JWT keys not loaded yet (attempt {Attempt}): {Error}", attempt, ex.Message);
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(5000, 125 << Math.Min(attempt, 6))), _stop.Token).ContinueWith(_ => { });
            }
            catch (Exception ex)
            {
                log.LogCritical(ex, "JWT keys cannot be loaded");
                _keys.TrySetException(ex);
                return;
            }
        }
    }

    private async Task<RSA> LoadOrCreateInDatabaseAsync(CancellationToken ct)
    {
        await using var db = NpgsqlDataSource.Create(database.ConnectionString);
        await using (var create = db.CreateCommand("CREATE TABLE IF NOT EXISTS service_keys (name text PRIMARY KEY, private_pem text NOT NULL, created timestamptz NOT NULL DEFAULT now())"))
            await create.ExecuteNonQueryAsync(ct);
        using var candidate = RSA.Create(2048);
        await using (var insert = db.CreateCommand("INSERT INTO service_keys (name, private_pem) VALUES ('jwt', $1) ON CONFLICT (name) DO NOTHING"))
        {
            insert.Parameters.AddWithValue(candidate.ExportPkcs8PrivateKeyPem());
            if (await insert.ExecuteNonQueryAsync(ct) == 1)
                log.LogInformation("generated the installation's JWT signing key (kept in the database; set OMGSERVERS_SERVER_PRIVATE_KEY/PUBLIC_KEY to use your own)");
        }
        await using var select = db.CreateCommand("SELECT private_pem FROM service_keys WHERE name = 'jwt'");
        var pem = (string)(await select.ExecuteScalarAsync(ct))!;
        var key = RSA.Create();
        key.ImportFromPem(pem);
        return key;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _stop.Cancel();
        return Task.CompletedTask;
    }

    public void Dispose() => _stop.Dispose();
}
