using System.Net;
using System.Text.Json;
using FluentAssertions;
using OmgServers.Hosting;
using OmgServers.Service.Tests.Infrastructure;
using Xunit;

namespace OmgServers.Service.Tests.Service;

/// <summary>The real service process: health endpoints, database wiring, logging settings and graceful shutdown.</summary>
public sealed class HealthEndpointTests(TestPostgres postgres)
{
    private static readonly TimeSpan StartDeadline = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan StopDeadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Readiness_is_503_until_PostgreSQL_is_reachable_and_200_after()
    {
        var pgPort = EmbeddedPostgres.FindFreeLoopbackPort();
        var work = TempDirectory.NewPath("svc-ready");
        await using var service = ServiceProcess.Start(new Dictionary<string, string>
        {
            ["OMGSERVERS_DATABASE_URL"] = $"postgresql://127.0.0.1:{pgPort}/readiness",
            ["OMGSERVERS_DATABASE_USERNAME"] = "postgres",
            ["OMGSERVERS_ACTORS_SHARD_COUNT"] = "16",
        }, work);

        (await service.WaitForStatusAsync("/q/health/live", HttpStatusCode.OK, StartDeadline)).Should().BeTrue(service.Describe());
        var (status, body) = await service.GetJsonAsync("/q/health/ready");
        status.Should().Be(HttpStatusCode.ServiceUnavailable);
        body.GetProperty("status").GetString().Should().Be("DOWN");
        Check(body, "database").GetProperty("status").GetString().Should().Be("DOWN");
        Check(body, "actor-runtime").GetProperty("status").GetString().Should().Be("DOWN");
        Check(body, "jwt-keys").GetProperty("status").GetString().Should().Be("DOWN", "the keys live in the unreachable database");
        (await service.GetJsonAsync("/q/health")).Status.Should().Be(HttpStatusCode.ServiceUnavailable);
        (await service.GetJsonAsync("/q/health/live")).Status.Should().Be(HttpStatusCode.OK, "liveness does not depend on the database");

        await using var database = await EmbeddedPostgres.StartAsync(new EmbeddedPostgresOptions
        {
            DataDirectory = TempDirectory.NewPath("svc-ready-pg"),
            Port = pgPort,
            Database = "readiness",
            Throwaway = true,
        }, ct: TestContext.Current.CancellationToken);

        (await service.WaitForStatusAsync("/q/health/ready", HttpStatusCode.OK, StartDeadline)).Should().BeTrue(service.Describe());
        (status, body) = await service.GetJsonAsync("/q/health/ready");
        body.GetProperty("status").GetString().Should().Be("UP");
        Check(body, "database").GetProperty("status").GetString().Should().Be("UP");
        var runtime = Check(body, "actor-runtime");
        runtime.GetProperty("status").GetString().Should().Be("UP");
        runtime.GetProperty("data").GetProperty("shards_owned").GetInt32().Should().Be(16);
        runtime.GetProperty("data").GetProperty("node").GetString().Should().Be("node-0");

        (status, body) = await service.GetJsonAsync("/q/health");
        status.Should().Be(HttpStatusCode.OK);
        body.GetProperty("checks").EnumerateArray().Select(c => c.GetProperty("name").GetString())
            .Should().BeEquivalentTo("process", "database", "actor-runtime", "jwt-keys", "bootstrap");

        (await service.TerminateAsync(StopDeadline)).Should().Be(0, service.Describe());
        service.Output.Should().Contain(line => line.Contains("actor runtime stopped"), service.Describe());
        Directory.Delete(work, recursive: true);
    }

    [Fact]
    public async Task Without_a_database_url_the_embedded_cluster_starts_before_the_runtime_and_stops_after_it()
    {
        var work = TempDirectory.NewPath("svc-embedded");
        var dataDir = Path.Combine(work, "data-dir");
        try
        {
            for (var run = 1; run <= 2; run++)
            {
                await using var service = ServiceProcess.Start(new Dictionary<string, string>
                {
                    ["OMGSERVERS_DATA_DIR"] = dataDir,
                    ["OMGSERVERS_ACTORS_SHARD_COUNT"] = "16",
                }, work);

                (await service.WaitForStatusAsync("/q/health/ready", HttpStatusCode.OK, StartDeadline)).Should().BeTrue(service.Describe());
                var (_, body) = await service.GetJsonAsync("/q/health/ready");
                Check(body, "database").GetProperty("data").GetProperty("embedded").GetBoolean().Should().BeTrue();

                (await service.TerminateAsync(StopDeadline)).Should().Be(0, service.Describe());
                var output = service.Output.ToList();
                var runtimeStopped = output.FindIndex(l => l.Contains("actor runtime stopped"));
                var postgresStopped = output.FindIndex(l => l.Contains("PostgreSQL on port") && l.Contains("stopped"));
                runtimeStopped.Should().BeGreaterThan(-1, service.Describe());
                postgresStopped.Should().BeGreaterThan(runtimeStopped, "PostgreSQL stops only after the runtime has flushed");
                File.Exists(Path.Combine(dataDir, "data", "postmaster.pid")).Should().BeFalse("the cluster was stopped cleanly");
                if (run == 2)
                {
                    output.Should().Contain(l => l.Contains("Reusing PostgreSQL cluster"), "the second run keeps the first run's data");
                }
            }
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    [Fact]
    public async Task Json_console_logs_and_access_logs_follow_the_logging_settings()
    {
        var connectionString = await postgres.CreateDatabaseAsync("svc_logging", TestContext.Current.CancellationToken);
        var work = TempDirectory.NewPath("svc-logging");
        await using var service = ServiceProcess.Start(new Dictionary<string, string>
        {
            ["OMGSERVERS_DATABASE_URL"] = connectionString,
            ["OMGSERVERS_ACTORS_SHARD_COUNT"] = "8",
            ["OMGSERVERS_LOGGING_CONSOLE_FORMAT"] = "json",
            ["OMGSERVERS_LOGGING_ACCESS_LOGS_ENABLED"] = "true",
        }, work);

        (await service.WaitForStatusAsync("/q/health/ready", HttpStatusCode.OK, StartDeadline)).Should().BeTrue(service.Describe());
        (await service.GetJsonAsync("/q/health/live")).Body.GetRawText()
            .Should().Be("""{"status":"UP","checks":[{"name":"process","status":"UP","data":{"description":"the process is up"}}]}""");

        (await Eventually.TrueAsync(
            () => service.Output.Any(l => l.Contains("\"Category\":\"OmgServers.Access\"") && l.Contains("/q/health/live 200")),
            TimeSpan.FromSeconds(10))).Should().BeTrue(service.Describe());
        (await service.TerminateAsync(StopDeadline)).Should().Be(0, service.Describe());

        var stdout = service.Output.Where(l => !l.StartsWith("stderr: ", StringComparison.Ordinal)).ToList();
        stdout.Should().NotBeEmpty();
        foreach (var line in stdout)
        {
            var parse = () => JsonDocument.Parse(line);
            parse.Should().NotThrow($"every console line is one JSON object: {line}");
        }

        Directory.Delete(work, recursive: true);
    }

    [Fact]
    public async Task A_bad_setting_stops_the_start_with_exit_code_2_and_names_the_key()
    {
        var work = TempDirectory.NewPath("svc-badconfig");
        await using var service = ServiceProcess.Start(new Dictionary<string, string>
        {
            ["OMGSERVERS_ACTORS_ASK_TIMEOUT"] = "soon",
        }, work);

        (await service.WaitForExitAsync(StartDeadline)).Should().Be(2);
        service.Output.Should().Contain(l => l.Contains("omgservers.actors.ask-timeout") && l.Contains("OMGSERVERS_ACTORS_ASK_TIMEOUT"), service.Describe());
        Directory.Exists(Path.Combine(work, ".data")).Should().BeFalse("nothing starts with invalid settings");
        Directory.Delete(work, recursive: true);
    }

    private static JsonElement Check(JsonElement body, string name) =>
        body.GetProperty("checks").EnumerateArray().Single(c => c.GetProperty("name").GetString() == name);
}
