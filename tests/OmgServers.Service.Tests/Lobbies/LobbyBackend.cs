using System.Net;
using System.Net.Http.Json;
using System.Reflection;
using System.Text.Json;
using FluentAssertions;
using OmgServers.Hosting;
using OmgServers.Service.Tests.ControlPlane;
using OmgServers.Service.Tests.Infrastructure;
using Xunit;

namespace OmgServers.Service.Tests.Lobbies;

/// <summary>A deployed game: the ids a player needs, and the developer who can deploy more versions of it.</summary>
public sealed record Game(long TenantId, long ProjectId, long StageId, long VersionId, long DeploymentId, Developer Developer);

/// <summary>
/// The real service as a process on its own fresh database, with the sample lobby (samples/OmgServers.Samples.Lobby,
/// built with the tests) as the process image <c>process:sample-lobby</c>, so that every lobby the server creates is
/// a real runtime process. The port and the working directory stay the same across restarts, as a real installation's
/// would: a runtime keeps the OMGSERVERS_SERVICE_URL it was started with, and the process host finds the runtimes it
/// started in its state directory.
/// </summary>
public sealed class LobbyBackend : IAsyncDisposable
{
    public const string Entry = ControlPlaneFixture.Entry;
    public const string Player = Entry + "/player/request";
    public const string Runtime = Entry + "/runtime/request";
    public const string ImageId = "process:sample-lobby";
    private const string SupportPassword = "support-Pass-2";
    private static readonly TimeSpan StartDeadline = TimeSpan.FromSeconds(60);

    private readonly Dictionary<string, string> _environment;
    private readonly string _directory;

    private LobbyBackend(Dictionary<string, string> environment, string directory, int port)
    {
        _environment = environment;
        _directory = directory;
        Port = port;
        Url = new Uri($"http://127.0.0.1:{port}");
        Http = new HttpClient { BaseAddress = Url, Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary>The sample's entry assembly, in the sample's own output directory (see the test project file).</summary>
    public static string SampleDll { get; } = typeof(LobbyBackend).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "LobbySampleDll").Value!;

    /// <summary>The sample's version config (samples/OmgServers.Samples.Lobby/version.json, copied next to the sample).</summary>
    public static JsonElement SampleVersionConfig { get; } =
        JsonDocument.Parse(File.ReadAllText(Path.Combine(Path.GetDirectoryName(SampleDll)!, "version.json"))).RootElement.Clone();

    public ServiceProcess Service { get; private set; } = null!;

    public int Port { get; }

    /// <summary>What the server is told it is reached at (OMGSERVERS_SERVER_URI), and so what runtimes are given.</summary>
    public Uri Url { get; }

    public HttpClient Http { get; }

    public string SupportToken { get; private set; } = "";

    /// <summary>Starts the service with <paramref name="settings"/> on top of the defaults here and waits until support can log in.</summary>
    public static async Task<LobbyBackend> StartAsync(TestPostgres postgres, IReadOnlyDictionary<string, string>? settings = null)
    {
        File.Exists(SampleDll).Should().BeTrue($"the sample lobby is built with the tests at {SampleDll}");
        var port = EmbeddedPostgres.FindFreeLoopbackPort();
        var environment = new Dictionary<string, string>
        {
            ["OMGSERVERS_DATABASE_URL"] = await postgres.CreateDatabaseAsync("lobbies", TestContext.Current.CancellationToken),
            // ServiceProcess picks a port of its own; these override it so that restarts keep the address.
            ["OMGSERVERS_SERVER_PORT"] = port.ToString(),
            ["OMGSERVERS_SERVER_URI"] = $"http://127.0.0.1:{port}",
            ["OMGSERVERS_BOOTSTRAP_ENABLED"] = "true",
            ["OMGSERVERS_BOOTSTRAP_ADMIN_USER_PASSWORD"] = "admin-Pass-1",
            ["OMGSERVERS_BOOTSTRAP_SUPPORT_USER_PASSWORD"] = SupportPassword,
            ["OMGSERVERS_BOOTSTRAP_BUILDER_USER_PASSWORD"] = "builder-Pass-3",
            ["OMGSERVERS_BOOTSTRAP_SERVICE_USER_PASSWORD"] = "service-Pass-4",
            ["OMGSERVERS_ACTORS_SHARD_COUNT"] = "16",
            ["OMGSERVERS_ACTORS_SNAPSHOT_EVERY"] = "5",
            ["OMGSERVERS_RUNTIMES_PROCESS_IMAGES_0__NAME"] = "sample-lobby",
            ["OMGSERVERS_RUNTIMES_PROCESS_IMAGES_0__COMMAND"] = "dotnet",
            ["OMGSERVERS_RUNTIMES_PROCESS_IMAGES_0__ARGUMENTS"] = SampleDll,
        };
        foreach (var (name, value) in settings ?? new Dictionary<string, string>()) environment[name] = value;

        var backend = new LobbyBackend(environment, TempDirectory.NewPath("lobbies"), port);
        try
        {
            await backend.StartProcessAsync();
            var deadline = DateTime.UtcNow + StartDeadline;
            while (backend.SupportToken.Length == 0)
            {
                var login = await backend.PostAsync(Entry + "/support/request/create-token", new { user = "support", password = SupportPassword });
                if (login.Status == HttpStatusCode.OK) backend.SupportToken = login.Str("raw_token");
                else if (DateTime.UtcNow > deadline) throw new InvalidOperationException("bootstrap users never appeared\n" + backend.Describe());
                else await Task.Delay(100, TestContext.Current.CancellationToken);
            }
            return backend;
        }
        catch
        {
            await backend.DisposeAsync();
            throw;
        }
    }

    private async Task StartProcessAsync()
    {
        Service = ServiceProcess.Start(_environment, _directory);
        // ServiceProcess.WaitForStatusAsync would ask its own port, not ours.
        var ready = await Eventually.TrueAsync(async () =>
        {
            if (Service.HasExited) return false;
            try
            {
                using var response = await Http.GetAsync("/q/health/ready", TestContext.Current.CancellationToken);
                return response.StatusCode == HttpStatusCode.OK;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, StartDeadline, TimeSpan.FromMilliseconds(100));
        if (!ready) throw new InvalidOperationException("service not ready\n" + Describe());
    }

    /// <summary>The service process (not the runtimes it started), found by its port.</summary>
    public int ServicePid() =>
        ProcessTable.Find(e => e.CommandLine.Contains("OmgServers.Service.dll") && e.Variable("OMGSERVERS_SERVER_PORT") == Port.ToString())
            .Should().ContainSingle("one service process listens on port {0}", Port).Subject.Pid;

    /// <summary>SIGKILLs the service alone (its runtimes are in their own sessions and live on), then starts it again on the same database.</summary>
    public async Task KillAndRestartAsync()
    {
        ProcessTable.Signal(ServicePid(), ProcessTable.SigKill).Should().BeTrue();
        (await Service.WaitForExitAsync(TimeSpan.FromSeconds(30))).Should().Be(128 + ProcessTable.SigKill);
        await Service.DisposeAsync();
        await StartProcessAsync();
    }

    /// <summary>Runtime processes started for this service (by any of its lives): their OMGSERVERS_SERVICE_URL is ours.</summary>
    public IReadOnlyList<ProcessTable.Entry> RuntimeProcesses() =>
        ProcessTable.Find(e => e.Variable("OMGSERVERS_RUNTIME_ID") is not null
                               && e.Variable("OMGSERVERS_SERVICE_URL")?.TrimEnd('/') == Url.ToString().TrimEnd('/'));

    // ------------------------------------------------------------------ HTTP

    public async Task<ApiResponse> PostAsync(string path, object? body, string? token = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path);
        if (body is not null) request.Content = body as HttpContent ?? JsonContent.Create(body, body.GetType());
        if (token is not null) request.Headers.Authorization = new("Bearer", token);
        using var response = await Http.SendAsync(request, TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        return new ApiResponse(response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone(), text);
    }

    public Task<ApiResponse> SupportAsync(string operation, object body) => PostAsync($"{Entry}/support/request/{operation}", body, SupportToken);

    public Task<ApiResponse> DevAsync(Developer developer, string operation, object body) => PostAsync($"{Entry}/developer/request/{operation}", body, developer.Token);

    // ------------------------------------------------------------------ the developer's flow

    /// <summary>
    /// A tenant, a developer with PROJECT_MANAGER and TENANT_VIEWER in it, a project, and a version of the sample lobby
    /// (its version.json unless <paramref name="config"/> is given, image <see cref="ImageId"/>) deployed on the
    /// project's stage.
    /// </summary>
    public async Task<Game> NewGameAsync(JsonElement? config = null)
    {
        var tenantId = (await SupportAsync("create-tenant", new { })).Ok().Id("id");
        var created = (await SupportAsync("create-developer", new { })).Ok();
        var userId = created.Id("user_id");
        var password = created.Str("password");
        var token = (await PostAsync(Entry + "/developer/request/create-token", new { user_id = userId.ToString(), password })).Ok().Str("raw_token");
        var developer = new Developer(userId, password, token);
        (await SupportAsync("create-tenant-permissions", new { tenant = tenantId.ToString(), user_id = userId, permissions_to_create = new[] { "PROJECT_MANAGER", "TENANT_VIEWER" } })).Ok();
        var project = (await DevAsync(developer, "create-project", new { tenant = tenantId.ToString() })).Ok();
        var game = new Game(tenantId, project.Id("project_id"), project.Id("stage_id"), 0, 0, developer);
        return await DeployNewVersionAsync(game, config);
    }

    /// <summary>
    /// One more version of the sample (with <paramref name="config"/>, else the sample's version.json), deployed on the
    /// game's stage (it replaces the previous deployment, contract 5.8).
    /// </summary>
    public async Task<Game> DeployNewVersionAsync(Game game, JsonElement? config = null)
    {
        var tenant = game.TenantId.ToString();
        var versionId = (await DevAsync(game.Developer, "create-version", new { tenant, project = game.ProjectId.ToString(), config = config ?? SampleVersionConfig }))
            .Ok().Id("version_id");
        (await DevAsync(game.Developer, "create-image", new { tenant, version_id = versionId, qualifier = "UNIVERSAL", image_id = ImageId })).Ok();
        var deploymentId = (await DevAsync(game.Developer, "deploy-version",
            new { tenant, project = game.ProjectId.ToString(), stage = game.StageId.ToString(), version_id = versionId })).Ok().Id("deployment_id");
        return game with { VersionId = versionId, DeploymentId = deploymentId };
    }

    /// <summary>A new player user, logged in, with a client on the game's latest deployment.</summary>
    public async Task<TestPlayer> NewPlayerAsync(Game game)
    {
        var (userId, token) = await NewUserAsync();
        return await NewClientAsync(game, userId, token);
    }

    /// <summary>A new player user, logged in.</summary>
    public async Task<(long UserId, string Token)> NewUserAsync()
    {
        var user = (await PostAsync(Player + "/create-user", new { })).Ok();
        var token = (await PostAsync(Player + "/create-token", new { user_id = user.Str("user_id"), password = user.Str("password") })).Ok().Str("raw_token");
        return (user.Id("user_id"), token);
    }

    /// <summary>Another client of the same user (create-client again with the user's token).</summary>
    public async Task<TestPlayer> NewClientAsync(Game game, long userId, string token)
    {
        var clientId = (await PostAsync(Player + "/create-client",
            new { tenant = game.TenantId.ToString(), project = game.ProjectId.ToString(), stage = game.StageId.ToString() }, token)).Ok().Id("client_id");
        return new TestPlayer(this, userId, token, clientId);
    }

    /// <summary>
    /// Runtime create-token with the password the server gave the runtime's process (read from its environment, as
    /// only the same user can): the runtime's own api token, for tests of the runtime API.
    /// </summary>
    public async Task<string> RuntimeTokenAsync(long runtimeId)
    {
        var process = ProcessTable.OfRuntime(runtimeId).Should().NotBeEmpty($"runtime {runtimeId} runs as a process").And.Subject.First();
        var password = process.Variable("OMGSERVERS_PASSWORD");
        password.Should().NotBeNullOrEmpty();
        return (await PostAsync(Runtime + "/create-token", new { runtime_id = runtimeId.ToString(), password })).Ok().Str("api_token");
    }

    /// <summary>Whether a runtime's output.log (written by the process host under the service's working directory) holds <paramref name="text"/>.</summary>
    public bool RuntimeOutputContains(string text)
    {
        if (!Directory.Exists(_directory)) return false;
        foreach (var log in Directory.EnumerateFiles(_directory, "output.log*", SearchOption.AllDirectories))
        {
            try
            {
                if (File.ReadAllText(log).Contains(text, StringComparison.Ordinal)) return true;
            }
            catch (IOException)
            {
                // Rotated meanwhile.
            }
        }
        return false;
    }

    /// <summary>
    /// What one runtime's process has printed so far (its output.log, rotated part first), or "" when the process host
    /// keeps no log for it (not started yet, or removed with the runtime).
    /// </summary>
    public string RuntimeOutput(long runtimeId)
    {
        try
        {
            if (!Directory.Exists(_directory)) return "";
            var runtime = Directory.EnumerateDirectories(_directory, runtimeId.ToString(), SearchOption.AllDirectories).FirstOrDefault();
            if (runtime is null) return "";
            var rotated = Path.Combine(runtime, "output.log.1");
            var log = Path.Combine(runtime, "output.log");
            return (File.Exists(rotated) ? File.ReadAllText(rotated) : "") + (File.Exists(log) ? File.ReadAllText(log) : "");
        }
        catch (IOException)
        {
            return ""; // removed meanwhile
        }
    }

    /// <summary>The service's output and the tail of every runtime's output, for failure messages.</summary>
    public string Describe()
    {
        var lines = new List<string> { Service is null ? "service not started" : Service.Describe() };
        if (Directory.Exists(_directory))
        {
            foreach (var log in Directory.EnumerateFiles(_directory, "output.log", SearchOption.AllDirectories))
            {
                try
                {
                    lines.Add($"--- {Path.GetRelativePath(_directory, log)} (last 30 lines)");
                    lines.AddRange(File.ReadLines(log).TakeLast(30));
                }
                catch (IOException)
                {
                    // Rotated meanwhile.
                }
            }
        }
        return string.Join('\n', lines);
    }

    public async ValueTask DisposeAsync()
    {
        if (Service is not null) await Service.DisposeAsync(); // the service and its children
        // Runtimes adopted after a restart are no longer the service's children: end them too, by pid.
        foreach (var leftover in RuntimeProcesses()) ProcessTable.Signal(leftover.Pid, ProcessTable.SigKill);
        Http.Dispose();
        try
        {
            if (Directory.Exists(_directory)) Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A runtime still writing its log as it dies; the directory is under the temp directory anyway.
        }
    }
}

/// <summary>One backend per test class, with the server's default intervals (30 s inactivity, 60 s lobby lifetime).</summary>
public sealed class LobbyFixture(TestPostgres postgres) : IAsyncLifetime
{
    public LobbyBackend Backend { get; private set; } = null!;

    public async ValueTask InitializeAsync() => Backend = await LobbyBackend.StartAsync(postgres);

    public async ValueTask DisposeAsync()
    {
        if (Backend is not null) await Backend.DisposeAsync();
    }
}

/// <summary>
/// One backend per test class with short intervals, for the timing tests: a client silent for
/// <see cref="ClientInterval"/> and a runtime silent for <see cref="RuntimeInterval"/> are gone, and an empty lobby
/// is removed once it has lived <see cref="LobbyMinLifetime"/>. Every player of these tests must keep polling
/// (<see cref="TestPlayer.KeepAlive"/>) unless it is meant to time out.
/// </summary>
public sealed class ShortIntervalsFixture(TestPostgres postgres) : IAsyncLifetime
{
    public static readonly TimeSpan ClientInterval = TimeSpan.FromSeconds(3);
    public static readonly TimeSpan RuntimeInterval = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan LobbyMinLifetime = TimeSpan.FromSeconds(3);

    public LobbyBackend Backend { get; private set; } = null!;

    public async ValueTask InitializeAsync() => Backend = await LobbyBackend.StartAsync(postgres, new Dictionary<string, string>
    {
        ["OMGSERVERS_CLIENTS_INACTIVE_INTERVAL"] = $"{ClientInterval.TotalSeconds}s",
        ["OMGSERVERS_RUNTIMES_INACTIVE_INTERVAL"] = $"{RuntimeInterval.TotalSeconds}s",
        ["OMGSERVERS_RUNTIMES_LOBBY_MIN_LIFETIME"] = $"{LobbyMinLifetime.TotalSeconds}s",
    });

    public async ValueTask DisposeAsync()
    {
        if (Backend is not null) await Backend.DisposeAsync();
    }
}
