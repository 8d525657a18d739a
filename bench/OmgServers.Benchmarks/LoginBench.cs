using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using OmgServers.Hosting;
using OmgServers.Security;

namespace OmgServers.Benchmarks;

/// <summary>
/// Player logins (POST player/create-token through the real service process: HTTP, JSON, user entity, fast-hash
/// check, RS256 signature) per second and their latency, next to raw RS256 signatures and raw bcrypt verifications
/// measured in the same run, plus other control-plane calls. Load client and server share this machine's cores.
/// </summary>
internal static class LoginBench
{
    private const int Users = 2000;
    private const int Concurrency = 64;
    private const string SupportPassword = "bench-support-password";

    public static async Task RunAsync(string connection, int seconds)
    {
        Console.WriteLine();
        Console.WriteLine($"== Logins and control-plane calls (real service process, {Concurrency} concurrent HTTP/1.1 clients on the same machine) ==");
        var database = "login_" + Guid.NewGuid().ToString("N")[..8];
        await PostgresDatabases.EnsureExistsAsync(connection, database);
        var port = EmbeddedPostgres.FindFreeLoopbackPort();
        using var service = StartService(PostgresDatabases.WithDatabase(connection, database), port);
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = Concurrency }) { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (!await ReadyAsync(http))
            {
                if (service.HasExited || DateTime.UtcNow > deadline) throw new InvalidOperationException("the service did not become ready");
                await Task.Delay(100);
            }

            var users = new (string Id, string Password)[Users];
            var createUser = await MeasureAsync(Users, async i =>
            {
                var r = await PostAsync(http, "/service/v1/entrypoint/player/request/create-user", new { });
                users[i] = (r.GetProperty("user_id").GetString()!, r.GetProperty("password").GetString()!);
            });
            Print($"player create-user ({Users} users, each one journal write)", createUser);

            // Every user logs in once before the clock starts: their entities are active (a real launch warms up too).
            await MeasureAsync(Users, i => PostAsync(http, "/service/v1/entrypoint/player/request/create-token", new { user_id = users[i].Id, password = users[i].Password }));
            var login = await MeasureForAsync(seconds, i => PostAsync(http, "/service/v1/entrypoint/player/request/create-token",
                new { user_id = users[i % Users].Id, password = users[i % Users].Password }));
            Print("player create-token (login)", login);
            var ping = await MeasureForAsync(seconds, _ => PostAsync(http, "/service/v1/entrypoint/player/request/ping-service", new { message = "x" }));
            Print("player ping-service (HTTP + JSON floor of the edge)", ping);

            // Control plane: the support user creates tenants (one entity and one journal write each), then reads details.
            JsonElement supportLogin = default;
            var loginDeadline = DateTime.UtcNow.AddSeconds(30);
            while (true)
            {
                try { supportLogin = await PostAsync(http, "/service/v1/entrypoint/support/request/create-token", new { user = "support", password = SupportPassword }); break; }
                catch (InvalidOperationException) when (DateTime.UtcNow < loginDeadline) { await Task.Delay(200); }
            }
            var support = supportLogin.GetProperty("raw_token").GetString()!;
            var tenants = new System.Collections.Concurrent.ConcurrentBag<string>();
            var createTenant = await MeasureForAsync(seconds, async _ =>
                tenants.Add((await PostAsync(http, "/service/v1/entrypoint/support/request/create-tenant", new { }, support)).GetProperty("id").GetString()!));
            Print("support create-tenant", createTenant);
            var ids = tenants.ToArray();
            var project = await MeasureForAsync(seconds, i => PostAsync(http, "/service/v1/entrypoint/support/request/create-project", new { tenant = ids[i % ids.Length] }, support));
            Print("support create-project (project + first stage + grants)", project);

            Console.WriteLine();
            Console.WriteLine("floors, same run:");
            using var key = RSA.Create(2048);
            using var issuer = new JwtIssuer(key);
            var sign1 = Rate(seconds / 2.0, 1, () => issuer.IssueUserToken(1, "player"));
            var signAll = Rate(seconds / 2.0, Environment.ProcessorCount, () => issuer.IssueUserToken(1, "player"));
            Console.WriteLine($"  RS256 token signatures: {sign1:N0}/s on one thread, {signAll:N0}/s on {Environment.ProcessorCount} threads");
            var hash = Bcrypt.Hash("password-of-a-person");
            var bcrypt = Rate(seconds / 2.0, 1, () => Bcrypt.Verify("password-of-a-person", hash));
            Console.WriteLine($"  bcrypt cost-10 verifications: {bcrypt:N1}/s on one thread ({bcrypt * Environment.ProcessorCount:N0}/s at best on all cores): a login storm on bcrypt would manage {bcrypt * Environment.ProcessorCount:N0} logins/s");
            Console.WriteLine($"  logins reach {login.Rate / signAll:P0} of the all-core signature rate; the rest is HTTP, JSON, the user entity and the password check");
        }
        finally
        {
            if (!service.HasExited) { service.Kill(entireProcessTree: true); await service.WaitForExitAsync(); }
            await PostgresDatabases.DropIfExistsAsync(connection, database);
        }
    }

    private static Process StartService(string connection, int port)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "OmgServers.Service.dll");
        var info = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(dll);
        info.Environment["OMGSERVERS_DATABASE_URL"] = connection;
        info.Environment["OMGSERVERS_SERVER_HOST"] = "127.0.0.1";
        info.Environment["OMGSERVERS_SERVER_PORT"] = port.ToString();
        info.Environment["OMGSERVERS_LOGGING_ROOT_LOGS_LEVEL"] = "WARN";
        info.Environment["OMGSERVERS_BOOTSTRAP_ENABLED"] = "true";
        info.Environment["OMGSERVERS_BOOTSTRAP_SUPPORT_USER_PASSWORD"] = SupportPassword;
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task<bool> ReadyAsync(HttpClient http)
    {
        try { return (await http.GetAsync("/q/health/ready")).StatusCode == HttpStatusCode.OK; }
        catch (HttpRequestException) { return false; }
    }

    private static async Task<JsonElement> PostAsync(HttpClient http, string path, object body, string? token = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        if (token is not null) request.Headers.Authorization = new("Bearer", token);
        using var response = await http.SendAsync(request);
        var json = await response.Content.ReadFromJsonAsync<JsonElement>();
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"{path}: {(int)response.StatusCode} {json}");
        return json;
    }

    private sealed record Result(double Rate, double P50, double P99, long Count);

    private static void Print(string what, Result r) =>
        Console.WriteLine($"{what,-58} {r.Rate,10:N0}/s  p50 {r.P50:0.00} ms  p99 {r.P99:0.00} ms  ({r.Count:N0} calls)");

    private static async Task<Result> MeasureAsync(int count, Func<int, Task> call)
    {
        var next = -1;
        var latencies = new double[count];
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, Concurrency).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                var t0 = Stopwatch.GetTimestamp();
                await call(i);
                latencies[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            }
        })));
        return Summarize(latencies, clock.Elapsed);
    }

    private static async Task<Result> MeasureForAsync(int seconds, Func<int, Task> call)
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        var next = -1;
        var all = new List<double>[Concurrency];
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, Concurrency).Select(c => Task.Run(async () =>
        {
            var mine = all[c] = new List<double>();
            while (!stop.IsCancellationRequested)
            {
                var t0 = Stopwatch.GetTimestamp();
                await call(Interlocked.Increment(ref next));
                mine.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
            }
        })));
        return Summarize(all.SelectMany(l => l).ToArray(), clock.Elapsed);
    }

    private static Result Summarize(double[] latencies, TimeSpan elapsed)
    {
        Array.Sort(latencies);
        return new Result(latencies.Length / elapsed.TotalSeconds, latencies[latencies.Length / 2], latencies[(int)(latencies.Length * 0.99)], latencies.Length);
    }

    private static double Rate(double seconds, int threads, Action op)
    {
        for (var i = 0; i < 20; i++) op();
        long total = 0;
        var clock = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, threads).Select(_ => new Thread(() =>
        {
            long n = 0;
            while (clock.Elapsed.TotalSeconds < seconds) { op(); n++; }
            Interlocked.Add(ref total, n);
        })).ToList();
        workers.ForEach(t => t.Start());
        workers.ForEach(t => t.Join());
        return total / clock.Elapsed.TotalSeconds;
    }
}
