using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using FluentAssertions;
using OmgServers.Service.Tests.Cluster;
using OmgServers.Service.Tests.Infrastructure;
using Xunit;

namespace OmgServers.Service.Tests.Cli;

/// <summary>
/// One real service process for a test class, on a fresh database, with bootstrap on and known admin and support
/// passwords (the support one has a quote, a space and a dollar: the CLI's environment file must keep it exactly).
/// Runs `bash omgserversctl.sh` in working directories of its own, so that every test starts from a fresh state directory.
/// </summary>
public sealed class CliFixture(TestPostgres postgres) : IAsyncLifetime
{
    public const string AdminPassword = "admin-Cli-1";
    public const string SupportPassword = "support 'Cli' $2";
    private static readonly TimeSpan StartDeadline = TimeSpan.FromSeconds(60);

    private string _directory = "";

    public ServiceProcess Service { get; private set; } = null!;
    public HttpClient Http { get; private set; } = null!;
    public string Url => $"http://127.0.0.1:{Service.Port}";

    public async ValueTask InitializeAsync()
    {
        _directory = TempDirectory.NewPath("cli");
        var environment = new Dictionary<string, string>
        {
            ["OMGSERVERS_DATABASE_URL"] = await postgres.CreateDatabaseAsync("cli"),
            ["OMGSERVERS_BOOTSTRAP_ENABLED"] = "true",
            ["OMGSERVERS_BOOTSTRAP_ADMIN_USER_PASSWORD"] = AdminPassword,
            ["OMGSERVERS_BOOTSTRAP_SUPPORT_USER_PASSWORD"] = SupportPassword,
            ["OMGSERVERS_ACTORS_SHARD_COUNT"] = "16",
        };
        Service = ServiceProcess.Start(environment, Path.Combine(_directory, "service"));
        Http = new HttpClient { BaseAddress = new Uri(Url), Timeout = TimeSpan.FromSeconds(30) };
        if (!await Service.WaitForStatusAsync("/q/health/ready", HttpStatusCode.OK, StartDeadline))
            throw new InvalidOperationException("service not ready\n" + Service.Describe());

        // Bootstrap runs once the runtime serves: wait until the support user (the last one configured here) can log in.
        var ready = await Eventually.TrueAsync(async () =>
            (await PostAsync("/service/v1/entrypoint/support/request/create-token", JsonSerializer.Serialize(new { user = "support", password = SupportPassword }))).Status
            == HttpStatusCode.OK, StartDeadline, TimeSpan.FromMilliseconds(100));
        if (!ready) throw new InvalidOperationException("bootstrap users never appeared\n" + Service.Describe());
    }

    /// <summary>A new, empty working directory for the CLI (its state directory is created on the first run).</summary>
    public string NewWorkDirectory()
    {
        var path = Path.Combine(_directory, "work-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(path);
        return path;
    }

    public static Task<Scripts.Result> CtlAsync(string workDirectory, params string[] arguments) =>
        Scripts.RunAsync(Scripts.Path("omgserversctl.sh"), arguments, workDirectory, timeout: TimeSpan.FromSeconds(60));

    /// <summary>The command, which must succeed; its result.</summary>
    public static async Task<Scripts.Result> OkAsync(string workDirectory, params string[] arguments)
    {
        var result = await CtlAsync(workDirectory, arguments);
        result.ExitCode.Should().Be(0, $"omgserversctl.sh {string.Join(' ', arguments)}: {result}");
        return result;
    }

    /// <summary>`environment printVariable NAME`: the stored value, printed without a newline.</summary>
    public static async Task<string> VariableAsync(string workDirectory, string name) =>
        (await OkAsync(workDirectory, "environment", "printVariable", name)).Output.TrimEnd('\n');

    public static string[] EnvironmentLines(string workDirectory) =>
        File.ReadAllLines(Path.Combine(workDirectory, ".omgserversctl", "environment"));

    public static string LogsText(string workDirectory) => File.ReadAllText(Path.Combine(workDirectory, ".omgserversctl", "logs"));

    /// <summary>The JSON a details command pretty-prints after its "Using ..." lines.</summary>
    public static JsonElement JsonOutput(Scripts.Result result)
    {
        var start = result.Output.IndexOf("\n{", StringComparison.Ordinal);
        start.Should().BeGreaterThanOrEqualTo(0, result.ToString());
        return JsonDocument.Parse(result.Output[(start + 1)..]).RootElement.Clone();
    }

    public async Task<(HttpStatusCode Status, JsonElement Body)> PostAsync(string path, string json, string? token = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await Http.SendAsync(request, TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    public async ValueTask DisposeAsync()
    {
        Http?.Dispose();
        if (Service is not null) await Service.DisposeAsync();
        if (Directory.Exists(_directory)) Directory.Delete(_directory, recursive: true);
    }
}
