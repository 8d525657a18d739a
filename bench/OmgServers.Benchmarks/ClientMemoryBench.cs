using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OmgServers.Hosting;

namespace OmgServers.Benchmarks;

/// <summary>
/// Memory per connected client: the service process's resident set before and after N players each created a
/// client and called interchange (so every client entity is live in memory, as while a player polls), next to the
/// same process's resident set with no clients, in the same run.
/// </summary>
internal static class ClientMemoryBench
{
    private const string SupportPassword = "bench-support-password";

    public static async Task RunAsync(string connection, int clients)
    {
        await InProcessAsync(connection, clients);
        await RunOnceAsync(connection, clients, serverGc: true);
        await RunOnceAsync(connection, clients, serverGc: false);
    }

    /// <summary>Managed heap per live client entity, after full collections, in this process: no GC slack counted.</summary>
    private static async Task InProcessAsync(string connection, int clients)
    {
        Console.WriteLine();
        Console.WriteLine($"== Managed memory per live client entity (in process, {clients:N0} clients, full GC before and after) ==");
        await using var runtime = await Runtimes.StartAsync(connection, r => OmgServers.Domain.DomainEntities.AddDomainEntities(r));
        var welcome = System.Text.Json.JsonSerializer.SerializeToElement(new { tenant_id = "1", version_id = "2", version_created = "2026-11-21T00:00:00Z" });
        async Task CreateAsync(long id) =>
            await runtime.AskAsync<object>(OmgServers.Domain.Clients.ClientEntity.Address(id),
                new OmgServers.Domain.Clients.ClientCommands.Create(7, 1, 3, 4, id + 1_000_000_000, welcome, DateTimeOffset.UtcNow), TimeSpan.FromSeconds(60));
        await CreateAsync(1); // warm every path
        var before = Settle();
        var next = 1L;
        await Task.WhenAll(Enumerable.Range(0, 64).Select(_ => Task.Run(async () =>
        {
            long id;
            while ((id = Interlocked.Increment(ref next)) <= clients + 1) await CreateAsync(id);
        })));
        var after = Settle();
        Console.WriteLine($"live entities: {runtime.ActiveEntityCount:N0}; managed heap {before / 1024.0 / 1024:N1} MiB → {after / 1024.0 / 1024:N1} MiB: {(after - before) / (double)clients:N0} bytes per client entity (cell, mailbox, entity, state with its welcome message)");
    }

    private static long Settle()
    {
        for (var i = 0; i < 3; i++) { GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true); GC.WaitForPendingFinalizers(); }
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    private static async Task RunOnceAsync(string connection, int clients, bool serverGc)
    {
        Console.WriteLine();
        Console.WriteLine($"== Memory per connected client (real service process, {clients:N0} clients, {(serverGc ? "server GC: the default, keeps freed memory" : "workstation GC: resident set follows live data")}) ==");
        var database = "clients_" + Guid.NewGuid().ToString("N")[..8];
        await PostgresDatabases.EnsureExistsAsync(connection, database);
        var port = EmbeddedPostgres.FindFreeLoopbackPort();
        var info = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "OmgServers.Service.dll"));
        info.Environment["OMGSERVERS_DATABASE_URL"] = PostgresDatabases.WithDatabase(connection, database);
        info.Environment["OMGSERVERS_SERVER_HOST"] = "127.0.0.1";
        info.Environment["OMGSERVERS_SERVER_PORT"] = port.ToString();
        info.Environment["OMGSERVERS_LOGGING_ROOT_LOGS_LEVEL"] = "WARN";
        info.Environment["DOTNET_gcServer"] = serverGc ? "1" : "0";
        info.Environment["OMGSERVERS_BOOTSTRAP_ENABLED"] = "true";
        info.Environment["OMGSERVERS_BOOTSTRAP_SUPPORT_USER_PASSWORD"] = SupportPassword;
        using var service = Process.Start(info)!;
        service.OutputDataReceived += (_, _) => { };
        service.ErrorDataReceived += (_, _) => { };
        service.BeginOutputReadLine();
        service.BeginErrorReadLine();
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 32 }) { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        try
        {
            string support = "";
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (support.Length == 0)
            {
                try { support = (await Post(http, "support/request/create-token", new { user = "support", password = SupportPassword })).GetProperty("raw_token").GetString()!; }
                catch (Exception) when (DateTime.UtcNow < deadline) { await Task.Delay(200); }
            }
            var tenant = (await Post(http, "support/request/create-tenant", new { }, support)).GetProperty("id").GetString()!;
            var developer = await Post(http, "support/request/create-developer", new { }, support);
            var devId = developer.GetProperty("user_id").GetString()!;
            await Post(http, "support/request/create-tenant-permissions", new { tenant, user_id = devId, permissions_to_create = new[] { "PROJECT_MANAGER" } }, support);
            var dev = (await Post(http, "developer/request/create-token", new { user_id = devId, password = developer.GetProperty("password").GetString() })).GetProperty("raw_token").GetString()!;
            var project = await Post(http, "developer/request/create-project", new { tenant }, dev);
            var (projectId, stageId) = (project.GetProperty("project_id").GetString()!, project.GetProperty("stage_id").GetString()!);
            var config = new { modes = Array.Empty<object>() };
            var version = (await Post(http, "developer/request/create-version", new { tenant, project = projectId, config }, dev)).GetProperty("version_id").GetString()!;
            await Post(http, "developer/request/create-image", new { tenant, version_id = version, qualifier = "UNIVERSAL", image_id = "process:none" }, dev);
            await Post(http, "developer/request/deploy-version", new { tenant, project = projectId, stage = stageId, version_id = version }, dev);

            // Warm every code path once, then take the baseline.
            await OneClientAsync(http, tenant, projectId, stageId);
            await Task.Delay(2000);
            var before = Rss(service.Id);
            var next = -1;
            await Task.WhenAll(Enumerable.Range(0, 32).Select(_ => Task.Run(async () =>
            {
                while (Interlocked.Increment(ref next) < clients) await OneClientAsync(http, tenant, projectId, stageId);
            })));
            // Users passivate 30 s after their login; what stays is what a polling player keeps alive: its client.
            var settle = DateTime.UtcNow.AddSeconds(90);
            long live;
            while ((live = await LiveEntitiesAsync(http)) > clients + 100 && DateTime.UtcNow < settle) await Task.Delay(1000);
            var after = Rss(service.Id);
            Console.WriteLine($"live entities after the idle users passivated: {live:N0}");
            Console.WriteLine($"service resident set: {before / 1024.0 / 1024:N1} MiB before, {after / 1024.0 / 1024:N1} MiB with {clients:N0} live clients (and their users)");
            Console.WriteLine($"per connected client (its entity, mailbox, state, welcome message): {(after - before) / (double)clients:N0} bytes");
        }
        finally
        {
            if (!service.HasExited) { service.Kill(entireProcessTree: true); await service.WaitForExitAsync(); }
            await PostgresDatabases.DropIfExistsAsync(connection, database);
        }
    }

    private static async Task OneClientAsync(HttpClient http, string tenant, string project, string stage)
    {
        var user = await Post(http, "player/request/create-user", new { });
        var token = (await Post(http, "player/request/create-token", new { user_id = user.GetProperty("user_id").GetString(), password = user.GetProperty("password").GetString() })).GetProperty("raw_token").GetString()!;
        var client = (await Post(http, "player/request/create-client", new { tenant, project, stage }, token)).GetProperty("client_id").GetString()!;
        await Post(http, "player/request/interchange", new { client_id = client, outgoing_messages = Array.Empty<object>(), consumed_messages = Array.Empty<object>() }, token);
    }

    private static async Task<long> LiveEntitiesAsync(HttpClient http)
    {
        var view = await http.GetFromJsonAsync<JsonElement>("/q/cluster");
        return view.GetProperty("metrics").GetProperty("active_entities").GetInt64();
    }

    private static long Rss(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            if (line.StartsWith("VmRSS:")) return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        return 0;
    }

    private static async Task<JsonElement> Post(HttpClient http, string path, object body, string? token = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/service/v1/entrypoint/" + path) { Content = JsonContent.Create(body) };
        if (token is not null) request.Headers.Authorization = new("Bearer", token);
        using var response = await http.SendAsync(request);
        var json = await response.Content.ReadFromJsonAsync<JsonElement>();
        if (response.StatusCode != HttpStatusCode.OK) throw new InvalidOperationException($"{path}: {(int)response.StatusCode} {json}");
        return json;
    }
}
