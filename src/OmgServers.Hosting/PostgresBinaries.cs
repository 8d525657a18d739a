using Microsoft.Extensions.Logging;

namespace OmgServers.Hosting;

/// <summary>
/// Where the PostgreSQL server tools (initdb, pg_ctl, postgres) live, and how to run them.
/// When the process is root, every tool runs as the <c>postgres</c> OS user through
/// <c>runuser -u postgres --</c>, because initdb and postgres refuse to run as root.
/// </summary>
public sealed class PostgresBinaries
{
    /// <summary>Set this environment variable to a bin directory to skip the search.</summary>
    public const string BinDirectoryVariable = "OMGSERVERS_POSTGRES_BINDIR";

    /// <summary>The OS user the server runs as when this process is root.</summary>
    public const string ServiceUser = "postgres";

    private static readonly TimeSpan ToolTimeout = TimeSpan.FromSeconds(30);
    private static readonly SemaphoreSlim InstallGate = new(1, 1);

    private PostgresBinaries(string binDirectory, bool runAsServiceUser)
    {
        BinDirectory = binDirectory;
        RunAsServiceUser = runAsServiceUser;
    }

    public string BinDirectory { get; }

    /// <summary>True when this process is root and the tools run as <see cref="ServiceUser"/>.</summary>
    public bool RunAsServiceUser { get; }

    public string InitDb => Path.Combine(BinDirectory, "initdb");

    public string PgCtl => Path.Combine(BinDirectory, "pg_ctl");

    /// <summary>
    /// Finds the binaries: <see cref="BinDirectoryVariable"/>, /usr/lib/postgresql/15/bin, <c>pg_config --bindir</c>,
    /// initdb on PATH, then the newest /usr/lib/postgresql/*/bin. When none is found and the process is root,
    /// installs the distribution package with apt-get (logging every step); otherwise throws.
    /// </summary>
    public static async Task<PostgresBinaries> LocateAsync(ILogger logger, CancellationToken ct = default)
    {
        var runAsServiceUser = Environment.IsPrivilegedProcess;
        var found = await FindBinDirectoryAsync(ct).ConfigureAwait(false);
        if (found is null)
        {
            if (!runAsServiceUser || ProcessRunner.FindOnPath("apt-get") is null)
            {
                throw new InvalidOperationException(
                    "PostgreSQL server binaries (initdb, pg_ctl) were not found in /usr/lib/postgresql/15/bin, " +
                    $"via 'pg_config --bindir' or on PATH. Install PostgreSQL 15 (Debian: 'apt-get install -y postgresql') " +
                    $"or set {BinDirectoryVariable} to its bin directory.");
            }

            await InstallGate.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                found = await FindBinDirectoryAsync(ct).ConfigureAwait(false)
                        ?? await InstallWithAptAsync(logger, ct).ConfigureAwait(false);
            }
            finally
            {
                InstallGate.Release();
            }
        }

        if (runAsServiceUser && ProcessRunner.FindOnPath("runuser") is null)
        {
            throw new InvalidOperationException(
                "This process runs as root, so PostgreSQL must run as the 'postgres' user, but 'runuser' (util-linux) is not on PATH.");
        }

        return new PostgresBinaries(found, runAsServiceUser);
    }

    /// <summary>Runs a tool from <see cref="BinDirectory"/> (or any command) as the server's OS user.</summary>
    internal Task<ProcessResult> RunAsync(string executable, IEnumerable<string> arguments, CancellationToken ct, TimeSpan? timeout = null)
    {
        if (!RunAsServiceUser)
        {
            return ProcessRunner.RunAsync(executable, arguments, timeout ?? ToolTimeout, ct);
        }

        var wrapped = new List<string> { "-u", ServiceUser, "--", executable };
        wrapped.AddRange(arguments);
        return ProcessRunner.RunAsync("runuser", wrapped, timeout ?? ToolTimeout, ct);
    }

    private static async Task<string?> FindBinDirectoryAsync(CancellationToken ct)
    {
        var configured = Environment.GetEnvironmentVariable(BinDirectoryVariable);
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return IsBinDirectory(configured)
                ? configured
                : throw new InvalidOperationException($"{BinDirectoryVariable}={configured} does not contain initdb and pg_ctl.");
        }

        const string debian15 = "/usr/lib/postgresql/15/bin";
        if (IsBinDirectory(debian15))
        {
            return debian15;
        }

        if (ProcessRunner.FindOnPath("pg_config") is { } pgConfig)
        {
            var result = await ProcessRunner.RunAsync(pgConfig, ["--bindir"], ToolTimeout, ct).ConfigureAwait(false);
            var bindir = result.StandardOutput.Trim();
            if (result.Succeeded && IsBinDirectory(bindir))
            {
                return bindir;
            }
        }

        if (ProcessRunner.FindOnPath("initdb") is { } initdb)
        {
            var resolved = new FileInfo(initdb).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? initdb;
            var directory = Path.GetDirectoryName(resolved);
            if (directory is not null && IsBinDirectory(directory))
            {
                return directory;
            }
        }

        if (Directory.Exists("/usr/lib/postgresql"))
        {
            return Directory.GetDirectories("/usr/lib/postgresql")
                .Select(d => (Dir: Path.Combine(d, "bin"), Major: int.TryParse(Path.GetFileName(d), out var m) ? m : -1))
                .Where(c => IsBinDirectory(c.Dir))
                .OrderByDescending(c => c.Major)
                .Select(c => c.Dir)
                .FirstOrDefault();
        }

        return null;
    }

    private static bool IsBinDirectory(string directory) =>
        File.Exists(Path.Combine(directory, "initdb")) && File.Exists(Path.Combine(directory, "pg_ctl"));

    private static async Task<string> InstallWithAptAsync(ILogger logger, CancellationToken ct)
    {
        var environment = new Dictionary<string, string> { ["DEBIAN_FRONTEND"] = "noninteractive" };
        var installTimeout = TimeSpan.FromMinutes(10);

        logger.LogWarning("PostgreSQL binaries not found; running 'apt-get update' (as root)");
        var update = await ProcessRunner.RunAsync("apt-get", ["update"], installTimeout, ct, environment).ConfigureAwait(false);
        if (!update.Succeeded)
        {
            throw new InvalidOperationException($"'apt-get update' failed (exit {update.ExitCode}):\n{update.Output}");
        }

        logger.LogWarning("Running 'apt-get install -y postgresql'");
        var install = await ProcessRunner.RunAsync("apt-get", ["install", "-y", "postgresql"], installTimeout, ct, environment)
            .ConfigureAwait(false);
        if (!install.Succeeded)
        {
            throw new InvalidOperationException($"'apt-get install -y postgresql' failed (exit {install.ExitCode}):\n{install.Output}");
        }

        var found = await FindBinDirectoryAsync(ct).ConfigureAwait(false)
                    ?? throw new InvalidOperationException("'apt-get install -y postgresql' succeeded, but initdb/pg_ctl are still not found.");
        logger.LogWarning("Installed PostgreSQL; using binaries in {BinDirectory}", found);
        return found;
    }
}
