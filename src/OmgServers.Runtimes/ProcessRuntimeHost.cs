using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace OmgServers.Runtimes;

/// <summary>
/// Runs each runtime as a local Linux process: the default host, for development, tests and single-machine installs.
/// It mirrors what the Docker host does with a container (contract 7.1-7.3) as far as a process allows:
/// <list type="bullet">
/// <item>Image id <c>process:&lt;name&gt;</c> runs the configured <see cref="ProcessImage"/> with the contract's variables
/// and nothing of the backend's environment but <see cref="ProcessHostOptions.InheritedEnvironment"/>. The password
/// travels in the environment (readable only by the same user), never on the command line, in a log or a file.</item>
/// <item>Each runtime leads its own session and process group (<c>setsid</c>), so stopping reaches its children, and
/// when the runtime ends on its own its leftover children are killed, as a container's are when its PID 1 ends.</item>
/// <item>Output goes straight from the runtime to <c>runtimes/&lt;id&gt;/output.log</c> (O_APPEND; no pipe through the
/// backend, so a backend restart does not break it), bounded by <see cref="ProcessHostOptions.MaxLogBytes"/>.</item>
/// <item><c>runtime.json</c> (pid, process start time, boot id) lets a new host adopt what still runs after a
/// backend restart and never mistake a reused pid for a runtime.</item>
/// <item>Limits: CPU is not enforced (a rate limit needs a cgroup, which needs privileges; RLIMIT_CPU caps total
/// CPU seconds and would kill a long-running server). Memory per <see cref="ProcessHostOptions.MemoryLimit"/>,
/// not enforced by default. The host logs one warning saying so; the Docker host enforces both.</item>
/// <item>Nothing is restarted by the host.</item>
/// </list>
/// Async work runs on the host's own tasks (one watcher per child, one poll loop); callers only await.
/// </summary>
public sealed class ProcessRuntimeHost : IRuntimeHost
{
    /// <summary>Image ids this host runs start with this prefix.</summary>
    public const string ImagePrefix = "process:";

    // The wrapper, run by /bin/sh after setsid: $0 is a label for ps, $1 the log file, $2 the address-space limit in
    // KiB or "unlimited", then the command and its arguments. Redirect first so that a failing ulimit is logged.
    // (The runtime inherits SIGPIPE ignored from .NET, and a shell cannot reset that; see README "Signals".)
    private const string Wrapper =
        "exec >>\"$1\" 2>&1 </dev/null || exit 126\n" +
        "if [ \"$2\" != unlimited ]; then ulimit -v \"$2\" || exit 126; fi\n" +
        "shift 2\n" +
        "exec \"$@\"\n";

    private static readonly TimeSpan SessionSetupTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan StopPollInterval = TimeSpan.FromMilliseconds(50);

    private readonly ProcessHostOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly string _runtimesDirectory;
    private readonly Lock _gate = new();
    private readonly Lock _directories = new();                             // creating vs pruning runtime directories
    private readonly Dictionary<long, Tracked> _runtimes = new();          // starting, running, stopping, ending
    private readonly Queue<RuntimeExit> _exits = new();                     // bounded by MaxPendingExits
    private readonly Channel<bool> _exitBell = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _lifetime = new();
    private readonly SemaphoreSlim _initialization = new(1, 1);
    private volatile bool _initialized;
    private bool _disposed;
    private FileStream? _stateLock;
    private string _setsid = "";
    private Task _monitor = Task.CompletedTask;
    private int _limitsWarned;

    public ProcessRuntimeHost(ProcessHostOptions options, ILogger<ProcessRuntimeHost>? logger = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _time = time ?? TimeProvider.System;
        _runtimesDirectory = Path.Combine(Path.GetFullPath(options.StateDirectory), "runtimes");
    }

    public string Name => _options.Name;

    /// <summary>The directory of one runtime: runtime.json, output.log, output.log.1 and work/.</summary>
    public string RuntimeDirectory(long runtimeId) => Path.Combine(_runtimesDirectory, runtimeId.ToString(CultureInfo.InvariantCulture));

    /// <summary>The runtime's current log file.</summary>
    public string LogPath(long runtimeId) => Path.Combine(RuntimeDirectory(runtimeId), RuntimeFiles.LogFileName);

    public bool CanRun(string imageId) => TryGetImage(imageId, out _);

    private bool TryGetImage(string imageId, out ProcessImage image)
    {
        image = null!;
        return imageId is not null
               && imageId.StartsWith(ImagePrefix, StringComparison.Ordinal)
               && _options.Images.TryGetValue(imageId[ImagePrefix.Length..], out image!);
    }

    public async Task<RuntimeInstance> StartAsync(RuntimeLaunch launch, CancellationToken ct)
    {
        var image = Validate(launch);
        await EnsureInitializedAsync(ct).ConfigureAwait(false);
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            Tracked? existing, mine = null;
            RuntimeState state;
            RuntimeInstance? instance;
            Task? stopAttempt;
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                if (!_runtimes.TryGetValue(launch.RuntimeId, out existing))
                {
                    if (_runtimes.Count >= _options.MaxRuntimes) throw new RuntimeHostFullException(Name, _options.MaxRuntimes);
                    mine = new Tracked(launch.RuntimeId);
                    _runtimes.Add(launch.RuntimeId, mine);
                }
                state = existing?.State ?? RuntimeState.Starting;
                instance = existing?.Instance;
                stopAttempt = existing?.Stopped?.Task;
            }
            if (mine is not null) return await LaunchAsync(mine, launch, image).ConfigureAwait(false);

            switch (state)
            {
                case RuntimeState.Running:
                    return instance!;
                case RuntimeState.Starting:
                    return await existing!.Started.Task.WaitAsync(ct).ConfigureAwait(false);
                case RuntimeState.Stopping: // once it is gone, start anew; if the stop fails, it runs on: look again
                    await Task.WhenAny(existing!.Gone.Task, stopAttempt!).WaitAsync(ct).ConfigureAwait(false);
                    break;
                default: // ending on its own: its slot is released in a moment
                    await existing!.Gone.Task.WaitAsync(ct).ConfigureAwait(false);
                    break;
            }
        }
    }

    private ProcessImage Validate(RuntimeLaunch launch)
    {
        ArgumentNullException.ThrowIfNull(launch);
        if (launch.RuntimeId <= 0) throw new ArgumentException("RuntimeId must be positive", nameof(launch));
        if (!RuntimeQualifiers.IsValid(launch.Qualifier)) throw new ArgumentException($"Qualifier must be LOBBY or MATCH, not '{launch.Qualifier}'", nameof(launch));
        if (string.IsNullOrEmpty(launch.Password)) throw new ArgumentException("Password is required", nameof(launch));
        if (string.IsNullOrWhiteSpace(launch.ServiceUrl)) throw new ArgumentException("ServiceUrl is required", nameof(launch));
        if (launch.Labels is null) throw new ArgumentException("Labels must not be null (may be empty)", nameof(launch));
        if (launch.CpuLimitMillicores < 0 || launch.MemoryLimitMegabytes < 0) throw new ArgumentException("limits must not be negative", nameof(launch));
        if (!TryGetImage(launch.ImageId, out var image))
            throw new RuntimeImageNotSupportedException(launch.ImageId, $"host '{Name}' cannot run image '{launch.ImageId}' (it runs {ImagePrefix}<name> for: {string.Join(", ", _options.Images.Keys)})");
        return image;
    }

    /// <summary>Starts the process for a reserved slot. Not cancellable once spawned, so that nothing runs untracked.</summary>
    private async Task<RuntimeInstance> LaunchAsync(Tracked mine, RuntimeLaunch launch, ProcessImage image)
    {
        Process? process = null;
        try
        {
            var directory = RuntimeDirectory(launch.RuntimeId);
            var work = Path.Combine(directory, RuntimeFiles.WorkDirectoryName);
            lock (_directories)
            {
                Directory.CreateDirectory(work);
                RuntimeFiles.DeleteRecord(directory); // a previous life of the same id ended; its record is void
            }
            WarnAboutLimitsOnce(launch);

            var addressSpaceKiB = _options.MemoryLimit == ProcessMemoryLimit.AddressSpace && launch.MemoryLimitMegabytes > 0
                ? ((long)launch.MemoryLimitMegabytes * 1024).ToString(CultureInfo.InvariantCulture)
                : "unlimited";
            var info = new ProcessStartInfo(_setsid)
            {
                UseShellExecute = false,
                WorkingDirectory = image.WorkingDirectory ?? work,
            };
            // setsid execs in place (our child is never a group leader), so the pid we get is the runtime's pid,
            // its process group and its session.
            foreach (var argument in (string[])[_options.ShellPath, "-c", Wrapper, $"omgservers-runtime-{launch.RuntimeId}",
                         Path.Combine(directory, RuntimeFiles.LogFileName), addressSpaceKiB, image.Command])
                info.ArgumentList.Add(argument);
            foreach (var argument in image.Arguments) info.ArgumentList.Add(argument);

            info.Environment.Clear();
            foreach (var name in _options.InheritedEnvironment)
                if (Environment.GetEnvironmentVariable(name) is { } value) info.Environment[name] = value;
            foreach (var (name, value) in image.Environment) info.Environment[name] = value;
            foreach (var (name, value) in RuntimeEnvironment.For(launch)) info.Environment[name] = value;

            process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {_setsid}");
            var pid = process.Id;
            var stat = await WaitForSessionAsync(pid).ConfigureAwait(false);
            var record = new RuntimeRecord(launch.RuntimeId, Name, launch.ImageId, launch.Qualifier, pid,
                stat?.StartTicks ?? 0, ProcFs.BootId, _time.GetUtcNow(), launch.CpuLimitMillicores, launch.MemoryLimitMegabytes,
                addressSpaceKiB == "unlimited" ? "none" : "address-space", launch.Labels);
            RuntimeFiles.WriteRecord(directory, record);

            var instance = record.ToInstance();
            lock (_gate)
            {
                mine.Record = record;
                mine.Instance = instance;
                mine.Child = process;
                mine.State = RuntimeState.Running;
            }
            mine.Started.TrySetResult(instance);
            _logger.LogInformation("Runtime {RuntimeId} ({Qualifier}) started on host {Host}: image {ImageId}, pid {Pid}",
                launch.RuntimeId, launch.Qualifier, Name, launch.ImageId, pid);
            _ = WatchChildAsync(mine, process);
            return instance;
        }
        catch (Exception e)
        {
            if (process is not null)
            {
                // Spawned but not recorded: leave nothing untracked behind.
                try { process.Kill(entireProcessTree: true); } catch (Exception) { /* already gone */ }
                process.Dispose();
            }
            try { RuntimeFiles.DeleteRecord(RuntimeDirectory(launch.RuntimeId)); } catch (IOException) { }
            lock (_gate) _runtimes.Remove(launch.RuntimeId);
            mine.Started.TrySetException(e);
            _ = mine.Started.Task.Exception; // observed: the caller gets it as the thrown exception
            mine.Gone.TrySetResult();
            _logger.LogError(e, "Runtime {RuntimeId} could not be started on host {Host}", launch.RuntimeId, Name);
            throw;
        }
    }

    /// <summary>Waits (briefly) until the child has become its own session leader, i.e. setsid has run.</summary>
    private async Task<ProcStat?> WaitForSessionAsync(int pid)
    {
        var clock = Stopwatch.StartNew();
        var pause = 1;
        while (true)
        {
            var stat = ProcFs.TryReadStat(pid);
            if (stat is null || stat.Value.HasEnded || stat.Value.Session == pid) return stat;
            if (clock.Elapsed > SessionSetupTimeout)
            {
                _logger.LogWarning("Process {Pid} did not become a session leader within {Timeout}", pid, SessionSetupTimeout);
                return stat;
            }
            await Task.Delay(pause).ConfigureAwait(false); // a few milliseconds in all: setsid runs right after exec
            pause = Math.Min(pause * 2, 20);
        }
    }

    private void WarnAboutLimitsOnce(RuntimeLaunch launch)
    {
        var unenforced = launch.CpuLimitMillicores > 0
                         || (launch.MemoryLimitMegabytes > 0 && _options.MemoryLimit == ProcessMemoryLimit.NotEnforced);
        if (!unenforced || Interlocked.Exchange(ref _limitsWarned, 1) == 1) return;
        _logger.LogWarning(
            "Runtime host {Host} runs local processes and does not enforce CPU limits{Memory} (asked: {Cpu} millicores, {MemoryMb} MiB). " +
            "Without a container Linux offers no unprivileged rate limit; the Docker host enforces them. This warning is logged once.",
            Name, _options.MemoryLimit == ProcessMemoryLimit.NotEnforced ? " or memory limits" : " (memory is capped as address space)",
            launch.CpuLimitMillicores, launch.MemoryLimitMegabytes);
    }

    public async Task<bool> StopAsync(long runtimeId, CancellationToken ct)
    {
        await EnsureInitializedAsync(ct).ConfigureAwait(false);
        while (true)
        {
            Tracked? entry;
            var stopHere = false;
            RuntimeState state;
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                if (!_runtimes.TryGetValue(runtimeId, out entry)) return false;
                state = entry.State;
                switch (state)
                {
                    case RuntimeState.Ending:
                        return false; // it ended on its own; its exit is reported
                    case RuntimeState.Running:
                        entry.State = RuntimeState.Stopping;
                        entry.StopRequested = true;
                        entry.Stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                        stopHere = true;
                        break;
                }
            }
            if (state == RuntimeState.Starting)
            {
                try { await entry.Started.Task.WaitAsync(ct).ConfigureAwait(false); }
                catch (Exception) when (!ct.IsCancellationRequested) { return false; } // its start failed: nothing runs
                continue;
            }
            // The stop runs on its own under the host's lifetime: a caller giving up does not leave it half done.
            if (stopHere) _ = Task.Run(() => StopCoreAsync(entry));
            await entry.Stopped!.Task.WaitAsync(ct).ConfigureAwait(false);
            return true;
        }
    }

    private async Task StopCoreAsync(Tracked entry)
    {
        var record = entry.Record!;
        var clock = Stopwatch.StartNew();
        try
        {
            var killed = false;
            if (ProcFs.Probe(record.Pid, record.ProcessStartTicks, record.BootId) != LeaderState.Reused)
            {
                ProcFs.SignalGroup(record.Pid, ProcFs.SigTerm);
                if (!await WaitUntilGroupGoneAsync(record, _options.StopGracePeriod).ConfigureAwait(false))
                {
                    // Re-check before the hard kill: never SIGKILL a group whose id now belongs to someone else.
                    if (ProcFs.Probe(record.Pid, record.ProcessStartTicks, record.BootId) != LeaderState.Reused)
                    {
                        _logger.LogWarning("Runtime {RuntimeId} did not stop within {Grace} of SIGTERM; sending SIGKILL", record.RuntimeId, _options.StopGracePeriod);
                        ProcFs.SignalGroup(record.Pid, ProcFs.SigKill);
                        killed = true;
                    }
                    if (!await WaitUntilGroupGoneAsync(record, _options.KillTimeout).ConfigureAwait(false))
                        throw new RuntimeStopFailedException(record.RuntimeId,
                            $"runtime {record.RuntimeId} (process group {record.Pid}) is still running {_options.KillTimeout} after SIGKILL");
                }
            }
            Forget(entry);
            entry.Stopped!.TrySetResult();
            _logger.LogInformation("Runtime {RuntimeId} stopped on host {Host} in {Elapsed} ms{How}",
                record.RuntimeId, Name, clock.ElapsedMilliseconds, killed ? " (killed after the grace period)" : "");
        }
        catch (Exception e)
        {
            lock (_gate)
            {
                entry.State = RuntimeState.Running;
                entry.StopRequested = false;
            }
            if (e is not OperationCanceledException)
                _logger.LogError(e, "Stopping runtime {RuntimeId} on host {Host} failed; it stays listed", record.RuntimeId, Name);
            entry.Stopped!.TrySetException(e);
        }
    }

    /// <summary>Polls until no running process is left in the runtime's process group (zombies do not count).</summary>
    private async Task<bool> WaitUntilGroupGoneAsync(RuntimeRecord record, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (ProcFs.LiveGroupMembers(record.Pid).Count == 0) return true;
            if (clock.Elapsed >= timeout) return false;
            var left = timeout - clock.Elapsed;
            await Task.Delay(left < StopPollInterval ? left : StopPollInterval, _lifetime.Token).ConfigureAwait(false);
        }
    }

    public async Task<IReadOnlyList<RuntimeInstance>> ListAsync(CancellationToken ct)
    {
        await EnsureInitializedAsync(ct).ConfigureAwait(false);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _runtimes.Values.Where(e => e.State == RuntimeState.Running).Select(e => e.Instance!)
                .OrderBy(i => i.RuntimeId).ToList();
        }
    }

    public async IAsyncEnumerable<RuntimeExit> Exits([EnumeratorCancellation] CancellationToken ct)
    {
        await EnsureInitializedAsync(ct).ConfigureAwait(false);
        while (true)
        {
            RuntimeExit? next;
            lock (_gate) _exits.TryDequeue(out next);
            if (next is not null)
            {
                yield return next;
                continue;
            }
            if (!await _exitBell.Reader.WaitToReadAsync(ct).ConfigureAwait(false)) yield break; // disposed
            _exitBell.Reader.TryRead(out _);
        }
    }

    /// <summary>Waits for a child of ours; its exit code is known. Adopted runtimes are watched by <see cref="MonitorAsync"/>.</summary>
    private async Task WatchChildAsync(Tracked entry, Process child)
    {
        try
        {
            await child.WaitForExitAsync(_lifetime.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return; // the host is disposed; the runtime keeps running and a new host adopts it
        }
        int? code = null;
        try { code = child.ExitCode; } catch (InvalidOperationException) { }
        OnEnded(entry, code, code is { } c ? $"exited with code {c}" : "exited");
    }

    /// <summary>A runtime ended on its own: report it once, kill what it left behind, clean its files.</summary>
    private void OnEnded(Tracked entry, int? exitCode, string reason)
    {
        lock (_gate)
        {
            if (entry.StopRequested || entry.State != RuntimeState.Running) return; // a stop reports nothing
            entry.State = RuntimeState.Ending;
        }
        var record = entry.Record!;
        try
        {
            KillLeftovers(record);
        }
        catch (Exception e)
        {
            _logger.LogWarning(e, "Could not kill what runtime {RuntimeId} left running", record.RuntimeId);
        }
        Forget(entry);
        Report(new RuntimeExit(record.RuntimeId, exitCode, _time.GetUtcNow(), reason));
        _logger.LogInformation("Runtime {RuntimeId} on host {Host} ended on its own: {Reason}", record.RuntimeId, Name, reason);
    }

    /// <summary>
    /// When a container's PID 1 ends, the kernel kills the rest of it; a process group gets the same here. Only when
    /// the group id is still ours: if the leader's pid is alive with another start time, the old group is empty
    /// (Linux never hands out a pid that is still some group's id) and the group with that id is someone else's.
    /// </summary>
    private void KillLeftovers(RuntimeRecord record)
    {
        if (ProcFs.Probe(record.Pid, record.ProcessStartTicks, record.BootId) == LeaderState.Reused) return;
        if (ProcFs.LiveGroupMembers(record.Pid).Count > 0 && ProcFs.SignalGroup(record.Pid, ProcFs.SigKill))
            _logger.LogInformation("Killed the processes runtime {RuntimeId} left behind", record.RuntimeId);
    }

    private void Report(RuntimeExit exit)
    {
        RuntimeExit? dropped = null;
        lock (_gate)
        {
            if (_exits.Count >= _options.MaxPendingExits) dropped = _exits.Dequeue();
            _exits.Enqueue(exit);
        }
        if (dropped is not null)
            _logger.LogWarning("Host {Host}: nobody reads exits fast enough ({Max} pending); dropped the exit of runtime {RuntimeId}",
                Name, _options.MaxPendingExits, dropped.RuntimeId);
        _exitBell.Writer.TryWrite(true);
    }

    /// <summary>Removes a runtime that no longer runs: its record, its slot, and old directories past the retention.</summary>
    private void Forget(Tracked entry)
    {
        try
        {
            RuntimeFiles.DeleteRecord(RuntimeDirectory(entry.RuntimeId));
        }
        catch (IOException e)
        {
            _logger.LogWarning(e, "Could not delete runtime.json of runtime {RuntimeId}", entry.RuntimeId);
        }
        Process? child;
        lock (_gate)
        {
            if (_runtimes.TryGetValue(entry.RuntimeId, out var current) && current == entry) _runtimes.Remove(entry.RuntimeId);
            child = entry.Child;
            entry.Child = null;
        }
        child?.Dispose();
        entry.Gone.TrySetResult();
        PruneEndedDirectories();
    }

    /// <summary>Keeps the directories (logs) of the <see cref="ProcessHostOptions.RetainEndedRuntimes"/> latest ended runtimes.</summary>
    private void PruneEndedDirectories()
    {
        try
        {
            // Under _directories so that a start never has its fresh directory pruned under it.
            lock (_directories)
            {
                HashSet<string> tracked;
                lock (_gate) tracked = _runtimes.Keys.Select(id => id.ToString(CultureInfo.InvariantCulture)).ToHashSet();
                var ended = new DirectoryInfo(_runtimesDirectory).EnumerateDirectories()
                    .Where(d => long.TryParse(d.Name, NumberStyles.None, CultureInfo.InvariantCulture, out _) && !tracked.Contains(d.Name))
                    .Where(d => !File.Exists(Path.Combine(d.FullName, RuntimeFiles.RecordFileName)))
                    .OrderByDescending(d => d.LastWriteTimeUtc)
                    .Skip(_options.RetainEndedRuntimes)
                    .ToList();
                foreach (var directory in ended) directory.Delete(recursive: true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _logger.LogDebug(e, "Pruning ended runtime directories failed; trying again later");
        }
    }

    /// <summary>
    /// Polls every <see cref="ProcessHostOptions.PollInterval"/>: adopted runtimes (not our children, so no exit
    /// notification) for their end, and every runtime's log size.
    /// </summary>
    private async Task MonitorAsync()
    {
        using var timer = new PeriodicTimer(_options.PollInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(_lifetime.Token).ConfigureAwait(false))
            {
                Tracked[] running;
                lock (_gate) running = _runtimes.Values.Where(e => e.State == RuntimeState.Running).ToArray();
                foreach (var entry in running)
                {
                    try
                    {
                        var record = entry.Record!;
                        if (entry.Child is null && ProcFs.Probe(record.Pid, record.ProcessStartTicks, record.BootId) != LeaderState.Alive)
                        {
                            OnEnded(entry, null, "ended (adopted after a backend restart, so its exit code is unknown)");
                            continue;
                        }
                        if (RuntimeFiles.BoundLog(RuntimeDirectory(entry.RuntimeId), _options.MaxLogBytes))
                            _logger.LogDebug("Rotated the output of runtime {RuntimeId}", entry.RuntimeId);
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        _logger.LogWarning(e, "Checking runtime {RuntimeId} failed; trying again next poll", entry.RuntimeId);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
            // disposed
        }
    }

    private async Task EnsureInitializedAsync(CancellationToken ct)
    {
        if (_initialized) return;
        await _initialization.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_initialized) return;
            lock (_gate) ObjectDisposedException.ThrowIf(_disposed, this);
            if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("the process runtime host needs Linux (/proc, process groups)");
            _setsid = ResolveProgram(_options.SetsidPath)
                      ?? throw new InvalidOperationException($"'{_options.SetsidPath}' (util-linux) was not found; the process host needs it to give each runtime its own process group");
            if (!File.Exists(_options.ShellPath)) throw new InvalidOperationException($"shell '{_options.ShellPath}' was not found");
            Directory.CreateDirectory(_runtimesDirectory);
            _stateLock = LockStateDirectory();
            Adopt();
            _monitor = Task.Run(MonitorAsync);
            _initialized = true;
        }
        finally
        {
            _initialization.Release();
        }
    }

    /// <summary>One live host per state directory: an exclusive flock on host.lock (released when the process dies).</summary>
    private FileStream LockStateDirectory()
    {
        var path = Path.Combine(Path.GetDirectoryName(_runtimesDirectory)!, "host.lock");
        try
        {
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            throw new InvalidOperationException($"state directory {Path.GetDirectoryName(path)} is in use by another runtime host", e);
        }
    }

    /// <summary>
    /// Takes over what a previous host left: a runtime whose recorded process still runs (same pid, start time and
    /// boot) is adopted; any other record is cleaned and its runtime reported as ended (exit code unknown).
    /// </summary>
    private void Adopt()
    {
        var adopted = 0;
        foreach (var directory in Directory.EnumerateDirectories(_runtimesDirectory))
        {
            if (!long.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var runtimeId)) continue;
            if (!File.Exists(Path.Combine(directory, RuntimeFiles.RecordFileName)))
            {
                File.Delete(Path.Combine(directory, RuntimeFiles.RecordFileName + ".tmp"));
                continue; // an ended runtime's retained logs
            }
            var record = RuntimeFiles.ReadRecord(directory, out var problem);
            if (record is not null && record.RuntimeId != runtimeId)
            {
                problem = $"runtime.json names runtime {record.RuntimeId}";
                record = null;
            }
            if (record is null)
            {
                _logger.LogWarning("Runtime {RuntimeId}: {Problem}; treating it as ended", runtimeId, problem);
                RuntimeFiles.DeleteRecord(directory);
                Report(new RuntimeExit(runtimeId, null, _time.GetUtcNow(), problem!));
                continue;
            }
            var state = ProcFs.Probe(record.Pid, record.ProcessStartTicks, record.BootId);
            if (state == LeaderState.Alive)
            {
                var entry = new Tracked(runtimeId)
                {
                    State = RuntimeState.Running,
                    Record = record with { HostName = Name },
                    Instance = (record with { HostName = Name }).ToInstance(),
                };
                entry.Started.TrySetResult(entry.Instance);
                lock (_gate) _runtimes[runtimeId] = entry;
                adopted++;
                _logger.LogInformation("Adopted runtime {RuntimeId} (pid {Pid}) left running by a previous host", runtimeId, record.Pid);
                continue;
            }
            var reason = state == LeaderState.Reused
                ? $"ended while no host was watching (pid {record.Pid} now belongs to another process)"
                : "ended while no host was watching";
            try { KillLeftovers(record); }
            catch (Exception e) { _logger.LogWarning(e, "Could not kill what runtime {RuntimeId} left running", runtimeId); }
            RuntimeFiles.DeleteRecord(directory);
            Report(new RuntimeExit(runtimeId, null, _time.GetUtcNow(), reason));
            _logger.LogInformation("Runtime {RuntimeId}: {Reason}", runtimeId, reason);
        }
        if (adopted > _options.MaxRuntimes)
            _logger.LogWarning("Host {Host} adopted {Count} runtimes, more than its capacity {Max}; new starts fail until some end", Name, adopted, _options.MaxRuntimes);
        PruneEndedDirectories();
    }

    private static string? ResolveProgram(string program)
    {
        if (program.Contains('/')) return File.Exists(program) ? Path.GetFullPath(program) : null;
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/bin:/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, program);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    /// <summary>
    /// Stops watching. Runtimes keep running and their runtime.json stays, as containers outlive a backend restart;
    /// a new host on the same state directory adopts them. Stop them first for a clean shutdown.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        Process[] children;
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            children = _runtimes.Values.Select(e => e.Child).OfType<Process>().ToArray();
        }
        await _lifetime.CancelAsync().ConfigureAwait(false);
        _exitBell.Writer.TryComplete();
        try { await _monitor.ConfigureAwait(false); } catch (OperationCanceledException) { }
        foreach (var child in children) child.Dispose();
        _stateLock?.Dispose();
        // _lifetime is not disposed: a stop still unwinding reads its token.
    }

    private enum RuntimeState { Starting, Running, Stopping, Ending }

    /// <summary>One runtime id's slot. Fields change under <see cref="_gate"/>.</summary>
    private sealed class Tracked(long runtimeId)
    {
        public long RuntimeId { get; } = runtimeId;
        public RuntimeState State { get; set; } = RuntimeState.Starting;
        public RuntimeRecord? Record { get; set; }
        public RuntimeInstance? Instance { get; set; }
        /// <summary>Our child process; <c>null</c> when adopted.</summary>
        public Process? Child { get; set; }
        public bool StopRequested { get; set; }
        public TaskCompletionSource<RuntimeInstance> Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        /// <summary>The current stop attempt.</summary>
        public TaskCompletionSource? Stopped { get; set; }
        /// <summary>Completes when the slot is released (stopped, ended, or failed to start).</summary>
        public TaskCompletionSource Gone { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
