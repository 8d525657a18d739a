using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using FluentAssertions;
using OmgServers.Service.Tests.Infrastructure;
using Xunit;

namespace OmgServers.Service.Tests.ControlPlane;

/// <summary>An answer of the service: status, parsed body (default when empty) and the raw text.</summary>
public sealed record ApiResponse(HttpStatusCode Status, JsonElement Body, string Text)
{
    public string Str(string property) => Body.GetProperty(property).GetString()!;

    public long Id(string property)
    {
        Body.GetProperty(property).ValueKind.Should().Be(JsonValueKind.String, $"{property} is an id, written as a JSON string");
        return long.Parse(Str(property));
    }

    /// <summary>200, and the body is what the caller expects to read next.</summary>
    public ApiResponse Ok(string because = "")
    {
        Status.Should().Be(HttpStatusCode.OK, $"{because} (body {Text})");
        return this;
    }

    /// <summary>The status and exactly {"qualifier": qualifier}.</summary>
    public void Fails(int status, string qualifier, string because = "")
    {
        ((int)Status).Should().Be(status, $"{because} (body {Text})");
        Body.ValueKind.Should().Be(JsonValueKind.Object, Text);
        Body.EnumerateObject().Select(p => p.Name).Should().Equal(["qualifier"], "the error body is exactly {\"qualifier\": ...}");
        Body.GetProperty("qualifier").GetString().Should().Be(qualifier, because);
    }
}

/// <summary>A developer account with its token.</summary>
public sealed record Developer(long UserId, string Password, string Token);

/// <summary>
/// One real service process per test class, on its own fresh database, with known bootstrap passwords for the admin,
/// support, builder and service users. Snapshots every 5 events so that recovery after a restart goes through a
/// snapshot plus a journal tail.
/// </summary>
public sealed class ControlPlaneFixture(TestPostgres postgres) : IAsyncLifetime
{
    public const string Entry = "/service/v1/entrypoint";
    public const string Support = Entry + "/support/request";
    public const string Dev = Entry + "/developer/request";
    public const string AdminPassword = "admin-Pass-1";
    public const string SupportPassword = "support-Pass-2";
    private static readonly TimeSpan StartDeadline = TimeSpan.FromSeconds(60);

    private readonly Dictionary<string, string> _environment = new();
    private string _directory = "";

    public ServiceProcess Service { get; private set; } = null!;
    public HttpClient Http { get; private set; } = null!;
    public string SupportToken { get; private set; } = "";
    public long BuilderUserId { get; private set; }
    public long ServiceUserId { get; private set; }

    public async ValueTask InitializeAsync()
    {
        var connectionString = await postgres.CreateDatabaseAsync("controlplane");
        _directory = TempDirectory.NewPath("controlplane");
        _environment["OMGSERVERS_DATABASE_URL"] = connectionString;
        _environment["OMGSERVERS_BOOTSTRAP_ENABLED"] = "true";
        _environment["OMGSERVERS_BOOTSTRAP_ADMIN_USER_PASSWORD"] = AdminPassword;
        _environment["OMGSERVERS_BOOTSTRAP_SUPPORT_USER_PASSWORD"] = SupportPassword;
        _environment["OMGSERVERS_BOOTSTRAP_BUILDER_USER_PASSWORD"] = "builder-Pass-3";
        _environment["OMGSERVERS_BOOTSTRAP_SERVICE_USER_PASSWORD"] = "service-Pass-4";
        _environment["OMGSERVERS_ACTORS_SHARD_COUNT"] = "16";
        _environment["OMGSERVERS_ACTORS_SNAPSHOT_EVERY"] = "5";
        await StartAsync();

        // Bootstrap runs once the runtime serves; the service user is the last one with a password here.
        var deadline = DateTime.UtcNow + StartDeadline;
        string? serviceToken = null;
        while (serviceToken is null)
        {
            var login = await PostAsync(Entry + "/admin/request/create-token", new { user = "service", password = "service-Pass-4" });
            if (login.Status == HttpStatusCode.OK) serviceToken = login.Str("raw_token");
            else if (DateTime.UtcNow > deadline) throw new InvalidOperationException("bootstrap users never appeared\n" + Service.Describe());
            else await Task.Delay(100);
        }
        ServiceUserId = SubjectOf(serviceToken);
        BuilderUserId = SubjectOf((await PostAsync(Entry + "/admin/request/create-token", new { user = "builder", password = "builder-Pass-3" })).Ok().Str("raw_token"));
        SupportToken = (await PostAsync(Support + "/create-token", new { user = "support", password = SupportPassword })).Ok().Str("raw_token");
    }

    private async Task StartAsync()
    {
        Service = ServiceProcess.Start(_environment, _directory);
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{Service.Port}"), Timeout = TimeSpan.FromSeconds(30) };
        if (!await Service.WaitForStatusAsync("/q/health/ready", HttpStatusCode.OK, StartDeadline))
            throw new InvalidOperationException("service not ready\n" + Service.Describe());
    }

    /// <summary>Stops the service gracefully and starts it again on the same database.</summary>
    public async Task RestartAsync()
    {
        (await Service.TerminateAsync(TimeSpan.FromSeconds(30))).Should().Be(0, Service.Describe());
        Http.Dispose();
        await Service.DisposeAsync();
        await StartAsync();
    }

    public static long SubjectOf(string token)
    {
        var part = token.Split('.')[1].Replace('-', '+').Replace('_', '/');
        var json = JsonDocument.Parse(Convert.FromBase64String(part.PadRight(part.Length + (4 - part.Length % 4) % 4, '='))).RootElement;
        return long.Parse(json.GetProperty("sub").GetString()!);
    }

    public static HttpContent Raw(string text, string contentType = "application/json") => new StringContent(text, Encoding.UTF8, contentType);

    /// <summary>POSTs <paramref name="body"/> (an object serialized as JSON, or ready content) with an optional bearer token.</summary>
    public async Task<ApiResponse> PostAsync(string path, object? body, string? token = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path);
        if (body is not null) request.Content = body as HttpContent ?? JsonContent.Create(body, body.GetType());
        if (token is not null) request.Headers.Authorization = new("Bearer", token);
        using var response = await Http.SendAsync(request, TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        return new ApiResponse(response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone(), text);
    }

    public Task<ApiResponse> SupportAsync(string operation, object? body) => PostAsync($"{Support}/{operation}", body, SupportToken);

    public Task<ApiResponse> DevAsync(Developer developer, string operation, object? body) => PostAsync($"{Dev}/{operation}", body, developer.Token);

    // ------------------------------------------------------------------ building blocks of the support flow

    /// <summary>A new tenant, with the alias if given; returns its id.</summary>
    public async Task<long> NewTenantAsync(string? alias = null)
    {
        var tenantId = (await SupportAsync("create-tenant", new { })).Ok().Id("id");
        if (alias is not null) (await SupportAsync("create-tenant-alias", new { tenant_id = tenantId, alias })).Ok();
        return tenantId;
    }

    /// <summary>A new developer (support create-developer), logged in.</summary>
    public async Task<Developer> NewDeveloperAsync()
    {
        var created = (await SupportAsync("create-developer", new { })).Ok();
        var userId = created.Id("user_id");
        var password = created.Str("password");
        var token = (await PostAsync(Dev + "/create-token", new { user_id = userId.ToString(), password })).Ok().Str("raw_token");
        return new Developer(userId, password, token);
    }

    public async Task GrantTenantAsync(object tenant, Developer developer, params string[] permissions) =>
        (await SupportAsync("create-tenant-permissions", new { tenant = tenant.ToString(), user_id = developer.UserId, permissions_to_create = permissions })).Ok();

    /// <summary>A tenant with a developer who holds PROJECT_MANAGER and TENANT_VIEWER in it.</summary>
    public async Task<(long TenantId, Developer Developer)> NewTenantWithDeveloperAsync()
    {
        var tenantId = await NewTenantAsync();
        var developer = await NewDeveloperAsync();
        await GrantTenantAsync(tenantId, developer, "PROJECT_MANAGER", "TENANT_VIEWER");
        return (tenantId, developer);
    }

    /// <summary>A project created by the developer (who thereby manages it): project and first stage ids.</summary>
    public async Task<(long ProjectId, long StageId)> NewProjectAsync(long tenantId, Developer developer)
    {
        var created = (await DevAsync(developer, "create-project", new { tenant = tenantId.ToString() })).Ok();
        return (created.Id("project_id"), created.Id("stage_id"));
    }

    public static readonly object ValidConfig = new
    {
        modes = new[] { new { name = "death-match", min_players = 1, max_players = 8, groups = new[] { new { name = "players", min_players = 1, max_players = 8 } } } },
        user_data = new { any = "json", big = 9_000_000_000L },
    };

    /// <summary>A version of the project with one UNIVERSAL image: ready to deploy.</summary>
    public async Task<long> NewDeployableVersionAsync(long tenantId, long projectId, Developer developer)
    {
        var versionId = (await DevAsync(developer, "create-version", new { tenant = tenantId.ToString(), project = projectId.ToString(), config = ValidConfig })).Ok().Id("version_id");
        (await DevAsync(developer, "create-image", new { tenant = tenantId.ToString(), version_id = versionId, qualifier = "UNIVERSAL", image_id = "process:echo" })).Ok();
        return versionId;
    }

    public async ValueTask DisposeAsync()
    {
        Http?.Dispose();
        if (Service is not null) await Service.DisposeAsync();
        if (Directory.Exists(_directory)) Directory.Delete(_directory, recursive: true);
    }
}
