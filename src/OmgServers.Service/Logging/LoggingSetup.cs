using OmgServers.Hosting.Configuration;

namespace OmgServers.Service.Logging;

public static class LoggingSetup
{
    /// <summary>Category of this server's own logs; <c>app-logs-level</c> applies to it and everything under it.</summary>
    public const string AppCategory = "OmgServers";

    /// <summary>Category of message traffic logs (<c>traffic-logs-level</c>).</summary>
    public const string TrafficCategory = "OmgServers.Traffic";

    /// <summary>Category of the one-line-per-request access log (<c>access-logs-enabled</c>).</summary>
    public const string AccessCategory = "OmgServers.Access";

    /// <summary>Console logs (the built-in simple or JSON formatter, UTC timestamps) with the levels of omgservers.logging.</summary>
    public static ILoggingBuilder AddOmgServersLogging(this ILoggingBuilder logging, LoggingSettings settings)
    {
        logging.ClearProviders();
        if (settings.ConsoleLogsEnabled)
        {
            if (settings.ConsoleFormat == ConsoleLogFormat.Json)
            {
                logging.AddJsonConsole(json =>
                {
                    json.UseUtcTimestamp = true;
                    json.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                    json.IncludeScopes = true;
                });
            }
            else
            {
                logging.AddSimpleConsole(simple =>
                {
                    simple.SingleLine = true;
                    simple.UseUtcTimestamp = true;
                    simple.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
                });
            }
        }

        logging.SetMinimumLevel(settings.RootLogsLevel);

        // Framework request chatter stays at Warning unless the root level asks for more detail; failed readiness
        // probes are answered with 503 and need no error line each.
        var framework = settings.RootLogsLevel < LogLevel.Information ? settings.RootLogsLevel : Max(settings.RootLogsLevel, LogLevel.Warning);
        logging.AddFilter("Microsoft.AspNetCore", framework);
        logging.AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks", settings.RootLogsLevel < LogLevel.Information ? settings.RootLogsLevel : LogLevel.Critical);
        logging.AddFilter(AppCategory, settings.AppLogsLevel);
        logging.AddFilter(TrafficCategory, settings.TrafficLogsLevel);
        logging.AddFilter(AccessCategory, settings.AccessLogsEnabled ? LogLevel.Information : LogLevel.None);
        return logging;
    }

    private static LogLevel Max(LogLevel a, LogLevel b) => a > b ? a : b;
}
