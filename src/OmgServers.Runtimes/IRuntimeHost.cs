using System.Text;

namespace OmgServers.Runtimes;

/// <summary>
/// What a host needs to start one runtime (contract 7.1): the version image, the runtime user's password, the URL
/// the runtime calls back, the pool request's limits, and the labels upstream puts on the container.
/// </summary>
/// <param name="RuntimeId">The runtime's id; also the host's key for idempotency.</param>
/// <param name="Qualifier"><c>LOBBY</c> or <c>MATCH</c> (<see cref="RuntimeQualifiers"/>).</param>
/// <param name="ImageId">Which image to run; a host says whether it can with <see cref="IRuntimeHost.CanRun"/>.</param>
/// <param name="Password">The runtime user's password. Handed to the runtime only, never logged or stored.</param>
/// <param name="ServiceUrl">The server URL the runtime calls (<c>OMGSERVERS_SERVICE_URL</c>).</param>
/// <param name="CpuLimitMillicores">CPU limit, 1000 = one core; 0 = none. Upstream default 100.</param>
/// <param name="MemoryLimitMegabytes">Memory limit in MiB; 0 = none. Upstream default 512.</param>
/// <param name="Labels">Metadata (tenant, project, stage, version, qualifier); never secrets.</param>
public sealed record RuntimeLaunch(
    long RuntimeId,
    string Qualifier,
    string ImageId,
    string Password,
    string ServiceUrl,
    int CpuLimitMillicores,
    int MemoryLimitMegabytes,
    IReadOnlyDictionary<string, string> Labels)
{
    // The compiler-generated ToString would print the password; anything that logs a launch gets this instead.
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("RuntimeId = ").Append(RuntimeId)
            .Append(", Qualifier = ").Append(Qualifier)
            .Append(", ImageId = ").Append(ImageId)
            .Append(", Password = ***")
            .Append(", ServiceUrl = ").Append(ServiceUrl)
            .Append(", CpuLimitMillicores = ").Append(CpuLimitMillicores)
            .Append(", MemoryLimitMegabytes = ").Append(MemoryLimitMegabytes)
            .Append(", Labels = [").AppendJoin(", ", Labels.Select(l => $"{l.Key}={l.Value}")).Append(']');
        return true;
    }
}

/// <summary>A runtime that runs now.</summary>
/// <param name="HostName">The <see cref="IRuntimeHost.Name"/> of the host it runs on.</param>
/// <param name="ProcessId">The OS process id where the host knows one (the process host always does).</param>
public sealed record RuntimeInstance(long RuntimeId, string HostName, string ImageId, int? ProcessId, DateTimeOffset StartedAt);

/// <summary>A runtime that ended on its own (exit or crash). Never produced for <see cref="IRuntimeHost.StopAsync"/>.</summary>
/// <param name="ExitCode">The exit code when the host saw it; <c>null</c> when it could not (e.g. the runtime ended
/// while no host was watching, or was adopted after a backend restart and so is not the host's child).
/// A runtime killed by a signal reports 128 + the signal number, as a shell does.</param>
/// <param name="At">When the host noticed the end.</param>
/// <param name="Reason">Human-readable, for logs.</param>
public sealed record RuntimeExit(long RuntimeId, int? ExitCode, DateTimeOffset At, string Reason);

/// <summary>
/// Somewhere runtimes run: local processes (<see cref="ProcessRuntimeHost"/>) or, later, a Docker daemon.
/// A host restarts nothing by itself; the runtime's owner applies the inactivity rules (contract 5.7).
/// Disposing a host stops watching but leaves its runtimes running, as a backend restart leaves containers;
/// a new host on the same state adopts them.
/// </summary>
public interface IRuntimeHost : IAsyncDisposable
{
    /// <summary>The host's name, e.g. <c>process</c>; unique within a <see cref="RuntimeSupervisor"/>.</summary>
    string Name { get; }

    /// <summary>Whether this host can run the image at all (capacity aside).</summary>
    bool CanRun(string imageId);

    /// <summary>
    /// Starts the runtime, or returns it as it is when it already runs (idempotent per runtime id).
    /// Throws <see cref="RuntimeHostFullException"/> at capacity and <see cref="RuntimeImageNotSupportedException"/>
    /// for an image the host cannot run.
    /// </summary>
    Task<RuntimeInstance> StartAsync(RuntimeLaunch launch, CancellationToken ct);

    /// <summary>
    /// Stops the runtime gracefully (SIGTERM, then SIGKILL after the host's grace period) and waits until it is gone.
    /// Idempotent; <c>false</c> when nothing ran under that id. Cancelling the wait does not cancel the stop.
    /// </summary>
    Task<bool> StopAsync(long runtimeId, CancellationToken ct);

    /// <summary>What runs now, including runtimes a previous backend process left running.</summary>
    Task<IReadOnlyList<RuntimeInstance>> ListAsync(CancellationToken ct);

    /// <summary>
    /// Runtimes that ended on their own, each exactly once (one consumer takes each exit). Ends when the host is disposed.
    /// </summary>
    IAsyncEnumerable<RuntimeExit> Exits(CancellationToken ct);
}

/// <summary>The two runtime qualifiers (contract 6.1).</summary>
public static class RuntimeQualifiers
{
    public const string Lobby = "LOBBY";
    public const string Match = "MATCH";

    public static bool IsValid(string? qualifier) => qualifier is Lobby or Match;
}

/// <summary>The environment a runtime gets (contract 7.1); shared by every host so that the names live in one place.</summary>
public static class RuntimeEnvironment
{
    public const string RuntimeId = "OMGSERVERS_RUNTIME_ID";
    public const string Password = "OMGSERVERS_PASSWORD";
    /// <summary>The January 2025 name.</summary>
    public const string RuntimeQualifier = "OMGSERVERS_RUNTIME_QUALIFIER";
    /// <summary>The name upstream uses since March 2025; set too so that newer SDKs find it.</summary>
    public const string Qualifier = "OMGSERVERS_QUALIFIER";
    public const string ServiceUrl = "OMGSERVERS_SERVICE_URL";

    /// <summary>The contract's variables for one launch. Contains the password: hand it to the runtime only.</summary>
    public static IReadOnlyDictionary<string, string> For(RuntimeLaunch launch) => new Dictionary<string, string>
    {
        [RuntimeId] = launch.RuntimeId.ToString(System.Globalization.CultureInfo.InvariantCulture),
        [Password] = launch.Password,
        [RuntimeQualifier] = launch.Qualifier,
        [Qualifier] = launch.Qualifier,
        [ServiceUrl] = launch.ServiceUrl,
    };
}

/// <summary>A host (or every host of a supervisor that can run the image) is at capacity. The caller may retry later.</summary>
public sealed class RuntimeHostFullException : InvalidOperationException
{
    public RuntimeHostFullException(string hostName, int? capacity, string message) : base(message)
    {
        HostName = hostName;
        Capacity = capacity;
    }

    public RuntimeHostFullException(string hostName, int capacity)
        : this(hostName, capacity, $"runtime host '{hostName}' is full: it runs at most {capacity} runtimes") { }

    /// <summary>The host, or a comma-separated list of hosts when a supervisor found them all full.</summary>
    public string HostName { get; }

    /// <summary>The host's capacity, where one host is meant.</summary>
    public int? Capacity { get; }
}

/// <summary>No host (or not this host) can run the image.</summary>
public sealed class RuntimeImageNotSupportedException(string imageId, string message) : ArgumentException(message)
{
    public string ImageId { get; } = imageId;
}

/// <summary>A runtime did not end even after SIGKILL and the kill timeout (e.g. stuck in uninterruptible I/O).
/// It stays listed, so a later stop or reconcile tries again.</summary>
public sealed class RuntimeStopFailedException(long runtimeId, string message) : Exception(message)
{
    public long RuntimeId { get; } = runtimeId;
}
