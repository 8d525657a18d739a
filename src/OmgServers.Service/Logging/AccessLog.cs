using System.Diagnostics;

namespace OmgServers.Service.Logging;

/// <summary>One log line per HTTP request: method, path, status and duration (category OmgServers.Access).</summary>
public static class AccessLog
{
    public static IApplicationBuilder UseAccessLog(this IApplicationBuilder app)
    {
        var logger = app.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger(LoggingSetup.AccessCategory);
        return app.Use(async (context, next) =>
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                await next(context);
            }
            finally
            {
                logger.LogInformation("{Method} {Path} {Status} {ElapsedMs:0.0}ms",
                    context.Request.Method, context.Request.Path.Value, context.Response.StatusCode,
                    Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        });
    }
}
