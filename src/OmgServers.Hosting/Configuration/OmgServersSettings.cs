using System.Text;
using Microsoft.Extensions.Logging;

namespace OmgServers.Hosting.Configuration;

/// <summary>
/// Every setting of the server, typed, parsed once by <see cref="OmgServersSettingsLoader"/>. Meanings, units and
/// defaults are documented next to each key in hocon/omgservers.conf.
/// </summary>
public sealed record OmgServersSettings(
    string ApplicationName,
    ServerSettings Server,
    DatabaseSettings Database,
    LoggingSettings Logging,
    ActorsSettings Actors,
    ClientsSettings Clients,
    RuntimesSettings Runtimes,
    BootstrapSettings Bootstrap,
    InitializationSettings Initialization)
{
    /// <summary>The documented defaults alone (no file, no environment).</summary>
    public static OmgServersSettings Defaults => OmgServersSettingsLoader.Load(configFile: null, new Dictionary<string, string>()).Settings;

    internal static OmgServersSettings Bind(SettingsBinder b)
    {
        var server = new ServerSettings(
            InstanceId: b.Int("omgservers.server.instance-id", 0, 1023),
            Uri: b.AbsoluteHttpUri("omgservers.server.uri"),
            ShardCount: b.Int("omgservers.server.shard-count", 1, 65536),
            Host: b.String("omgservers.server.host", allowEmpty: false),
            Port: b.Int("omgservers.server.port", 0, 65535),
            DataDir: b.String("omgservers.server.data-dir", allowEmpty: false),
            ShutdownTimeout: b.Duration("omgservers.server.shutdown-timeout"),
            JwtIssuer: b.String("omgservers.server.jwt-issuer", allowEmpty: false),
            PublicKey: b.String("omgservers.server.public-key"),
            PrivateKey: b.String("omgservers.server.private-key"),
            X5c: b.String("omgservers.server.x5c"),
            ServiceUserAlias: b.String("omgservers.server.service-user-alias", allowEmpty: false),
            ServiceUserPassword: b.String("omgservers.server.service-user-password"));

        if ((server.PublicKey.Length == 0) != (server.PrivateKey.Length == 0))
        {
            b.Fail(server.PublicKey.Length == 0 ? "omgservers.server.public-key" : "omgservers.server.private-key",
                "public-key and private-key are set together (or both left empty for a generated pair)");
        }
        if (server.Host.Length > 0 && server.Host != "localhost" && !System.Net.IPAddress.TryParse(server.Host, out _))
        {
            b.Fail("omgservers.server.host", $"\"{server.Host}\" is not an IP address or localhost (use 0.0.0.0 for all interfaces, 127.0.0.1 for loopback)");
        }

        var database = DatabaseSettings.Bind(b);

        var logging = new LoggingSettings(
            RootLogsLevel: b.LogLevel("omgservers.logging.root-logs-level"),
            AppLogsLevel: b.LogLevel("omgservers.logging.app-logs-level"),
            TrafficLogsLevel: b.LogLevel("omgservers.logging.traffic-logs-level"),
            ConsoleLogsEnabled: b.Bool("omgservers.logging.console-logs-enabled"),
            ConsoleFormat: b.OneOf("omgservers.logging.console-format",
                new Dictionary<string, ConsoleLogFormat> { ["simple"] = ConsoleLogFormat.Simple, ["json"] = ConsoleLogFormat.Json }),
            AccessLogsEnabled: b.Bool("omgservers.logging.access-logs-enabled"));

        var nodeId = b.String("omgservers.actors.node-id");
        var actors = new ActorsSettings(
            NodeId: nodeId.Length > 0 ? nodeId : $"node-{server.InstanceId}",
            ShardCount: b.Int("omgservers.actors.shard-count", 1, 65536),
            AskTimeout: b.Duration("omgservers.actors.ask-timeout"),
            MailboxCapacity: b.Int("omgservers.actors.mailbox-capacity", 1, 1_000_000),
            PassivateAfter: b.Duration("omgservers.actors.passivate-after"),
            SnapshotEvery: b.Int("omgservers.actors.snapshot-every", 1, 1_000_000),
            LeaseTtl: b.Duration("omgservers.actors.lease-ttl"),
            LeaseRenewInterval: b.Duration("omgservers.actors.lease-renew-interval"),
            ReminderPollInterval: b.Duration("omgservers.actors.reminder-poll-interval"),
            JournalMaxBatchEvents: b.Int("omgservers.actors.journal-max-batch-events", 1, 100_000),
            JournalWriters: b.Int("omgservers.actors.journal-writers", 1, 64),
            RedeliveryInterval: b.Duration("omgservers.actors.redelivery-interval"),
            MemberDeadAfter: b.Duration("omgservers.actors.member-dead-after", TimeSpan.Zero),
            ClusterPort: b.Int("omgservers.actors.cluster-port", 0, 65535),
            ClusterBindAddress: b.String("omgservers.actors.cluster-bind-address", allowEmpty: false),
            NodeAddress: b.String("omgservers.actors.node-address"),
            ClusterSecret: b.String("omgservers.actors.cluster-secret"),
            HandoffConcurrency: b.Int("omgservers.actors.handoff-concurrency", 1, 1024));
        if (!System.Net.IPAddress.TryParse(actors.ClusterBindAddress, out _))
        {
            b.Fail("omgservers.actors.cluster-bind-address", $"\"{actors.ClusterBindAddress}\" is not an IP address");
        }
        if (actors.NodeAddress.Length > 0 && !(Uri.TryCreate(actors.NodeAddress, UriKind.Absolute, out var nodeUri) && nodeUri.Scheme is "http" or "https"))
        {
            b.Fail("omgservers.actors.node-address", $"\"{actors.NodeAddress}\" is not an absolute http URI");
        }
        if (actors.LeaseRenewInterval >= actors.LeaseTtl && actors.LeaseTtl > TimeSpan.Zero)
        {
            b.Fail("omgservers.actors.lease-renew-interval",
                $"must be shorter than omgservers.actors.lease-ttl ({SettingsBinder.FormatDuration(actors.LeaseRenewInterval)} >= {SettingsBinder.FormatDuration(actors.LeaseTtl)})");
        }

        var clients = new ClientsSettings(
            TokenLifetime: b.Duration("omgservers.clients.token-lifetime", TimeSpan.FromSeconds(1)),
            InactiveInterval: b.Duration("omgservers.clients.inactive-interval", TimeSpan.FromSeconds(1)));

        var runtimes = new RuntimesSettings(
            DockerNetwork: b.String("omgservers.runtimes.docker-network", allowEmpty: false),
            InactiveInterval: b.Duration("omgservers.runtimes.inactive-interval", TimeSpan.FromSeconds(1)),
            OverridingEnabled: b.Bool("omgservers.runtimes.overriding-enabled"),
            OverridingUri: b.AbsoluteHttpUri("omgservers.runtimes.overriding-uri"),
            DefaultCpuLimit: b.Int("omgservers.runtimes.default-cpu-limit", 1, 100_000),
            DefaultMemoryLimit: b.Int("omgservers.runtimes.default-memory-limit", 1, 1_048_576),
            LobbyMinLifetime: b.Duration("omgservers.runtimes.lobby-min-lifetime", TimeSpan.Zero),
            MaxClientsPerLobby: b.Int("omgservers.runtimes.max-clients-per-lobby", 1, 1_000_000),
            MaxUnconsumedCommands: b.Int("omgservers.runtimes.max-unconsumed-commands", 100, 10_000_000),
            Process: ProcessHostSettings.Bind(b));

        // Clients and runtimes stay in memory 10 minutes after their last message; their inactivity check relies on it.
        foreach (var (key, value) in new[] { ("omgservers.clients.inactive-interval", clients.InactiveInterval), ("omgservers.runtimes.inactive-interval", runtimes.InactiveInterval) })
            if (value > TimeSpan.FromMinutes(5))
                b.Fail(key, $"must be at most 5m (is {SettingsBinder.FormatDuration(value)})");

        var bootstrap = BootstrapSettings.Bind(b);

        var servers = b.StringList("omgservers.initialization.server-index.servers");
        var serverUris = new List<Uri>();
        for (var i = 0; i < servers.Count; i++)
        {
            if (Uri.TryCreate(servers[i], UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https")
            {
                serverUris.Add(uri);
            }
            else
            {
                b.Fail($"omgservers.initialization.server-index.servers[{i}]", $"\"{servers[i]}\" is not an absolute http(s) URI");
            }
        }

        var initialization = new InitializationSettings(
            DatabaseSchemaEnabled: b.Bool("omgservers.initialization.database-schema.enabled"),
            DatabaseSchemaConcurrency: b.Int("omgservers.initialization.database-schema.concurrency", 1, 256),
            ServerIndexEnabled: b.Bool("omgservers.initialization.server-index.enabled"),
            ServerIndexServers: serverUris.Count > 0 ? serverUris : [server.Uri],
            RelayJob: Job(b, "relay-job"),
            SchedulerJob: Job(b, "scheduler-job"),
            BootstrapJob: Job(b, "bootstrap-job"));

        return new OmgServersSettings(
            b.String("omgservers.application-name", allowEmpty: false),
            server, database, logging, actors, clients, runtimes, bootstrap, initialization);
    }

    private static JobSettings Job(SettingsBinder b, string name) =>
        new(b.Bool($"omgservers.initialization.{name}.enabled"), b.Duration($"omgservers.initialization.{name}.interval"));
}

public sealed record ServerSettings(
    int InstanceId,
    Uri Uri,
    int ShardCount,
    string Host,
    int Port,
    string DataDir,
    TimeSpan ShutdownTimeout,
    string JwtIssuer,
    string PublicKey,
    string PrivateKey,
    string X5c,
    string ServiceUserAlias,
    string ServiceUserPassword)
{
    /// <summary><see cref="DataDir"/> made absolute against <paramref name="currentDirectory"/> (default: the process's).</summary>
    public string DataDirFullPath(string? currentDirectory = null) =>
        Path.GetFullPath(DataDir, currentDirectory ?? Directory.GetCurrentDirectory());

    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append($"InstanceId = {InstanceId}, Uri = {Uri}, ShardCount = {ShardCount}, Host = {Host}, Port = {Port}, ")
            .Append($"DataDir = {DataDir}, ShutdownTimeout = {ShutdownTimeout}, JwtIssuer = {JwtIssuer}, ServiceUserAlias = {ServiceUserAlias}");
        return true;
    }
}

/// <param name="ConnectionString">The external database's Npgsql connection string; null when <see cref="UseEmbedded"/>.</param>
public sealed record DatabaseSettings(string Url, string Username, string Password, int EmbeddedPort, string? ConnectionString)
{
    /// <summary>No URL given: start <see cref="EmbeddedPostgres"/> in <c>omgservers.server.data-dir</c>.</summary>
    public bool UseEmbedded => ConnectionString is null;

    internal static DatabaseSettings Bind(SettingsBinder b)
    {
        var url = b.String("omgservers.database.url");
        var username = b.String("omgservers.database.username");
        var password = b.String("omgservers.database.password");
        var embeddedPort = b.Int("omgservers.database.embedded-port", 0, 65535);
        string? connectionString = null;
        if (url.Trim().Length > 0)
        {
            if (DatabaseUrl.TryToConnectionString(url, username, password, out var parsed, out var error))
            {
                connectionString = parsed;
            }
            else
            {
                b.Fail("omgservers.database.url", error);
            }
        }

        return new DatabaseSettings(url, username, password, embeddedPort, connectionString);
    }

    // Never print the password or a connection string carrying it.
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append($"Url = {(UseEmbedded ? "(embedded)" : "(set)")}, Username = {Username}, EmbeddedPort = {EmbeddedPort}");
        return true;
    }
}

public enum ConsoleLogFormat
{
    Simple,
    Json,
}

public sealed record LoggingSettings(
    LogLevel RootLogsLevel,
    LogLevel AppLogsLevel,
    LogLevel TrafficLogsLevel,
    bool ConsoleLogsEnabled,
    ConsoleLogFormat ConsoleFormat,
    bool AccessLogsEnabled);

public sealed record ActorsSettings(
    string NodeId,
    int ShardCount,
    TimeSpan AskTimeout,
    int MailboxCapacity,
    TimeSpan PassivateAfter,
    int SnapshotEvery,
    TimeSpan LeaseTtl,
    TimeSpan LeaseRenewInterval,
    TimeSpan ReminderPollInterval,
    int JournalMaxBatchEvents,
    int JournalWriters,
    TimeSpan RedeliveryInterval,
    TimeSpan MemberDeadAfter,
    int ClusterPort,
    string ClusterBindAddress,
    string NodeAddress,
    string ClusterSecret,
    int HandoffConcurrency);

public sealed record ClientsSettings(TimeSpan TokenLifetime, TimeSpan InactiveInterval);

public sealed record RuntimesSettings(
    string DockerNetwork,
    TimeSpan InactiveInterval,
    bool OverridingEnabled,
    Uri OverridingUri,
    int DefaultCpuLimit,
    int DefaultMemoryLimit,
    TimeSpan LobbyMinLifetime,
    int MaxClientsPerLobby,
    int MaxUnconsumedCommands,
    ProcessHostSettings Process);

/// <summary>One image the process host can run: <c>process:&lt;Name&gt;</c> runs <see cref="Command"/> with <see cref="Arguments"/>.</summary>
public sealed record ProcessImageSettings(string Name, string Command, IReadOnlyList<string> Arguments, string WorkingDir);

/// <summary>The local process host (omgservers.runtimes.process).</summary>
public sealed record ProcessHostSettings(bool Enabled, string StateDir, int MaxRuntimes, TimeSpan StopGracePeriod, IReadOnlyList<ProcessImageSettings> Images)
{
    internal static ProcessHostSettings Bind(SettingsBinder b)
    {
        var images = b.ObjectList("omgservers.runtimes.process.images", e => new ProcessImageSettings(
            e.String("name", allowEmpty: false),
            e.String("command", allowEmpty: false),
            e.StringList("arguments"),
            e.OptionalString("working-dir")));
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var image in images)
        {
            if (image.Name.Length > 0 && !seen.Add(image.Name))
                b.Fail("omgservers.runtimes.process.images", $"image name \"{image.Name}\" is used twice");
            if (image.Name.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')))
                b.Fail("omgservers.runtimes.process.images", $"image name \"{image.Name}\" may only hold letters, digits, '-', '_' and '.'");
        }
        return new ProcessHostSettings(
            b.Bool("omgservers.runtimes.process.enabled"),
            b.String("omgservers.runtimes.process.state-dir"),
            b.Int("omgservers.runtimes.process.max-runtimes", 1, 100_000),
            b.Duration("omgservers.runtimes.process.stop-grace-period", TimeSpan.Zero),
            images);
    }
}

public sealed record BootstrapUser(string Alias, string Password)
{
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append($"Alias = {Alias}, Password = {(Password.Length > 0 ? "(set)" : "(empty)")}");
        return true;
    }
}

public sealed record DockerHostSettings(string DockerDaemonUri, int CpuCount, int MemorySize, int MaxContainers);

public sealed record BootstrapSettings(
    bool Enabled,
    BootstrapUser AdminUser,
    BootstrapUser SupportUser,
    BootstrapUser RegistryUser,
    BootstrapUser BuilderUser,
    BootstrapUser ServiceUser,
    BootstrapUser DispatcherUser,
    bool DefaultPoolEnabled,
    IReadOnlyList<DockerHostSettings> DefaultPoolDockerHosts)
{
    internal static BootstrapSettings Bind(SettingsBinder b)
    {
        BootstrapUser User(string role) => new(
            b.String($"omgservers.bootstrap.{role}-user.alias", allowEmpty: false),
            b.String($"omgservers.bootstrap.{role}-user.password"));

        var hosts = b.ObjectList("omgservers.bootstrap.default-pool.docker-hosts", e => new DockerHostSettings(
            e.String("docker-daemon-uri", allowEmpty: false),
            e.Int("cpu-count", 1, 4096),
            e.Int("memory-size", 1, 16_777_216),
            e.Int("max-containers", 1, 100_000)));

        return new BootstrapSettings(
            b.Bool("omgservers.bootstrap.enabled"),
            User("admin"), User("support"), User("registry"), User("builder"), User("service"), User("dispatcher"),
            b.Bool("omgservers.bootstrap.default-pool.enabled"),
            hosts);
    }
}

public sealed record JobSettings(bool Enabled, TimeSpan Interval);

public sealed record InitializationSettings(
    bool DatabaseSchemaEnabled,
    int DatabaseSchemaConcurrency,
    bool ServerIndexEnabled,
    IReadOnlyList<Uri> ServerIndexServers,
    JobSettings RelayJob,
    JobSettings SchedulerJob,
    JobSettings BootstrapJob);
