using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace OmgServers.Service.Health;

/// <summary>
/// SmallRye-style health endpoints, as the upstream server exposes them:
/// <c>/q/health/live</c> (the process is up), <c>/q/health/ready</c> (PostgreSQL answers and the actor runtime has
/// migrated its schema and holds its shards), <c>/q/health/started</c> (same as live) and <c>/q/health</c> (all checks).
/// 200 when every check is UP, else 503; the body is <c>{"status":"UP","checks":[{"name":..,"status":..,"data":{..}}]}</c>.
/// </summary>
public static class HealthApi
{
    private const string Live = "live";
    private const string Ready = "ready";
    private static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(5);

    public static IServiceCollection AddOmgServersHealthChecks(this IServiceCollection services)
    {
        services.AddSingleton<DatabaseHealthCheck>();
        services.AddHealthChecks()
            .AddCheck("process", () => HealthCheckResult.Healthy("the process is up"), tags: [Live])
            .AddCheck<DatabaseHealthCheck>("database", tags: [Ready], timeout: CheckTimeout)
            .AddCheck<ActorRuntimeHealthCheck>("actor-runtime", tags: [Ready], timeout: CheckTimeout)
            .AddCheck<KeysHealthCheck>("jwt-keys", tags: [Ready], timeout: CheckTimeout)
            .AddCheck<BootstrapHealthCheck>("bootstrap", tags: [Ready], timeout: CheckTimeout);
        return services;
    }

    public static IEndpointRouteBuilder MapHealthApi(this IEndpointRouteBuilder app)
    {
        app.MapHealthChecks("/q/health", Options(_ => true));
        app.MapHealthChecks("/q/health/live", Options(check => check.Tags.Contains(Live)));
        app.MapHealthChecks("/q/health/started", Options(check => check.Tags.Contains(Live)));
        app.MapHealthChecks("/q/health/ready", Options(check => check.Tags.Contains(Ready)));
        return app;
    }

    private static HealthCheckOptions Options(Func<HealthCheckRegistration, bool> predicate) => new()
    {
        Predicate = predicate,
        ResponseWriter = WriteSmallRyeAsync,
    };

    private static async Task WriteSmallRyeAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            WriteReport(json, report);
        }

        await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted);
    }

    private static void WriteReport(Utf8JsonWriter json, HealthReport report)
    {
        json.WriteStartObject();
        json.WriteString("status", StatusOf(report.Status));
        json.WriteStartArray("checks");
        foreach (var (name, entry) in report.Entries)
        {
            json.WriteStartObject();
            json.WriteString("name", name);
            json.WriteString("status", StatusOf(entry.Status));
            json.WriteStartObject("data");
            if (entry.Description is { } description)
            {
                json.WriteString("description", description);
            }

            foreach (var (key, value) in entry.Data)
            {
                json.WritePropertyName(key);
                JsonSerializer.Serialize(json, value, value?.GetType() ?? typeof(object));
            }

            json.WriteEndObject();
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static string StatusOf(HealthStatus status) => status == HealthStatus.Unhealthy ? "DOWN" : "UP";
}
