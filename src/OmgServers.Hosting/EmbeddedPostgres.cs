using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace OmgServers.Hosting;

/// <summary>Where and how a private PostgreSQL cluster runs.</summary>
public sealed record EmbeddedPostgresOptions
{
    /// <summary>The cluster lives in <c>DataDirectory/data</c>, its log in <c>DataDirectory/server.log</c>.</summary>
    public required string DataDirectory { get; init; }

    /// <summary>TCP port on 127.0.0.1; 0 picks a free loopback port on every start.</summary>
    public int Port { get; init; }

    /// <summary>Database created on start if missing; <see cref="EmbeddedPostgres.ConnectionString"/> points at it.</summary>
    public string Database { get; init; } = "omgservers";

    /// <summary>
    /// True for tests and benchmarks: fsync, synchronous_commit and full_page_writes are off (a crash may lose or
    /// corrupt data) and the whole <see cref="DataDirectory"/> is deleted on dispose.
    /// </summary>
    public bool Throwaway { get; init; }

    /// <summary>How long initdb, the start and the first successful connection may take together.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Extra postgresql.conf settings (name → value, written quoted), applied after the defaults.</summary>
    public IReadOnlyDictionary<string, string> ServerSettings { get; init; } = new Dictionary<string, string>();
}

/// <summary>
/// A private PostgreSQL cluster started with initdb/pg_ctl: listens on 127.0.0.1 only, trusts local connections
/// as the <c>postgres</c> superuser, keeps its unix socket in the data directory. An initialized data directory is
/// reused, so the default (non-throwaway) cluster keeps its data between runs.
/// </summary>
/// <remarks>
/// When the process is root, the tools run as the <c>postgres</c> OS user and <see cref="EmbeddedPostgresOptions.DataDirectory"/>
/// is chowned to it. That user must be able to traverse every parent directory. If it cannot (a checkout under
/// /root, mode 700), a throwaway cluster is relocated to a fresh directory under the system temp directory (logged),
/// and a persistent cluster fails with a message naming the blocking directory: silently moving persistent data
/// elsewhere would lose track of it.
/// </remarks>
public sealed class EmbeddedPostgres : IAsyncDisposable
{
    private const string SettingsFileName = "omgservers.conf";
    private const string IncludeLine = "include_if_exists = '" + SettingsFileName + "'";
    private const int MaxUnixSocketPathLength = 107;

    private readonly EmbeddedPostgresOptions _options;
    private readonly PostgresBinaries _binaries;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private bool _running;
    private bool _disposed;
    private int? _postmasterPid;

    private EmbeddedPostgres(EmbeddedPostgresOptions options, PostgresBinaries binaries, string root, int port, ILogger logger)
    {
        _options = options;
        _binaries = binaries;
        _logger = logger;
        RootDirectory = root;
        Port = port;
        ConnectionString = BuildConnectionString(port, options.Database);
    }

    /// <summary><c>Host=127.0.0.1;Port=..;Username=postgres;Database=..</c></summary>
    public string ConnectionString { get; }

    public int Port { get; }

    /// <summary>The directory actually used (differs from the option only when a throwaway cluster was relocated).</summary>
    public string RootDirectory { get; }

    public string DataDirectory => Path.Combine(RootDirectory, "data");

    public string LogFile => Path.Combine(RootDirectory, "server.log");

    /// <summary>Connection string of the same server, to another database of it.</summary>
    public string ConnectionStringFor(string database) => BuildConnectionString(Port, database);

    public static async Task<EmbeddedPostgres> StartAsync(
        EmbeddedPostgresOptions options, ILogger? logger = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.DataDirectory))
        {
            throw new ArgumentException("EmbeddedPostgresOptions.DataDirectory must be set.", nameof(options));
        }

        if (options.Port is < 0 or > 65535)
        {
            throw new ArgumentException($"EmbeddedPostgresOptions.Port must be 0..65535, got {options.Port}.", nameof(options));
        }

        if (string.IsNullOrWhiteSpace(options.Database))
        {
            throw new ArgumentException("EmbeddedPostgresOptions.Database must be set.", nameof(options));
        }

        logger ??= NullLogger.Instance;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(options.StartTimeout);
        try
        {
            return await StartCoreAsync(options, logger, deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new TimeoutException(
                $"Embedded PostgreSQL in {options.DataDirectory} did not become ready within {options.StartTimeout.TotalSeconds:0.#} s.");
        }
    }

    private static async Task<EmbeddedPostgres> StartCoreAsync(EmbeddedPostgresOptions options, ILogger logger, CancellationToken ct)
    {
        var binaries = await PostgresBinaries.LocateAsync(logger, ct).ConfigureAwait(false);
        var root = await PrepareRootAsync(Path.GetFullPath(options.DataDirectory), options.Throwaway, binaries, logger, ct)
            .ConfigureAwait(false);
        var dataDirectory = Path.Combine(root, "data");

        if (File.Exists(Path.Combine(dataDirectory, "PG_VERSION")))
        {
            await CheckMajorVersionAsync(dataDirectory, binaries, ct).ConfigureAwait(false);
            logger.LogInformation("Reusing PostgreSQL cluster in {DataDirectory}", dataDirectory);
            await HandleLeftoverServerAsync(dataDirectory, binaries, logger, ct).ConfigureAwait(false);
        }
        else
        {
            await InitDbAsync(dataDirectory, options.Throwaway, binaries, logger, ct).ConfigureAwait(false);
        }

        const int maxAttempts = 5;
        for (var attempt = 1; ; attempt++)
        {
            var port = options.Port != 0 ? options.Port : FindFreeLoopbackPort();
            var server = new EmbeddedPostgres(options, binaries, root, port, logger);
            var failure = await server.TryStartServerAsync(ct).ConfigureAwait(false);
            if (failure is null)
            {
                await server.WaitUntilAcceptingAsync(ct).ConfigureAwait(false);
                await PostgresDatabases.EnsureExistsAsync(server.ConnectionStringFor("postgres"), options.Database, ct)
                    .ConfigureAwait(false);
                logger.LogInformation(
                    "PostgreSQL is ready on 127.0.0.1:{Port}, database {Database}, data in {DataDirectory}{Mode}",
                    port, options.Database, dataDirectory, options.Throwaway ? " (throwaway, fsync off)" : "");
                return server;
            }

            var portTaken = failure.Contains("could not bind", StringComparison.OrdinalIgnoreCase)
                            || failure.Contains("Address already in use", StringComparison.OrdinalIgnoreCase);
            var oldBackendsAlive = failure.Contains("pre-existing shared memory block", StringComparison.OrdinalIgnoreCase);
            var retryable = (portTaken && options.Port == 0) || oldBackendsAlive;
            if (!retryable || attempt >= maxAttempts)
            {
                throw new InvalidOperationException(
                    $"PostgreSQL did not start from {dataDirectory} on port {port}" +
                    (portTaken ? " (the port is in use)" : "") + $". Log ({server.LogFile}):\n{failure}");
            }

            logger.LogWarning("PostgreSQL start attempt {Attempt} failed ({Reason}); retrying",
                attempt, portTaken ? "port in use" : "backends of a killed server still exit");
            await Task.Delay(TimeSpan.FromMilliseconds(250 * attempt), ct).ConfigureAwait(false);
        }
    }

    /// <summary>Stops the server (<c>pg_ctl stop -m fast</c>). Calling it again does nothing.</summary>
    public async Task StopAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (!_running)
            {
                return;
            }

            using (var connection = new NpgsqlConnection(ConnectionString))
            {
                NpgsqlConnection.ClearPool(connection);
            }

            if (!Directory.Exists(DataDirectory))
            {
                // Someone deleted the data directory under the running server: pg_ctl cannot find it, so signal the
                // postmaster recorded at start directly (SIGINT = fast shutdown).
                await StopDetachedPostmasterAsync().ConfigureAwait(false);
            }
            else
            {
                var result = await _binaries.RunAsync(
                        _binaries.PgCtl, ["stop", "-D", DataDirectory, "-m", "fast", "-w", "-t", "60"],
                        CancellationToken.None, TimeSpan.FromSeconds(70))
                    .ConfigureAwait(false);
                if (!result.Succeeded && !result.Output.Contains("Is server running?", StringComparison.Ordinal))
                {
                    throw new InvalidOperationException($"pg_ctl stop failed (exit {result.ExitCode}): {result.Output}");
                }
            }

            _running = false;
            _logger.LogInformation("PostgreSQL on port {Port} stopped", Port);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task StopDetachedPostmasterAsync()
    {
        if (_postmasterPid is not { } pid || !Directory.Exists($"/proc/{pid}"))
        {
            return;
        }

        _logger.LogWarning("The data directory {DataDirectory} is gone; stopping PostgreSQL (PID {Pid}) with SIGINT", DataDirectory, pid);
        await ProcessRunner.RunAsync("kill", ["-INT", pid.ToString(CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(10), CancellationToken.None)
            .ConfigureAwait(false);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (Directory.Exists($"/proc/{pid}") && !IsZombie(pid) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50).ConfigureAwait(false);
        }
    }

    private static bool IsZombie(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].StartsWith('Z');
        }
        catch (IOException)
        {
            return true;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await StopAsync().ConfigureAwait(false);
        if (_options.Throwaway)
        {
            try
            {
                Directory.Delete(RootDirectory, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                _logger.LogWarning(e, "Could not delete throwaway PostgreSQL directory {Directory}", RootDirectory);
            }
        }
    }

    /// <summary>The connection string an embedded cluster on <paramref name="port"/> answers, known before it starts.</summary>
    public static string LoopbackConnectionString(int port, string database) => BuildConnectionString(port, database);

    private static string BuildConnectionString(int port, string database) =>
        new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = port,
            Username = "postgres",
            Database = database,
        }.ConnectionString;

    /// <summary>
    /// Creates the root directory and, as root, hands it to the postgres user, checking that the user can reach it.
    /// Returns the directory to use (a relocated one for an unreachable throwaway cluster).
    /// </summary>
    private static async Task<string> PrepareRootAsync(
        string root, bool throwaway, PostgresBinaries binaries, ILogger logger, CancellationToken ct)
    {
        Directory.CreateDirectory(root);
        if (!binaries.RunAsServiceUser)
        {
            return root;
        }

        await ChownToServiceUserAsync(root, ct).ConfigureAwait(false);
        if (await ServiceUserCanUseAsync(root, binaries, ct).ConfigureAwait(false))
        {
            return root;
        }

        var blocking = await FindBlockingAncestorAsync(root, binaries, ct).ConfigureAwait(false) ?? root;
        if (!throwaway)
        {
            throw new InvalidOperationException(
                $"PostgreSQL runs as the '{PostgresBinaries.ServiceUser}' user (this process is root), and that user cannot " +
                $"traverse '{blocking}', so it cannot use the data directory '{root}'. Either allow traversal " +
                $"(chmod o+x '{blocking}') or put the data directory elsewhere (OMGSERVERS_DATA_DIR, e.g. /var/lib/omgservers).");
        }

        TryDeleteEmptyDirectory(root);
        var relocated = Path.Combine(Path.GetTempPath(), "omgservers-pg-" + Guid.NewGuid().ToString("N")[..12]);
        logger.LogWarning(
            "The postgres user cannot traverse {Blocking}; the throwaway cluster for {Requested} is relocated to {Relocated}",
            blocking, root, relocated);
        Directory.CreateDirectory(relocated);
        await ChownToServiceUserAsync(relocated, ct).ConfigureAwait(false);
        if (!await ServiceUserCanUseAsync(relocated, binaries, ct).ConfigureAwait(false))
        {
            throw new InvalidOperationException(
                $"The '{PostgresBinaries.ServiceUser}' user cannot use '{relocated}' either; check the temp directory permissions.");
        }

        return relocated;
    }

    private static async Task ChownToServiceUserAsync(string path, CancellationToken ct)
    {
        var owner = $"{PostgresBinaries.ServiceUser}:{PostgresBinaries.ServiceUser}";
        var result = await ProcessRunner.RunAsync("chown", [owner, path], TimeSpan.FromSeconds(30), ct).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            throw new InvalidOperationException($"chown {owner} {path} failed: {result.Output}");
        }
    }

    private static async Task<bool> ServiceUserCanUseAsync(string directory, PostgresBinaries binaries, CancellationToken ct)
    {
        var result = await binaries.RunAsync("test", ["-x", directory, "-a", "-w", directory], ct).ConfigureAwait(false);
        return result.Succeeded;
    }

    private static async Task<string?> FindBlockingAncestorAsync(string directory, PostgresBinaries binaries, CancellationToken ct)
    {
        var chain = new List<string>();
        for (var current = new DirectoryInfo(directory); current is not null; current = current.Parent)
        {
            chain.Add(current.FullName);
        }

        chain.Reverse();
        foreach (var candidate in chain)
        {
            var result = await binaries.RunAsync("test", ["-x", candidate], ct).ConfigureAwait(false);
            if (!result.Succeeded)
            {
                return candidate;
            }
        }

        return null;
    }

    private static void TryDeleteEmptyDirectory(string directory)
    {
        try
        {
            if (!Directory.EnumerateFileSystemEntries(directory).Any())
            {
                Directory.Delete(directory);
            }
        }
        catch (IOException)
        {
            // Leaving an empty directory behind is harmless.
        }
    }

    private static async Task InitDbAsync(
        string dataDirectory, bool throwaway, PostgresBinaries binaries, ILogger logger, CancellationToken ct)
    {
        if (Directory.Exists(dataDirectory) && Directory.EnumerateFileSystemEntries(dataDirectory).Any())
        {
            throw new InvalidOperationException(
                $"'{dataDirectory}' is not empty but holds no PostgreSQL cluster (no PG_VERSION); move it away or delete it.");
        }

        logger.LogInformation("Creating PostgreSQL cluster in {DataDirectory} (initdb)", dataDirectory);
        var arguments = new List<string> { "-D", dataDirectory, "-U", "postgres", "-A", "trust", "-E", "UTF8" };
        if (throwaway)
        {
            arguments.Add("--no-sync");
        }

        var result = await binaries.RunAsync(binaries.InitDb, [.. arguments, "--locale=C.UTF-8"], ct, TimeSpan.FromSeconds(120))
            .ConfigureAwait(false);
        if (!result.Succeeded && result.Output.Contains("locale", StringComparison.OrdinalIgnoreCase))
        {
            // Systems without the C.UTF-8 locale: fall back to the always-present C locale.
            TryDeleteDirectory(dataDirectory);
            result = await binaries.RunAsync(binaries.InitDb, [.. arguments, "--no-locale"], ct, TimeSpan.FromSeconds(120))
                .ConfigureAwait(false);
        }

        if (!result.Succeeded)
        {
            throw new InvalidOperationException($"initdb failed (exit {result.ExitCode}):\n{result.Output}");
        }

        var postgresqlConf = Path.Combine(dataDirectory, "postgresql.conf");
        await File.AppendAllTextAsync(
                postgresqlConf,
                $"\n# Settings of OmgServers.Hosting.EmbeddedPostgres, rewritten on every start.\n{IncludeLine}\n",
                ct)
            .ConfigureAwait(false);
    }

    private static void TryDeleteDirectory(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (IOException)
        {
            // initdb reports the real problem on the retry.
        }
    }

    private static async Task CheckMajorVersionAsync(string dataDirectory, PostgresBinaries binaries, CancellationToken ct)
    {
        var clusterVersion = (await File.ReadAllTextAsync(Path.Combine(dataDirectory, "PG_VERSION"), ct).ConfigureAwait(false)).Trim();
        var result = await ProcessRunner.RunAsync(binaries.PgCtl, ["--version"], TimeSpan.FromSeconds(10), ct).ConfigureAwait(false);

        // "pg_ctl (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
        var words = result.StandardOutput.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var binaryMajor = words.Length >= 3 ? words[2].Split('.')[0] : "";
        if (result.Succeeded && binaryMajor.Length > 0 && binaryMajor != clusterVersion)
        {
            throw new InvalidOperationException(
                $"The cluster in '{dataDirectory}' was created by PostgreSQL {clusterVersion}, but the binaries in " +
                $"'{binaries.BinDirectory}' are version {binaryMajor}. Use matching binaries or move the data directory away.");
        }
    }

    /// <summary>
    /// A postmaster.pid left behind is handled here: if its process is still this cluster's postmaster (a server left
    /// running by a killed run) it is stopped cleanly, so the new start applies our settings; if the pid now belongs to
    /// an unrelated process it is removed (postgres would refuse to start on it); if the process is gone, postgres
    /// itself treats the file as stale.
    /// </summary>
    private static async Task HandleLeftoverServerAsync(
        string dataDirectory, PostgresBinaries binaries, ILogger logger, CancellationToken ct)
    {
        var pidFile = Path.Combine(dataDirectory, "postmaster.pid");
        if (!File.Exists(pidFile) || ReadPostmasterPid(dataDirectory) is not { } pid)
        {
            return;
        }

        var processDirectory = $"/proc/{pid}";
        if (!Directory.Exists(processDirectory))
        {
            logger.LogInformation("Stale postmaster.pid (PID {Pid} is gone) in {DataDirectory}; starting anyway", pid, dataDirectory);
            return;
        }

        if (IsPostmasterOf(pid, dataDirectory))
        {
            logger.LogWarning("A PostgreSQL server (PID {Pid}) left from an earlier run still uses {DataDirectory}; stopping it",
                pid, dataDirectory);
            var stop = await binaries.RunAsync(
                    binaries.PgCtl, ["stop", "-D", dataDirectory, "-m", "fast", "-w", "-t", "60"], ct, TimeSpan.FromSeconds(70))
                .ConfigureAwait(false);
            if (!stop.Succeeded)
            {
                throw new InvalidOperationException($"Could not stop the leftover server (PID {pid}): {stop.Output}");
            }

            return;
        }

        logger.LogWarning("postmaster.pid in {DataDirectory} names PID {Pid}, which is not its server; removing the stale file",
            dataDirectory, pid);
        File.Delete(pidFile);
    }

    private static int? ReadPostmasterPid(string dataDirectory)
    {
        try
        {
            var firstLine = File.ReadLines(Path.Combine(dataDirectory, "postmaster.pid")).FirstOrDefault();
            return int.TryParse(firstLine, NumberStyles.Integer, CultureInfo.InvariantCulture, out var pid) && pid > 0 ? pid : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static bool IsPostmasterOf(int pid, string dataDirectory)
    {
        try
        {
            var command = File.ReadAllText($"/proc/{pid}/comm").Trim();
            if (!command.StartsWith("postgres", StringComparison.Ordinal))
            {
                return false;
            }

            // The postmaster chdir()s into its data directory.
            var cwd = new DirectoryInfo($"/proc/{pid}/cwd").ResolveLinkTarget(returnFinalTarget: false)?.FullName;
            if (cwd is not null)
            {
                return PathsEqual(cwd, dataDirectory);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Fall through to the command line.
        }

        try
        {
            var commandLine = File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');
            return commandLine.Contains(dataDirectory, StringComparison.Ordinal);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static bool PathsEqual(string a, string b) =>
        string.Equals(Path.TrimEndingDirectorySeparator(Path.GetFullPath(a)),
            Path.TrimEndingDirectorySeparator(Path.GetFullPath(b)), StringComparison.Ordinal);

    /// <summary>A TCP port that is free on 127.0.0.1 right now.</summary>
    public static int FindFreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Writes this start's settings and runs <c>pg_ctl start -w</c>. Returns null or the failure text.</summary>
    private async Task<string?> TryStartServerAsync(CancellationToken ct)
    {
        await WriteSettingsFileAsync(ct).ConfigureAwait(false);
        var logOffset = File.Exists(LogFile) ? new FileInfo(LogFile).Length : 0;
        if (_binaries.RunAsServiceUser && File.Exists(LogFile))
        {
            await ChownToServiceUserAsync(LogFile, ct).ConfigureAwait(false);
        }

        _logger.LogInformation("Starting PostgreSQL on 127.0.0.1:{Port} (pg_ctl start, log {LogFile})", Port, LogFile);
        var waitSeconds = Math.Max(5, (int)_options.StartTimeout.TotalSeconds);
        var result = await _binaries.RunAsync(
                _binaries.PgCtl, ["start", "-D", DataDirectory, "-l", LogFile, "-w", "-t", waitSeconds.ToString(CultureInfo.InvariantCulture)],
                ct, TimeSpan.FromSeconds(waitSeconds + 10))
            .ConfigureAwait(false);
        if (result.Succeeded)
        {
            _running = true;
            _postmasterPid = ReadPostmasterPid(DataDirectory);
            return null;
        }

        return $"{result.Output}\n{ReadLogFrom(logOffset)}".Trim();
    }

    private string ReadLogFrom(long offset)
    {
        try
        {
            using var stream = new FileStream(LogFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            stream.Seek(Math.Min(offset, stream.Length), SeekOrigin.Begin);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            var text = reader.ReadToEnd();
            return text.Length > 4000 ? text[^4000..] : text;
        }
        catch (IOException)
        {
            return "";
        }
    }

    private async Task WriteSettingsFileAsync(CancellationToken ct)
    {
        var socketPath = Path.Combine(DataDirectory, $".s.PGSQL.{Port}");
        var socketDirectory = socketPath.Length <= MaxUnixSocketPathLength ? DataDirectory : "";
        if (socketDirectory.Length == 0)
        {
            _logger.LogInformation("Data directory path too long for a unix socket; PostgreSQL listens on TCP only");
        }

        var durable = _options.Throwaway ? "off" : "on";
        var settings = new List<(string Name, string Value)>
        {
            ("listen_addresses", "127.0.0.1"),
            ("port", Port.ToString(CultureInfo.InvariantCulture)),
            ("unix_socket_directories", socketDirectory),
            ("max_connections", "200"),
            ("fsync", durable),
            ("synchronous_commit", durable),
            ("full_page_writes", durable),
        };
        settings.AddRange(_options.ServerSettings.Select(kv => (kv.Key, kv.Value)));

        var text = new StringBuilder()
            .AppendLine("# Written by OmgServers.Hosting.EmbeddedPostgres on every start; edits here are overwritten.");
        foreach (var (name, value) in settings)
        {
            text.Append(name).Append(" = '").Append(value.Replace("'", "''", StringComparison.Ordinal)).AppendLine("'");
        }

        var path = Path.Combine(DataDirectory, SettingsFileName);
        await File.WriteAllTextAsync(path, text.ToString(), ct).ConfigureAwait(false);
        if (_binaries.RunAsServiceUser)
        {
            await ChownToServiceUserAsync(path, ct).ConfigureAwait(false);
        }

        var postgresqlConf = Path.Combine(DataDirectory, "postgresql.conf");
        var current = await File.ReadAllTextAsync(postgresqlConf, ct).ConfigureAwait(false);
        if (!current.Contains(IncludeLine, StringComparison.Ordinal))
        {
            await File.AppendAllTextAsync(postgresqlConf, $"\n{IncludeLine}\n", ct).ConfigureAwait(false);
        }
    }

    private async Task WaitUntilAcceptingAsync(CancellationToken ct)
    {
        var connectionString = new NpgsqlConnectionStringBuilder(ConnectionStringFor("postgres"))
        {
            Pooling = false,
            Timeout = 5,
        }.ConnectionString;
        while (true)
        {
            try
            {
                await using var connection = new NpgsqlConnection(connectionString);
                await connection.OpenAsync(ct).ConfigureAwait(false);
                return;
            }
            catch (Exception e) when ((e is NpgsqlException or SocketException) && !ct.IsCancellationRequested)
            {
                await Task.Delay(100, ct).ConfigureAwait(false);
            }
        }
    }
}
