using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace OmgServers.Actors;

public static class ActorRuntimeServiceCollectionExtensions
{
    /// <summary>
    /// Registers the actor runtime as a singleton and a hosted service that starts it in the background (retrying
    /// until PostgreSQL answers, so the host serves liveness meanwhile) and stops it gracefully on shutdown.
    /// <paramref name="entities"/> is the one place where entity types are registered.
    /// </summary>
    public static IServiceCollection AddActorRuntime(this IServiceCollection services, ActorRuntimeOptions options, Action<EntityRegistryBuilder> entities)
    {
        var builder = new EntityRegistryBuilder();
        entities(builder);
        var registry = builder.Build();
        services.AddSingleton(registry);
        services.AddSingleton(sp => new ActorRuntime(options, registry, sp, sp.GetService<ILoggerFactory>()));
        services.AddHostedService<ActorRuntimeHostedService>();
        return services;
    }
}

/// <summary>Starts the runtime without blocking the host's start; <see cref="ActorRuntime.IsReady"/> tells when it is serving.</summary>
internal sealed class ActorRuntimeHostedService(ActorRuntime runtime, ILogger<ActorRuntimeHostedService> log) : IHostedService
{
    private readonly CancellationTokenSource _cancel = new();
    private Task? _starting;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _starting = Task.Run(StartWithRetryAsync);
        return Task.CompletedTask;
    }

    private async Task StartWithRetryAsync()
    {
        var delay = TimeSpan.FromMilliseconds(250);
        for (var attempt = 1; !_cancel.IsCancellationRequested; attempt++)
        {
            try
            {
                await runtime.StartAsync(_cancel.Token).ConfigureAwait(false);
                return;
            }
            catch (InvalidOperationException ex) when (ex.Message.Contains("shard-count") || ex.Message.Contains("newer than this build"))
            {
                log.LogCritical(ex, "actor runtime cannot start");
                return;
            }
            catch (Exception) when (_cancel.IsCancellationRequested)
            {
                // Shutdown arrived while still starting: StopAsync below takes it from here.
                return;
            }
            catch (Exception ex)
            {
                // The first attempts usually race the database's own start: only a persisting failure is worth a warning.
                log.Log(attempt <= 5 ? LogLevel.Debug : LogLevel.Warning, "actor runtime start attempt {Attempt} failed: {Error}; retrying in {Delay}", attempt, ex.Message, delay);
                runtime.ResetAfterFailedStart();
                try { await Task.Delay(delay, _cancel.Token).ConfigureAwait(false); } catch (OperationCanceledException) { return; }
                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 5000));
            }
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _cancel.Cancel();
        if (_starting is not null)
        {
            try { await _starting.ConfigureAwait(false); }
            catch (OperationCanceledException) { }
        }
        await runtime.StopAsync(cancellationToken).ConfigureAwait(false);
    }
}
