using Xunit;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using OmgServers.Security;
using OmgServers.Service.Tests.Infrastructure;

namespace OmgServers.Service.Tests.Identity;

/// <summary>One real service process for the identity tests: its own database, known bootstrap passwords, and a key
/// pair the test holds too (so it can forge tokens that are expired, of another issuer or audience).</summary>
public sealed class IdentityServiceFixture(TestPostgres postgres) : IAsyncLifetime
{
    public const string AdminPassword = "admin-Secret-1";
    public const string SupportPassword = "support-Secret-2";
    public static readonly TimeSpan PlayerTokenLifetime = TimeSpan.FromSeconds(120);

    public ServiceProcess Service { get; private set; } = null!;
    public HttpClient Http { get; private set; } = null!;
    public RSA PrivateKey { get; } = RSA.Create(2048);
    public string ConnectionString { get; private set; } = "";
    private string _directory = "";

    public async ValueTask InitializeAsync()
    {
        ConnectionString = await postgres.CreateDatabaseAsync("identity");
        _directory = TempDirectory.NewPath("identity");
        Directory.CreateDirectory(_directory);
        var privatePath = Path.Combine(_directory, "private.pem");
        var publicPath = Path.Combine(_directory, "public.pem");
        await File.WriteAllTextAsync(privatePath, PrivateKey.ExportPkcs8PrivateKeyPem());
        await File.WriteAllTextAsync(publicPath, PrivateKey.ExportSubjectPublicKeyInfoPem());
        Service = ServiceProcess.Start(new Dictionary<string, string>
        {
            ["OMGSERVERS_DATABASE_URL"] = ConnectionString,
            ["OMGSERVERS_SERVER_PRIVATE_KEY"] = "file:" + privatePath,
            ["OMGSERVERS_SERVER_PUBLIC_KEY"] = "file:" + publicPath,
            ["OMGSERVERS_BOOTSTRAP_ENABLED"] = "true",
            ["OMGSERVERS_BOOTSTRAP_ADMIN_USER_PASSWORD"] = AdminPassword,
            ["OMGSERVERS_BOOTSTRAP_SUPPORT_USER_PASSWORD"] = SupportPassword,
            ["OMGSERVERS_SERVER_SHARD_COUNT"] = "4",
            ["OMGSERVERS_CLIENTS_TOKEN_LIFETIME"] = ((int)PlayerTokenLifetime.TotalSeconds).ToString(),
            ["OMGSERVERS_ACTORS_SHARD_COUNT"] = "16",
        }, _directory);
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{Service.Port}") };
        if (!await Service.WaitForStatusAsync("/q/health/ready", HttpStatusCode.OK, TimeSpan.FromSeconds(60)))
            throw new InvalidOperationException("service not ready\n" + Service.Describe());
        // Bootstrap runs once the runtime serves: wait until the admin can log in.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await PostAsync("/service/v1/entrypoint/admin/request/create-token", new { user = "admin", password = AdminPassword })).Status != HttpStatusCode.OK)
        {
            if (DateTime.UtcNow > deadline) throw new InvalidOperationException("bootstrap users never appeared\n" + Service.Describe());
            await Task.Delay(100);
        }
    }

    public async Task<(HttpStatusCode Status, JsonElement Body)> PostAsync(string path, object? body, string? token = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path);
        if (body is not null) request.Content = body is HttpContent content ? content : JsonContent.Create(body);
        if (token is not null) request.Headers.Authorization = new("Bearer", token);
        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    public static HttpContent Raw(string text, string contentType = "application/json") => new StringContent(text, Encoding.UTF8, contentType);

    public async Task<string> TokenAsync(string area, object body)
    {
        var (status, json) = await PostAsync($"/service/v1/entrypoint/{area}/request/create-token", body);
        if (status != HttpStatusCode.OK) throw new InvalidOperationException($"create-token {area}: {status} {json}");
        return json.GetProperty("raw_token").GetString()!;
    }

    public Task<string> AdminTokenAsync() => TokenAsync("admin", new { user = "admin", password = AdminPassword });

    /// <summary>A token signed with the server's own key, with whatever claims the test wants.</summary>
    public string Forge(string subject, string role, TimeSpan lifetime, string? issuer = null, string? audience = null)
    {
        using var issuerKey = RSA.Create();
        issuerKey.ImportPkcs8PrivateKey(PrivateKey.ExportPkcs8PrivateKey(), out _);
        using var jwt = new JwtIssuer(issuerKey, issuer ?? "omgservers", new ShiftedTime(lifetime < TimeSpan.Zero ? lifetime * 2 : TimeSpan.Zero));
        return jwt.Issue(new JwtTokenDescriptor
        {
            Subject = subject,
            Lifetime = lifetime < TimeSpan.Zero ? -lifetime : lifetime,
            Groups = [role],
            Audience = audience,
            Claims = new Dictionary<string, string> { ["user_id"] = subject },
        });
    }

    private sealed class ShiftedTime(TimeSpan shift) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => DateTimeOffset.UtcNow + shift;
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Service.DisposeAsync();
        PrivateKey.Dispose();
    }
}
