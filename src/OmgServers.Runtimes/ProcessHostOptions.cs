namespace OmgServers.Runtimes;

/// <summary>Settings of one <see cref="ProcessRuntimeHost"/>. Every setting has a default; only
/// <see cref="StateDirectory"/> and at least one image must be given.</summary>
public sealed class ProcessHostOptions
{
    /// <summary>The host's name (<see cref="IRuntimeHost.Name"/>, <see cref="RuntimeInstance.HostName"/>). Default <c>process</c>.</summary>
    public string Name { get; set; } = "process";

    /// <summary>
    /// Where the host keeps <c>runtimes/&lt;runtime-id&gt;/runtime.json</c>, <c>output.log</c> and the runtime's working
    /// directory <c>work/</c>, plus <c>host.lock</c>. One live host per directory: a second one fails to start.
    /// Keep it across backend restarts so that running runtimes are adopted. Required.
    /// </summary>
    public string StateDirectory { get; set; } = "";

    /// <summary>
    /// The images this host runs, by name: image id <c>process:&lt;name&gt;</c> runs <see cref="ProcessImage.Command"/>.
    /// </summary>
    public Dictionary<string, ProcessImage> Images { get; set; } = new(StringComparer.Ordinal);

    /// <summary>At most this many runtimes at once (started or adopted); one more start throws
    /// <see cref="RuntimeHostFullException"/>. Default 16.</summary>
    public int MaxRuntimes { get; set; } = 16;

    /// <summary>Time between SIGTERM and SIGKILL when stopping. Default 10 s (Docker's stop default).</summary>
    public TimeSpan StopGracePeriod { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long to wait for a process group to vanish after SIGKILL before the stop fails. Default 5 s.</summary>
    public TimeSpan KillTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Disk budget of one runtime's output, in bytes: <c>output.log</c> and one rotated <c>output.log.1</c> each hold
    /// at most half. The runtime writes its file directly (so it survives a backend restart); the host checks the size
    /// every <see cref="PollInterval"/>, so between two checks the file can grow by what the runtime writes in that
    /// time. Default 16 MiB; at least 4 KiB.
    /// </summary>
    public long MaxLogBytes { get; set; } = 16L * 1024 * 1024;

    /// <summary>How often the host checks adopted runtimes for their end and every runtime's log size. Default 1 s.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How many ended runtimes keep their directory (logs) for inspection; older ones are deleted. Default 32.</summary>
    public int RetainEndedRuntimes { get; set; } = 32;

    /// <summary>
    /// Exits not yet taken from <see cref="IRuntimeHost.Exits"/>. Past this the oldest is dropped with a warning,
    /// so a host nobody reads from stays bounded. Default 1024.
    /// </summary>
    public int MaxPendingExits { get; set; } = 1024;

    /// <summary>How the launch's memory limit is applied to a local process. Default
    /// <see cref="ProcessMemoryLimit.NotEnforced"/>; see that type for why.</summary>
    public ProcessMemoryLimit MemoryLimit { get; set; } = ProcessMemoryLimit.NotEnforced;

    /// <summary>
    /// Variables passed through from the backend's own environment. Nothing else is inherited, so the backend's
    /// secrets (database, signing keys) never reach a runtime, as with a container. Default PATH, HOME, LANG, LC_ALL,
    /// TZ, TMPDIR.
    /// </summary>
    public List<string> InheritedEnvironment { get; set; } = ["PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR"];

    /// <summary>The util-linux <c>setsid</c> program (a path, or a name looked up on PATH). Default <c>setsid</c>.</summary>
    public string SetsidPath { get; set; } = "setsid";

    /// <summary>The POSIX shell that applies the redirection and limits before exec'ing the image. Default <c>/bin/sh</c>.</summary>
    public string ShellPath { get; set; } = "/bin/sh";

    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(Name)) throw new ArgumentException("ProcessHostOptions.Name is required");
        if (string.IsNullOrWhiteSpace(StateDirectory)) throw new ArgumentException("ProcessHostOptions.StateDirectory is required");
        if (MaxRuntimes < 1) throw new ArgumentException("ProcessHostOptions.MaxRuntimes must be at least 1");
        if (StopGracePeriod < TimeSpan.Zero) throw new ArgumentException("ProcessHostOptions.StopGracePeriod must not be negative");
        if (KillTimeout <= TimeSpan.Zero) throw new ArgumentException("ProcessHostOptions.KillTimeout must be positive");
        if (MaxLogBytes < 4096) throw new ArgumentException("ProcessHostOptions.MaxLogBytes must be at least 4096");
        if (PollInterval <= TimeSpan.Zero) throw new ArgumentException("ProcessHostOptions.PollInterval must be positive");
        if (RetainEndedRuntimes < 0) throw new ArgumentException("ProcessHostOptions.RetainEndedRuntimes must not be negative");
        if (MaxPendingExits < 1) throw new ArgumentException("ProcessHostOptions.MaxPendingExits must be at least 1");
        foreach (var (name, image) in Images)
        {
            if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException("an image name is empty");
            if (string.IsNullOrWhiteSpace(image.Command)) throw new ArgumentException($"image '{name}' has no Command");
        }
    }
}

/// <summary>A program the process host runs for image id <c>process:&lt;name&gt;</c>.</summary>
public sealed class ProcessImage
{
    /// <summary>The program: a path, or a name looked up on the runtime's PATH.</summary>
    public string Command { get; set; } = "";

    /// <summary>Its arguments, passed as they are (no shell parsing).</summary>
    public List<string> Arguments { get; set; } = [];

    /// <summary>Where it runs; default the runtime's own <c>runtimes/&lt;id&gt;/work</c> directory.</summary>
    public string? WorkingDirectory { get; set; }

    /// <summary>Extra variables. The contract's <c>OMGSERVERS_*</c> variables always win over these.</summary>
    public Dictionary<string, string> Environment { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>
/// How the process host applies <see cref="RuntimeLaunch.MemoryLimitMegabytes"/>. A local process has no container,
/// and without privileges Linux offers no cap on resident memory (that needs a cgroup; RLIMIT_RSS is ignored by
/// the kernel). The Docker host enforces the real limits.
/// </summary>
public enum ProcessMemoryLimit
{
    /// <summary>Not enforced; the host logs one warning. The default, because the only unprivileged alternative
    /// (<see cref="AddressSpace"/>) breaks runtimes that reserve large address ranges.</summary>
    NotEnforced = 0,

    /// <summary>
    /// RLIMIT_AS (<c>ulimit -v</c>) set to the limit: allocations past it fail. This caps virtual, not resident,
    /// memory, so it is stricter than Docker's limit: fine for native or script runtimes (C, Lua, shell), but the
    /// JVM, .NET, V8 and Go reserve more address space than they use and may not start under it.
    /// </summary>
    AddressSpace = 1,
}
