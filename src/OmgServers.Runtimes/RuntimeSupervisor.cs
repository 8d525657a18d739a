using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace OmgServers.Runtimes;

/// <summary>Settings of a <see cref="RuntimeSupervisor"/>.</summary>
public sealed class RuntimeSupervisorOptions
{
    /// <summary>Exits forwarded but not yet read from <see cref="RuntimeSupervisor.Exits"/>. When full, forwarding waits
    /// (and each host keeps its own bounded backlog). Default 256.</summary>
    public int ExitBufferCapacity { get; set; } = 256;

    /// <summary>How many leftovers <see cref="RuntimeSupervisor.ReconcileAsync"/> stops at once; each stop may take a
    /// host's grace period. Default 4.</summary>
    public int MaxParallelStops { get; set; } = 4;
}

/// <summary>
/// One pool's runtimes over one or more hosts (contract 7.2-7.4): places a runtime on a host that can run its image
/// and has room, remembers where each runtime runs, reconciles what runs with what should run, and forwards the
/// hosts' exits. It restarts nothing: a runtime that should run but does not is reported to its owner, who applies
/// the inactivity rules (contract 5.7). The supervisor owns its hosts and disposes them.
/// Host calls run on the caller's task; an entity should call the supervisor off its mailbox and get the result
/// back as a message.
/// </summary>
public sealed class RuntimeSupervisor : IAsyncDisposable
{
    private readonly IReadOnlyList<IRuntimeHost> _hosts;
    private readonly RuntimeSupervisorOptions _options;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly Dictionary<long, IRuntimeHost> _placement = new();           // one entry per running runtime
    private readonly Dictionary<long, Task<RuntimeInstance>> _starting = new();    // at most one start per id at a time
    private readonly Channel<RuntimeExit> _exits;
    private readonly CancellationTokenSource _lifetime = new();
    private readonly SemaphoreSlim _loading = new(1, 1);
    private volatile bool _loaded;
    private Task[] _pumps = [];
    private bool _disposed;

    public RuntimeSupervisor(IEnumerable<IRuntimeHost> hosts, RuntimeSupervisorOptions? options = null, ILogger<RuntimeSupervisor>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(hosts);
        _hosts = hosts.ToList();
        if (_hosts.Count == 0) throw new ArgumentException("a supervisor needs at least one host", nameof(hosts));
        var duplicate = _hosts.GroupBy(h => h.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new ArgumentException($"two hosts are named '{duplicate.Key}'", nameof(hosts));
        _options = options ?? new RuntimeSupervisorOptions();
        if (_options.ExitBufferCapacity < 1 || _options.MaxParallelStops < 1) throw new ArgumentException("supervisor capacities must be at least 1", nameof(options));
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _exits = Channel.CreateBounded<RuntimeExit>(new BoundedChannelOptions(_options.ExitBufferCapacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleWriter = false,
        });
    }

    public IReadOnlyList<IRuntimeHost> Hosts => _hosts;

    /// <summary>The name of the host the runtime runs on, as far as the supervisor knows.</summary>
    public string? HostOf(long runtimeId)
    {
        lock (_gate) return _placement.TryGetValue(runtimeId, out var host) ? host.Name : null;
    }

    /// <summary>
    /// Starts the runtime on a host that can run its image, or returns it where it already runs. Among the hosts that
    /// can, the one with the fewest runtimes goes first; a full one is skipped. Throws
    /// <see cref="RuntimeImageNotSupportedException"/> when no host can run the image and
    /// <see cref="RuntimeHostFullException"/> when all that can are full.
    /// </summary>
    public async Task<RuntimeInstance> StartAsync(RuntimeLaunch launch, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(launch);
        await EnsureLoadedAsync(ct).ConfigureAwait(false);
        Task<RuntimeInstance> start;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_starting.TryGetValue(launch.RuntimeId, out start!))
            {
                // Shared by concurrent callers for the same id and not tied to the first caller's token, so that one
                // caller giving up neither cancels the others nor lets a second placement race the first.
                start = PlaceOnceAsync(launch);
                _starting[launch.RuntimeId] = start;
            }
        }
        return await start.WaitAsync(ct).ConfigureAwait(false);
    }

    private async Task<RuntimeInstance> PlaceOnceAsync(RuntimeLaunch launch)
    {
        await Task.Yield(); // leave the caller's lock before doing anything
        try
        {
            return await PlaceAsync(launch, _lifetime.Token).ConfigureAwait(false);
        }
        finally
        {
            lock (_gate) _starting.Remove(launch.RuntimeId);
        }
    }

    private async Task<RuntimeInstance> PlaceAsync(RuntimeLaunch launch, CancellationToken ct)
    {
        IRuntimeHost? placed;
        List<IRuntimeHost> candidates;
        lock (_gate)
        {
            _placement.TryGetValue(launch.RuntimeId, out placed);
            var load = _placement.Values.GroupBy(h => h).ToDictionary(g => g.Key, g => g.Count());
            candidates = _hosts.Where(h => h.CanRun(launch.ImageId)).OrderBy(h => load.GetValueOrDefault(h)).ToList(); // stable: ties keep host order
        }
        if (placed is not null) return await placed.StartAsync(launch, ct).ConfigureAwait(false); // idempotent: returns it as it is
        if (candidates.Count == 0)
            throw new RuntimeImageNotSupportedException(launch.ImageId, $"no runtime host can run image '{launch.ImageId}' (hosts: {string.Join(", ", _hosts.Select(h => h.Name))})");

        foreach (var host in candidates)
        {
            try
            {
                var instance = await host.StartAsync(launch, ct).ConfigureAwait(false);
                lock (_gate) _placement[launch.RuntimeId] = host;
                return instance;
            }
            catch (RuntimeHostFullException)
            {
                _logger.LogDebug("Host {Host} is full; trying the next for runtime {RuntimeId}", host.Name, launch.RuntimeId);
            }
        }
        throw new RuntimeHostFullException(string.Join(",", candidates.Select(h => h.Name)), null,
            $"every runtime host that can run image '{launch.ImageId}' is full ({string.Join(", ", candidates.Select(h => h.Name))})");
    }

    /// <summary>Stops the runtime wherever it runs; <c>false</c> when it runs nowhere.</summary>
    public async Task<bool> StopAsync(long runtimeId, CancellationToken ct)
    {
        await EnsureLoadedAsync(ct).ConfigureAwait(false);
        IRuntimeHost? placed;
        lock (_gate) _placement.TryGetValue(runtimeId, out placed);
        var stopped = false;
        foreach (var host in placed is null ? _hosts : [placed])
        {
            if (await host.StopAsync(runtimeId, ct).ConfigureAwait(false)) stopped = true;
        }
        lock (_gate)
            if (_placement.TryGetValue(runtimeId, out var current) && (placed is null || current == placed)) _placement.Remove(runtimeId);
        return stopped;
    }

    /// <summary>What runs now on all hosts.</summary>
    public async Task<IReadOnlyList<RuntimeInstance>> ListAsync(CancellationToken ct)
    {
        await EnsureLoadedAsync(ct).ConfigureAwait(false);
        var all = new List<RuntimeInstance>();
        foreach (var host in _hosts) all.AddRange(await host.ListAsync(ct).ConfigureAwait(false));
        return all;
    }

    /// <summary>
    /// Makes the hosts run no more than <paramref name="shouldRun"/>: every running runtime outside the set (a leftover
    /// nobody owns, e.g. from before a crash) is stopped, and a runtime running on two hosts keeps only its first.
    /// Returns the ids in the set that run nowhere; the supervisor does not start them, their owners decide.
    /// A stop that fails is logged and tried again by the next reconcile.
    /// </summary>
    public async Task<IReadOnlySet<long>> ReconcileAsync(IReadOnlySet<long> shouldRun, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(shouldRun);
        await EnsureLoadedAsync(ct).ConfigureAwait(false);
        var running = new HashSet<long>();
        var leftovers = new List<(IRuntimeHost Host, long RuntimeId)>();
        foreach (var host in _hosts)
        {
            foreach (var instance in await host.ListAsync(ct).ConfigureAwait(false))
            {
                if (shouldRun.Contains(instance.RuntimeId) && running.Add(instance.RuntimeId))
                {
                    lock (_gate) _placement[instance.RuntimeId] = host;
                    continue;
                }
                leftovers.Add((host, instance.RuntimeId));
            }
        }

        await Parallel.ForEachAsync(leftovers, new ParallelOptions { MaxDegreeOfParallelism = _options.MaxParallelStops, CancellationToken = ct },
            async (leftover, token) =>
            {
                try
                {
                    if (await leftover.Host.StopAsync(leftover.RuntimeId, token).ConfigureAwait(false))
                        _logger.LogInformation("Reconcile stopped runtime {RuntimeId} on host {Host}: nobody owns it", leftover.RuntimeId, leftover.Host.Name);
                    lock (_gate)
                        if (_placement.TryGetValue(leftover.RuntimeId, out var current) && current == leftover.Host) _placement.Remove(leftover.RuntimeId);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    _logger.LogWarning(e, "Reconcile could not stop runtime {RuntimeId} on host {Host}; next reconcile tries again", leftover.RuntimeId, leftover.Host.Name);
                }
            }).ConfigureAwait(false);

        var missing = shouldRun.Where(id => !running.Contains(id)).ToHashSet();
        if (leftovers.Count > 0 || missing.Count > 0)
            _logger.LogInformation("Reconciled {Hosts} hosts: {Running} running as they should, {Leftovers} leftovers stopped, {Missing} missing",
                _hosts.Count, running.Count, leftovers.Count, missing.Count);
        return missing;
    }

    /// <summary>Runtimes that ended on their own on any host, each once. One consumer takes each exit.</summary>
    public async IAsyncEnumerable<RuntimeExit> Exits([EnumeratorCancellation] CancellationToken ct)
    {
        await EnsureLoadedAsync(ct).ConfigureAwait(false);
        await foreach (var exit in _exits.Reader.ReadAllAsync(ct).ConfigureAwait(false)) yield return exit;
    }

    /// <summary>On first use: learn what already runs where (including what a previous backend left) and start
    /// forwarding exits.</summary>
    private async Task EnsureLoadedAsync(CancellationToken ct)
    {
        if (_loaded) return;
        await _loading.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_loaded) return;
            lock (_gate) ObjectDisposedException.ThrowIf(_disposed, this);
            foreach (var host in _hosts)
            {
                var instances = await host.ListAsync(ct).ConfigureAwait(false);
                lock (_gate)
                    foreach (var instance in instances) _placement.TryAdd(instance.RuntimeId, host);
            }
            _pumps = _hosts.Select(h => Task.Run(() => ForwardExitsAsync(h))).ToArray();
            _loaded = true;
        }
        finally
        {
            _loading.Release();
        }
    }

    private async Task ForwardExitsAsync(IRuntimeHost host)
    {
        try
        {
            await foreach (var exit in host.Exits(_lifetime.Token).ConfigureAwait(false))
            {
                lock (_gate)
                    if (_placement.TryGetValue(exit.RuntimeId, out var current) && current == host) _placement.Remove(exit.RuntimeId);
                await _exits.Writer.WriteAsync(exit, _lifetime.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (_lifetime.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            _logger.LogError(e, "Forwarding exits from host {Host} stopped", host.Name);
        }
    }

    /// <summary>Stops forwarding and disposes the hosts; their runtimes keep running (see <see cref="IRuntimeHost"/>).</summary>
    public async ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
        }
        await _lifetime.CancelAsync().ConfigureAwait(false);
        foreach (var host in _hosts)
        {
            try { await host.DisposeAsync().ConfigureAwait(false); }
            catch (Exception e) { _logger.LogWarning(e, "Disposing host {Host} failed", host.Name); }
        }
        await Task.WhenAll(_pumps).ConfigureAwait(false);
        _exits.Writer.TryComplete();
    }
}
