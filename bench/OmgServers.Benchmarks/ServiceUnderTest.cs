using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OmgServers.Hosting;

namespace OmgServers.Benchmarks;

/// <summary>
/// The real service binary (OmgServers.Service.dll, built next to this program) as a child process on its own fresh
/// database, with a known support password, plus the HTTP calls the benchmarks need to set up a deployment and players.
/// </summary>
internal sealed class ServiceUnderTest : IAsyncDisposable
{
    public const string SupportPassword = "bench-support-password";

    private readonly string _maintenance;
    private readonly string _database;
    private readonly string _dataDir;
    private readonly Process _process;
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _tail = new();

    private ServiceUnderTest(string maintenance, string database, string dataDir, Process process, int port, int maxConnections)
    {
        _maintenance = maintenance;
        _database = database;
        _dataDir = dataDir;
        _process = process;
        Port = port;
        Http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = maxConnections }) { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(60) };
    }

    public int Port { get; }
    public int Pid => _process.Id;
    public HttpClient Http { get; }

    /// <summary>
    /// Starts the service with <paramref name="environment"/> added to the defaults below and waits until it is ready.
    /// With <paramref name="probe"/> the process is <see cref="ProbeHost"/> (the same composition plus GC endpoints) instead of the service binary.
    /// </summary>
    public static async Task<ServiceUnderTest> StartAsync(string connection, string name, IReadOnlyDictionary<string, string>? environment = null, int maxConnections = 64, bool probe = false)
    {
        var database = name + "_" + Guid.NewGuid().ToString("N")[..8];
        await PostgresDatabases.EnsureExistsAsync(connection, database);
        var port = EmbeddedPostgres.FindFreeLoopbackPort();
        var dataDir = Path.Combine(Path.GetTempPath(), "omgservers-bench-" + database);
        var info = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        if (probe)
        {
            info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "OmgServers.Benchmarks.dll"));
            info.ArgumentList.Add(ProbeHost.Mode);
        }
        else
        {
            info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "OmgServers.Service.dll"));
        }
        info.Environment["OMGSERVERS_DATABASE_URL"] = PostgresDatabases.WithDatabase(connection, database);
        info.Environment["OMGSERVERS_SERVER_HOST"] = "127.0.0.1";
        info.Environment["OMGSERVERS_SERVER_PORT"] = port.ToString();
        info.Environment["OMGSERVERS_SERVER_DATA_DIR"] = dataDir;
        info.Environment["OMGSERVERS_LOGGING_ROOT_LOGS_LEVEL"] = "WARN";
        info.Environment["OMGSERVERS_BOOTSTRAP_ENABLED"] = "true";
        info.Environment["OMGSERVERS_BOOTSTRAP_SUPPORT_USER_PASSWORD"] = SupportPassword;
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) info.Environment[key] = value;
        var process = Process.Start(info)!;
        var service = new ServiceUnderTest(connection, database, dataDir, process, port, maxConnections);
        process.OutputDataReceived += (_, e) => service.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => service.Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (!await service.ReadyAsync())
        {
            if (process.HasExited || DateTime.UtcNow > deadline)
            {
                await service.DisposeAsync();
                throw new InvalidOperationException("the service did not become ready:\n" + service.Tail());
            }
            await Task.Delay(100);
        }
        return service;
    }

    private void Keep(string? line)
    {
        if (line is null) return;
        _tail.Enqueue(line);
        while (_tail.Count > 40) _tail.TryDequeue(out _);
    }

    /// <summary>The last lines the service printed (for failures).</summary>
    public string Tail() => string.Join('\n', _tail);

    private async Task<bool> ReadyAsync()
    {
        try { return (await Http.GetAsync("/q/health/ready")).StatusCode == HttpStatusCode.OK; }
        catch (HttpRequestException) { return false; }
        catch (TaskCanceledException) { return false; }
    }

    /// <summary>POST to /service/v1/entrypoint/<paramref name="path"/>; anything but 200 throws with the body.</summary>
    public async Task<JsonElement> PostAsync(string path, object body, string? token = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/service/v1/entrypoint/" + path) { Content = JsonContent.Create(body) };
        if (token is not null) request.Headers.Authorization = new("Bearer", token);
        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != HttpStatusCode.OK) throw new InvalidOperationException($"{path}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>A deployment: the support user creates a tenant and a developer, who creates a project, a version with one UNIVERSAL image, and deploys it.</summary>
    public async Task<Deployment> DeployAsync(object config, string imageId)
    {
        string support = "";
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (support.Length == 0)
        {
            // Bootstrap creates the support user once the runtime serves, shortly after readiness.
            try { support = (await PostAsync("support/request/create-token", new { user = "support", password = SupportPassword })).GetProperty("raw_token").GetString()!; }
            catch (InvalidOperationException) when (DateTime.UtcNow < deadline) { await Task.Delay(200); }
        }
        var tenant = (await PostAsync("support/request/create-tenant", new { }, support)).GetProperty("id").GetString()!;
        var developer = await PostAsync("support/request/create-developer", new { }, support);
        var devId = developer.GetProperty("user_id").GetString()!;
        await PostAsync("support/request/create-tenant-permissions", new { tenant, user_id = devId, permissions_to_create = new[] { "PROJECT_MANAGER" } }, support);
        var dev = (await PostAsync("developer/request/create-token", new { user_id = devId, password = developer.GetProperty("password").GetString() })).GetProperty("raw_token").GetString()!;
        var project = await PostAsync("developer/request/create-project", new { tenant }, dev);
        var (projectId, stageId) = (project.GetProperty("project_id").GetString()!, project.GetProperty("stage_id").GetString()!);
        var version = (await PostAsync("developer/request/create-version", new { tenant, project = projectId, config }, dev)).GetProperty("version_id").GetString()!;
        await PostAsync("developer/request/create-image", new { tenant, version_id = version, qualifier = "UNIVERSAL", image_id = imageId }, dev);
        var deployment = (await PostAsync("developer/request/deploy-version", new { tenant, project = projectId, stage = stageId, version_id = version }, dev)).GetProperty("deployment_id").GetString()!;
        return new Deployment(tenant, projectId, stageId, version, deployment, dev);
    }

    /// <summary>A new player (create-user, create-token) with a client on the deployment's stage.</summary>
    public async Task<Player> NewPlayerAsync(Deployment deployment)
    {
        var user = await PostAsync("player/request/create-user", new { });
        var token = (await PostAsync("player/request/create-token", new { user_id = user.GetProperty("user_id").GetString(), password = user.GetProperty("password").GetString() })).GetProperty("raw_token").GetString()!;
        var client = (await PostAsync("player/request/create-client", new { tenant = deployment.Tenant, project = deployment.Project, stage = deployment.Stage }, token)).GetProperty("client_id").GetString()!;
        return new Player(long.Parse(client), token);
    }

    /// <summary>Players made by <paramref name="concurrency"/> callers at once.</summary>
    public async Task<Player[]> NewPlayersAsync(Deployment deployment, int count, int concurrency = 32)
    {
        var players = new Player[count];
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count) players[i] = await NewPlayerAsync(deployment);
        })));
        return players;
    }

    /// <summary>The managed heap of a <see cref="ProbeHost"/> process; with <paramref name="collect"/> after a full compacting collection.</summary>
    public async Task<GcView> GcAsync(bool collect = false)
    {
        using var response = collect ? await Http.PostAsync("/bench/gc/collect", null) : await Http.GetAsync("/bench/gc");
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<GcView>(new JsonSerializerOptions(JsonSerializerDefaults.Web)))!;
    }

    public async Task<long> LiveEntitiesAsync()
    {
        var view = await Http.GetFromJsonAsync<JsonElement>("/q/cluster");
        return view.GetProperty("metrics").GetProperty("active_entities").GetInt64();
    }

    /// <summary>Resident set of the service process (VmRSS: what Linux counts as its working set).</summary>
    public long Rss() => ProcessStats.Rss(_process.Id);

    /// <summary>CPU time (user + system) the service process has used so far.</summary>
    public TimeSpan Cpu() => ProcessStats.Cpu(_process.Id);

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        if (!_process.HasExited)
        {
            // SIGTERM first so that the service stops the runtime processes it started; then make sure.
            try { Process.Start("kill", ["-TERM", _process.Id.ToString()])?.WaitForExit(); } catch (Exception) { }
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            try { await _process.WaitForExitAsync(wait.Token); }
            catch (OperationCanceledException) { _process.Kill(entireProcessTree: true); await _process.WaitForExitAsync(); }
        }
        _process.Dispose();
        // Runtime processes outlive their backend by design (a restarted node re-adopts them): stop the ones this
        // service started, which are the processes working under its data directory.
        foreach (var pid in ProcessesUnder(_dataDir))
        {
            try { using var runtime = Process.GetProcessById(pid); runtime.Kill(); await runtime.WaitForExitAsync(); }
            catch (Exception) { }
        }
        await PostgresDatabases.DropIfExistsAsync(_maintenance, _database);
        if (Directory.Exists(_dataDir)) try { Directory.Delete(_dataDir, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>Ids of the processes whose working directory is <paramref name="directory"/> or below it.</summary>
    public static List<int> ProcessesUnder(string directory)
    {
        var found = new List<int>();
        foreach (var entry in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(entry), out var pid)) continue;
            try
            {
                var cwd = new FileInfo(Path.Combine(entry, "cwd")).LinkTarget;
                if (cwd is not null && (cwd == directory || cwd.StartsWith(directory + "/", StringComparison.Ordinal))) found.Add(pid);
            }
            catch (Exception) { }
        }
        return found;
    }

    /// <summary>The runtime processes this service started and that are running.</summary>
    public List<int> RuntimePids() => ProcessesUnder(_dataDir);

    /// <summary>Resident set of the runtime processes this service started.</summary>
    public long RuntimesRss() => RuntimePids().Sum(pid => { try { return ProcessStats.Rss(pid); } catch (Exception) { return 0L; } });

    /// <summary>CPU time of the runtime processes running now (a process that exits takes its share with it).</summary>
    public TimeSpan RuntimesCpu() => RuntimePids().Aggregate(TimeSpan.Zero, (sum, pid) => { try { return sum + ProcessStats.Cpu(pid); } catch (Exception) { return sum; } });
}

internal sealed record Deployment(string Tenant, string Project, string Stage, string Version, string Id, string DeveloperToken);

internal sealed record Player(long ClientId, string Token);

internal static class ProcessStats
{
    private static readonly double TicksPerSecond = 100; // USER_HZ on Linux

    public static long Rss(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            if (line.StartsWith("VmRSS:")) return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        return 0;
    }

    /// <summary>Whole-machine CPU ticks from /proc/stat: idle (idle + iowait) and total.</summary>
    public static (long Idle, long Total) MachineTicks()
    {
        var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(long.Parse).ToArray();
        return (fields[3] + fields[4], fields.Take(8).Sum());
    }

    public static TimeSpan Cpu(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // After the command: state is field 3, utime field 14, stime field 15 (1-based in proc(5)).
        var ticks = long.Parse(fields[11]) + long.Parse(fields[12]);
        return TimeSpan.FromSeconds(ticks / TicksPerSecond);
    }
}
