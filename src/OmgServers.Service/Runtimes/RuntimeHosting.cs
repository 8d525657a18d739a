using System.Globalization;
using OmgServers.Actors;
using OmgServers.Domain;
using OmgServers.Domain.Runtimes;
using OmgServers.Hosting.Configuration;
using OmgServers.Runtimes;

namespace OmgServers.Service.Runtimes;

/// <summary>
/// This node's runtime hosting: one <see cref="RuntimeSupervisor"/> over its hosts (today the process host, which runs
/// image ids <c>process:&lt;name&gt;</c>; a Docker host plugs in as one more <see cref="IRuntimeHost"/>). Runtime entities
/// start and stop runtimes through it (<see cref="IRuntimeLauncher"/>). It restarts nothing. Two loops keep it honest:
/// every runtime that ends on its own is told to its entity (the inactivity rules apply at once), and every
/// <see cref="ReconcileInterval"/> each runtime running here is checked against its entity: one that no entity wants
/// (deleted, inactive, unknown: a leftover of a crash or a shard move) is stopped. Runtimes outlive a backend restart,
/// as containers do, and are adopted by the next start.
/// </summary>
public sealed class RuntimeHosting(OmgServersSettings settings, ActorRuntime runtime, ILoggerFactory loggers) : IRuntimeLauncher, IHostedService, IAsyncDisposable
{
    public static readonly TimeSpan ReconcileInterval = TimeSpan.FromSeconds(15);

    private readonly ILogger _log = loggers.CreateLogger<RuntimeHosting>();
    private readonly CancellationTokenSource _stop = new();
    private RuntimeSupervisor? _supervisor;
    private Task _loops = Task.CompletedTask;

    /// <summary>The URL runtimes call back: the overriding URI if enabled, else this node's own listener (runtimes of the
    /// process host run on this machine).</summary>
    public string ServiceUrl { get; } = settings.Runtimes.OverridingEnabled
        ? settings.Runtimes.OverridingUri.ToString().TrimEnd('/')
        : $"http://{LocalHost(settings.Server.Host)}:{settings.Server.Port}";

    public RuntimeSupervisor? Supervisor => _supervisor;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var process = settings.Runtimes.Process;
        var hosts = new List<IRuntimeHost>();
        if (process.Enabled)
        {
            var options = new ProcessHostOptions
            {
                StateDirectory = process.StateDir.Length > 0
                    ? Path.GetFullPath(process.StateDir)
                    : Path.Combine(settings.Server.DataDirFullPath(), "runtimes", settings.Actors.NodeId.Length > 0 ? settings.Actors.NodeId : "node"),
                MaxRuntimes = process.MaxRuntimes,
                StopGracePeriod = process.StopGracePeriod,
            };
            foreach (var image in process.Images)
                options.Images[image.Name] = new ProcessImage
                {
                    Command = image.Command,
                    Arguments = [.. image.Arguments],
                    WorkingDirectory = image.WorkingDir.Length > 0 ? Path.GetFullPath(image.WorkingDir) : null,
                };
            hosts.Add(new ProcessRuntimeHost(options, loggers.CreateLogger<ProcessRuntimeHost>()));
            _log.LogInformation("Runtime hosting: process host in {Directory}, images [{Images}], at most {Max} runtimes; runtimes call {Url}",
                options.StateDirectory, string.Join(", ", options.Images.Keys.Select(k => "process:" + k)), options.MaxRuntimes, ServiceUrl);
        }
        if (hosts.Count == 0)
        {
            _log.LogWarning("Runtime hosting: no runtime host is enabled; lobbies and matches are created but never started");
            return Task.CompletedTask;
        }
        _supervisor = new RuntimeSupervisor(hosts, logger: loggers.CreateLogger<RuntimeSupervisor>());
        _loops = Task.WhenAll(ForwardExitsAsync(_supervisor, _stop.Token), ReconcileLoopAsync(_supervisor, _stop.Token));
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stop.CancelAsync();
        try { await _loops.WaitAsync(cancellationToken); } catch (OperationCanceledException) { }
    }

    // Registered under two service types, so the container may dispose it twice.
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        await _stop.CancelAsync();
        if (_supervisor is not null) await _supervisor.DisposeAsync();
    }

    private int _disposed;

    async Task IRuntimeLauncher.StartAsync(RuntimeStart start, CancellationToken ct)
    {
        var supervisor = _supervisor ?? throw new InvalidOperationException("no runtime host is enabled on this node");
        var limits = settings.Runtimes;
        var instance = await supervisor.StartAsync(new RuntimeLaunch(start.RuntimeId, start.Qualifier.ToString(), start.ImageId, start.Password, ServiceUrl,
            CpuLimitMillicores: limits.DefaultCpuLimit * 10, MemoryLimitMegabytes: limits.DefaultMemoryLimit, start.Labels), ct);
        _log.LogInformation("Runtime {Runtime} ({Qualifier}, {Image}) started on host {Host}, pid {Pid}",
            start.RuntimeId, start.Qualifier, start.ImageId, instance.HostName, instance.ProcessId);
    }

    Task<bool> IRuntimeLauncher.StopAsync(long runtimeId, CancellationToken ct) =>
        _supervisor is null ? Task.FromResult(false) : _supervisor.StopAsync(runtimeId, ct);

    private async Task ForwardExitsAsync(RuntimeSupervisor supervisor, CancellationToken ct)
    {
        try
        {
            await foreach (var exit in supervisor.Exits(ct))
            {
                _log.LogWarning("Runtime {Runtime} ended on its own: {Reason} (exit code {Code})", exit.RuntimeId, exit.Reason, exit.ExitCode?.ToString(CultureInfo.InvariantCulture) ?? "unknown");
                await TellUntilAcceptedAsync(RuntimeEntity.Address(exit.RuntimeId), new RuntimeCommands.ProcessExited(exit.ExitCode, exit.Reason), ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
    }

    // An exit that cannot be told (the shard is moving) is not lost for good: the inactivity reminder catches it later.
    private async Task TellUntilAcceptedAsync(EntityAddress to, object message, CancellationToken ct)
    {
        for (var attempt = 0; attempt < 30 && !ct.IsCancellationRequested; attempt++)
        {
            if (runtime.IsReady && runtime.Tell(to, message)) return;
            await Task.Delay(TimeSpan.FromSeconds(1), ct);
        }
    }

    private async Task ReconcileLoopAsync(RuntimeSupervisor supervisor, CancellationToken ct)
    {
        try
        {
            while (!ct.IsCancellationRequested)
            {
                if (runtime.IsReady)
                {
                    try { await ReconcileOnceAsync(supervisor, ct); }
                    catch (Exception e) when (e is not OperationCanceledException) { _log.LogWarning(e, "Runtime reconcile failed; next one in {Interval}", ReconcileInterval); }
                    await Task.Delay(ReconcileInterval, ct);
                }
                else
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(500), ct);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
    }

    /// <summary>
    /// Stops every runtime running here that its entity does not want (deleted, inactive, unknown). Only those: a runtime
    /// that starts meanwhile, or whose entity cannot be asked now (a shard moving), keeps running.
    /// </summary>
    public async Task<int> ReconcileOnceAsync(RuntimeSupervisor supervisor, CancellationToken ct)
    {
        var running = await supervisor.ListAsync(ct);
        var unwanted = new List<long>();
        await Parallel.ForEachAsync(running, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct }, async (instance, token) =>
        {
            try
            {
                var reply = await runtime.AskAsync<RuntimeShouldRun>(RuntimeEntity.Address(instance.RuntimeId), new RuntimeCommands.ShouldRun(), TimeSpan.FromSeconds(5), token);
                if (!reply.Run) lock (unwanted) unwanted.Add(instance.RuntimeId);
            }
            catch (Exception e) when (e is not OperationCanceledException || !token.IsCancellationRequested)
            {
                _log.LogDebug(e, "Reconcile could not ask runtime {Runtime}; it keeps running", instance.RuntimeId);
            }
        });
        foreach (var runtimeId in unwanted)
        {
            try
            {
                if (await supervisor.StopAsync(runtimeId, ct))
                    _log.LogInformation("Reconcile stopped runtime {Runtime}: no entity wants it (deleted, inactive or unknown)", runtimeId);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                _log.LogWarning(e, "Reconcile could not stop runtime {Runtime}; the next reconcile tries again", runtimeId);
            }
        }
        return unwanted.Count;
    }

    private static string LocalHost(string host) => host is "" or "0.0.0.0" or "::" or "[::]" or "*" or "+" ? "127.0.0.1" : host;
}
