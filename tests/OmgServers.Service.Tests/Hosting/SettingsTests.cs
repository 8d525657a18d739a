using FluentAssertions;
using Microsoft.Extensions.Logging;
using Npgsql;
using OmgServers.Hosting.Configuration;
using OmgServers.Service.Tests.Infrastructure;
using Xunit;

namespace OmgServers.Service.Tests.Hosting;

public sealed class SettingsTests
{
    private static readonly Dictionary<string, string> NoEnvironment = new();

    [Fact]
    public void Defaults_match_the_documented_values()
    {
        var s = OmgServersSettings.Defaults;

        s.ApplicationName.Should().Be("service");
        s.Server.Port.Should().Be(8080);
        s.Server.Host.Should().Be("0.0.0.0");
        s.Server.InstanceId.Should().Be(0);
        s.Server.ShardCount.Should().Be(1);
        s.Server.DataDir.Should().Be(".data");
        s.Database.UseEmbedded.Should().BeTrue();
        s.Logging.RootLogsLevel.Should().Be(LogLevel.Information);
        s.Logging.ConsoleLogsEnabled.Should().BeTrue();
        s.Logging.AccessLogsEnabled.Should().BeFalse();
        s.Logging.ConsoleFormat.Should().Be(ConsoleLogFormat.Simple);

        s.Actors.Should().Be(new ActorsSettings(
            NodeId: "node-0",
            ShardCount: 256,
            AskTimeout: TimeSpan.FromSeconds(10),
            MailboxCapacity: 1000,
            PassivateAfter: TimeSpan.FromSeconds(120),
            SnapshotEvery: 100,
            LeaseTtl: TimeSpan.FromSeconds(5),
            LeaseRenewInterval: TimeSpan.FromSeconds(1),
            ReminderPollInterval: TimeSpan.FromSeconds(1),
            JournalMaxBatchEvents: 1000,
            JournalWriters: 4,
            RedeliveryInterval: TimeSpan.FromSeconds(2),
            MemberDeadAfter: TimeSpan.Zero,
            ClusterPort: 0,
            ClusterBindAddress: "127.0.0.1",
            NodeAddress: "",
            ClusterSecret: "",
            HandoffConcurrency: 16));

        s.Clients.Should().Be(new ClientsSettings(TimeSpan.FromSeconds(3600), TimeSpan.FromSeconds(30)));
        s.Runtimes.DefaultCpuLimit.Should().Be(100);
        s.Runtimes.DefaultMemoryLimit.Should().Be(512);
        s.Runtimes.InactiveInterval.Should().Be(TimeSpan.FromSeconds(30));
        s.Bootstrap.Enabled.Should().BeFalse();
        s.Bootstrap.AdminUser.Alias.Should().Be("admin");
        s.Bootstrap.DispatcherUser.Alias.Should().Be("dispatcher");
        s.Bootstrap.DefaultPoolDockerHosts.Should().BeEmpty();
        s.Initialization.DatabaseSchemaConcurrency.Should().Be(16);
        s.Initialization.RelayJob.Should().Be(new JobSettings(true, TimeSpan.FromSeconds(1)));
        s.Initialization.ServerIndexServers.Should().Equal(new Uri("http://localhost:8080"));
    }

    [Fact]
    public void Environment_variables_of_the_upstream_tables_override_the_file()
    {
        var loaded = OmgServersSettingsLoader.Load(configFile: null, new Dictionary<string, string>
        {
            ["OMGSERVERS_SERVER_INSTANCE_ID"] = "3",
            ["OMGSERVERS_SERVER_URI"] = "http://server-3:8080",
            ["OMGSERVERS_SERVER_SHARD_COUNT"] = "4",
            ["OMGSERVERS_SERVER_PORT"] = "9090",
            ["OMGSERVERS_DATA_DIR"] = "/srv/omgservers-data",
            ["OMGSERVERS_LOGGING_ROOT_LOGS_LEVEL"] = "WARN",
            ["OMGSERVERS_LOGGING_APP_LOGS_LEVEL"] = "DEBUG",
            ["OMGSERVERS_LOGGING_CONSOLE_LOGS_ENABLED"] = "false",
            ["OMGSERVERS_LOGGING_ACCESS_LOGS_ENABLED"] = "true",
            ["OMGSERVERS_CLIENTS_TOKEN_LIFETIME"] = "600",
            ["OMGSERVERS_CLIENTS_INACTIVE_INTERVAL"] = "45s",
            ["OMGSERVERS_RUNTIMES_INACTIVE_INTERVAL"] = "10",
            ["OMGSERVERS_RUNTIMES_DEFAULT_MEMORY_LIMIT"] = "1024",
            ["OMGSERVERS_BOOTSTRAP_ENABLED"] = "true",
            ["OMGSERVERS_BOOTSTRAP_ADMIN_USER_PASSWORD"] = "admin-secret",
            ["OMGSERVERS_INITIALIZATION_RELAY_JOB_INTERVAL"] = "500ms",
            ["OMGSERVERS_INITIALIZATION_DATABASE_SCHEMA_ENABLED"] = "false",
            ["OMGSERVERS_ACTORS_SHARD_COUNT"] = "64",
            ["OMGSERVERS_ACTORS_ASK_TIMEOUT"] = "2m",
            ["OMGSERVERS_ACTORS_NODE_ID"] = "node-a",
            ["OMGSERVERS_BROKER_HOST"] = "broker",
        });
        var s = loaded.Settings;

        s.Server.InstanceId.Should().Be(3);
        s.Server.Uri.Should().Be(new Uri("http://server-3:8080"));
        s.Server.ShardCount.Should().Be(4);
        s.Server.Port.Should().Be(9090);
        s.Server.DataDir.Should().Be("/srv/omgservers-data");
        s.Logging.RootLogsLevel.Should().Be(LogLevel.Warning);
        s.Logging.AppLogsLevel.Should().Be(LogLevel.Debug);
        s.Logging.ConsoleLogsEnabled.Should().BeFalse();
        s.Logging.AccessLogsEnabled.Should().BeTrue();
        s.Clients.TokenLifetime.Should().Be(TimeSpan.FromSeconds(600));
        s.Clients.InactiveInterval.Should().Be(TimeSpan.FromSeconds(45));
        s.Runtimes.InactiveInterval.Should().Be(TimeSpan.FromSeconds(10));
        s.Runtimes.DefaultMemoryLimit.Should().Be(1024);
        s.Bootstrap.Enabled.Should().BeTrue();
        s.Bootstrap.AdminUser.Should().Be(new BootstrapUser("admin", "admin-secret"));
        s.Bootstrap.AdminUser.ToString().Should().NotContain("admin-secret");
        s.Initialization.RelayJob.Interval.Should().Be(TimeSpan.FromMilliseconds(500));
        s.Initialization.DatabaseSchemaEnabled.Should().BeFalse();
        s.Initialization.ServerIndexServers.Should().Equal(new Uri("http://server-3:8080"));
        s.Actors.ShardCount.Should().Be(64);
        s.Actors.AskTimeout.Should().Be(TimeSpan.FromMinutes(2));
        s.Actors.NodeId.Should().Be("node-a");

        loaded.UsedVariables.Should().Contain(["OMGSERVERS_ACTORS_SHARD_COUNT", "OMGSERVERS_DATA_DIR"]);
        loaded.UnusedVariables.Should().Equal("OMGSERVERS_BROKER_HOST");
    }

    [Fact]
    public void Every_key_has_its_own_environment_variable_and_every_key_is_read()
    {
        var schema = OmgServersSettingsLoader.ParseDefaults();
        var leaves = schema.Leaves().ToList();
        var variables = leaves.Select(l => EnvironmentOverrides.VariableFor(l.Path)).ToList();
        variables.Should().OnlyHaveUniqueItems();

        // Setting every variable to a value that is invalid for its type must produce one error per key:
        // proof that the binder reads each documented key.
        var environment = variables.ToDictionary(v => v, _ => "{not valid}");
        environment.Remove("OMGSERVERS_BOOTSTRAP_DEFAULT_POOL_DOCKER_HOSTS");
        environment.Remove("OMGSERVERS_INITIALIZATION_SERVER_INDEX_SERVERS");
        environment.Remove("OMGSERVERS_RUNTIMES_PROCESS_IMAGES");
        var load = () => OmgServersSettingsLoader.Load(configFile: null, environment);
        var errors = load.Should().Throw<SettingsException>().Which.Errors;

        var stringKeys = new[] { "application-name", "host", "data-dir", "jwt-issuer", "service-user-alias", "service-user-password",
            "username", "password", "node-id", "docker-network", "alias", "url", "cluster-bind-address", "node-address", "cluster-secret", "public-key", "private-key", "x5c", "state-dir" };
        var typedKeys = leaves
            .Select(l => string.Join('.', l.Path))
            .Where(p => !stringKeys.Contains(p.Split('.')[^1]) && !p.EndsWith("docker-hosts") && !p.EndsWith("servers") && !p.EndsWith("images"))
            .ToList();
        foreach (var key in typedKeys)
        {
            errors.Should().Contain(e => e.StartsWith(key + " = \"{not valid}\""), $"{key} is a typed setting");
        }

        errors.Should().Contain(e => e.StartsWith("omgservers.database.url") && e.Contains("postgresql://"));
    }

    [Theory]
    [InlineData("OMGSERVERS_SERVER_PORT", "http", "omgservers.server.port = \"http\" (environment variable OMGSERVERS_SERVER_PORT): expected a whole number")]
    [InlineData("OMGSERVERS_SERVER_PORT", "70000", "omgservers.server.port = \"70000\" (environment variable OMGSERVERS_SERVER_PORT): must be between 0 and 65535")]
    [InlineData("OMGSERVERS_ACTORS_ASK_TIMEOUT", "10 parsecs", "omgservers.actors.ask-timeout = \"10 parsecs\" (*): expected a duration*")]
    [InlineData("OMGSERVERS_ACTORS_CLUSTER_BIND_ADDRESS", "somewhere", "omgservers.actors.cluster-bind-address*")]
    [InlineData("OMGSERVERS_ACTORS_NODE_ADDRESS", "ftp://x", "omgservers.actors.node-address*")]
    [InlineData("OMGSERVERS_ACTORS_CLUSTER_PORT", "70000", "omgservers.actors.cluster-port*")]
    [InlineData("OMGSERVERS_ACTORS_LEASE_RENEW_INTERVAL", "6s", "omgservers.actors.lease-renew-interval: must be shorter than omgservers.actors.lease-ttl*")]
    [InlineData("OMGSERVERS_LOGGING_ROOT_LOGS_LEVEL", "LOUD", "omgservers.logging.root-logs-level = \"LOUD\" (*): expected one of TRACE, DEBUG, INFO*")]
    [InlineData("OMGSERVERS_LOGGING_CONSOLE_FORMAT", "xml", "omgservers.logging.console-format = \"xml\" (*): expected one of simple, json")]
    [InlineData("OMGSERVERS_BOOTSTRAP_ENABLED", "maybe", "omgservers.bootstrap.enabled = \"maybe\" (*): expected true or false")]
    [InlineData("OMGSERVERS_SERVER_URI", "gateway:8080", "omgservers.server.uri = \"gateway:8080\" (*): expected an absolute http:// or https:// URI")]
    [InlineData("OMGSERVERS_DATABASE_URL", "mysql://db/x", "omgservers.database.url: expected postgresql://host:port/database or an Npgsql connection string*")]
    [InlineData("OMGSERVERS_CLIENTS_INACTIVE_INTERVAL", "6m", "omgservers.clients.inactive-interval: must be at most 5m (is 360s)")]
    [InlineData("OMGSERVERS_RUNTIMES_INACTIVE_INTERVAL", "1h", "omgservers.runtimes.inactive-interval: must be at most 5m (is 3600s)")]
    [InlineData("OMGSERVERS_RUNTIMES_MAX_CLIENTS_PER_LOBBY", "0", "omgservers.runtimes.max-clients-per-lobby = \"0\" (*)*")]
    [InlineData("OMGSERVERS_INITIALIZATION_SERVER_INDEX_SERVERS_0", "nope", "omgservers.initialization.server-index.servers[0]: \"nope\" is not an absolute http(s) URI")]
    public void Bad_values_give_an_error_naming_the_key_and_the_source(string variable, string value, string expected)
    {
        var load = () => OmgServersSettingsLoader.Load(configFile: null, new Dictionary<string, string> { [variable] = value });
        var exception = load.Should().Throw<SettingsException>().Which;
        exception.Errors.Should().ContainSingle().Which.Should().Match(expected);
        exception.Message.Should().StartWith("Invalid configuration:");
    }

    [Theory]
    [InlineData("10s", 10_000)]
    [InlineData("500ms", 500)]
    [InlineData("2m", 120_000)]
    [InlineData("1h", 3_600_000)]
    [InlineData("1d", 86_400_000)]
    [InlineData("30", 30_000)]
    [InlineData("1.5s", 1_500)]
    [InlineData("10 seconds", 10_000)]
    public void Durations_accept_units_and_plain_seconds(string text, int milliseconds)
    {
        SettingsBinder.TryParseDuration(text, out var value).Should().BeTrue();
        value.Should().Be(TimeSpan.FromMilliseconds(milliseconds));
    }

    [Theory]
    [InlineData("")]
    [InlineData("s")]
    [InlineData("-1s")]
    [InlineData("10 years")]
    public void Bad_durations_are_refused(string text) => SettingsBinder.TryParseDuration(text, out _).Should().BeFalse();

    [Fact]
    public void The_upstream_database_url_takes_credentials_from_the_username_and_password_settings()
    {
        var s = OmgServersSettingsLoader.Load(configFile: null, new Dictionary<string, string>
        {
            ["OMGSERVERS_DATABASE_URL"] = "postgresql://database:5433/omgservers",
            ["OMGSERVERS_DATABASE_USERNAME"] = "game",
            ["OMGSERVERS_DATABASE_PASSWORD"] = "s3cret",
        }).Settings;

        s.Database.UseEmbedded.Should().BeFalse();
        var builder = new NpgsqlConnectionStringBuilder(s.Database.ConnectionString);
        builder.Host.Should().Be("database");
        builder.Port.Should().Be(5433);
        builder.Database.Should().Be("omgservers");
        builder.Username.Should().Be("game");
        builder.Password.Should().Be("s3cret");
        s.Database.ToString().Should().NotContain("s3cret");
    }

    [Theory]
    [InlineData("postgresql://db/omg", "db", 5432, "omg", "omgservers")]
    [InlineData("jdbc:postgresql://db:6000/omg?sslmode=disable", "db", 6000, "omg", "omgservers")]
    [InlineData("postgres://alice:pw@db:7000/omg", "db", 7000, "omg", "alice")]
    [InlineData("Host=127.0.0.1;Port=5999;Database=plain", "127.0.0.1", 5999, "plain", "omgservers")]
    [InlineData("Host=127.0.0.1;Port=5999;Username=bob;Database=plain", "127.0.0.1", 5999, "plain", "bob")]
    public void Database_url_accepts_urls_and_connection_strings(string url, string host, int port, string database, string username)
    {
        DatabaseUrl.TryToConnectionString(url, "omgservers", "", out var connectionString, out var error).Should().BeTrue(error);
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        builder.Host.Should().Be(host);
        builder.Port.Should().Be(port);
        builder.Database.Should().Be(database);
        builder.Username.Should().Be(username);
    }

    [Fact]
    public void A_config_file_overrides_defaults_and_the_environment_overrides_the_file()
    {
        var file = WriteConfig("""
            omgservers {
              server.port = 7070
              actors { shard-count = 32, ask-timeout = 3s }
              bootstrap.default-pool.docker-hosts = [
                { docker-daemon-uri = "unix:///var/run/docker.sock", cpu-count = 2, memory-size = 4096, max-containers = 8 }
              ]
              initialization.server-index.servers = ["http://a:8080", "http://b:8080"]
            }
            """);
        try
        {
            var s = OmgServersSettingsLoader.Load(file, new Dictionary<string, string>
            {
                ["OMGSERVERS_ACTORS_SHARD_COUNT"] = "16",
            }).Settings;

            s.Server.Port.Should().Be(7070);
            s.Actors.ShardCount.Should().Be(16);
            s.Actors.AskTimeout.Should().Be(TimeSpan.FromSeconds(3));
            s.Actors.MailboxCapacity.Should().Be(1000, "keys the file leaves out keep their defaults");
            s.Bootstrap.DefaultPoolDockerHosts.Should().Equal(new DockerHostSettings("unix:///var/run/docker.sock", 2, 4096, 8));
            s.Initialization.ServerIndexServers.Should().Equal(new Uri("http://a:8080"), new Uri("http://b:8080"));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Lists_come_from_indexed_or_comma_separated_variables()
    {
        var indexed = OmgServersSettingsLoader.Load(configFile: null, new Dictionary<string, string>
        {
            ["OMGSERVERS_INITIALIZATION_SERVER_INDEX_SERVERS_1"] = "http://b:8080",
            ["OMGSERVERS_INITIALIZATION_SERVER_INDEX_SERVERS_0"] = "http://a:8080",
            ["OMGSERVERS_BOOTSTRAP_DEFAULT_POOL_DOCKER_HOSTS_0__DOCKER_DAEMON_URI"] = "tcp://docker:2375",
            ["OMGSERVERS_BOOTSTRAP_DEFAULT_POOL_DOCKER_HOSTS_0__CPU_COUNT"] = "4",
            ["OMGSERVERS_BOOTSTRAP_DEFAULT_POOL_DOCKER_HOSTS_0__MEMORY_SIZE"] = "8192",
            ["OMGSERVERS_BOOTSTRAP_DEFAULT_POOL_DOCKER_HOSTS_0__MAX_CONTAINERS"] = "16",
        });
        indexed.Settings.Initialization.ServerIndexServers.Should().Equal(new Uri("http://a:8080"), new Uri("http://b:8080"));
        indexed.Settings.Bootstrap.DefaultPoolDockerHosts.Should().Equal(new DockerHostSettings("tcp://docker:2375", 4, 8192, 16));
        indexed.UnusedVariables.Should().BeEmpty();

        var joined = OmgServersSettingsLoader.Load(configFile: null, new Dictionary<string, string>
        {
            ["OMGSERVERS_INITIALIZATION_SERVER_INDEX_SERVERS"] = "http://a:8080, http://b:8080",
        });
        joined.Settings.Initialization.ServerIndexServers.Should().HaveCount(2);
    }

    [Fact]
    public void Process_images_come_from_indexed_variables_with_comma_separated_arguments()
    {
        var loaded = OmgServersSettingsLoader.Load(configFile: null, new Dictionary<string, string>
        {
            ["OMGSERVERS_RUNTIMES_PROCESS_IMAGES_0__NAME"] = "sample-lobby",
            ["OMGSERVERS_RUNTIMES_PROCESS_IMAGES_0__COMMAND"] = "dotnet",
            ["OMGSERVERS_RUNTIMES_PROCESS_IMAGES_0__ARGUMENTS"] = "game.dll, --verbose",
            ["OMGSERVERS_RUNTIMES_PROCESS_IMAGES_1__NAME"] = "lua",
            ["OMGSERVERS_RUNTIMES_PROCESS_IMAGES_1__COMMAND"] = "lua5.4",
            ["OMGSERVERS_RUNTIMES_PROCESS_IMAGES_1__WORKING_DIR"] = "/srv/game",
        });
        loaded.Settings.Runtimes.Process.Images.Should().HaveCount(2);
        loaded.Settings.Runtimes.Process.Images[0].Should().BeEquivalentTo(new ProcessImageSettings("sample-lobby", "dotnet", ["game.dll", "--verbose"], ""));
        loaded.Settings.Runtimes.Process.Images[1].Should().BeEquivalentTo(new ProcessImageSettings("lua", "lua5.4", [], "/srv/game"));
        loaded.UnusedVariables.Should().BeEmpty();

        var twice = () => OmgServersSettingsLoader.Load(configFile: null, new Dictionary<string, string>
        {
            ["OMGSERVERS_RUNTIMES_PROCESS_IMAGES_0__NAME"] = "same", ["OMGSERVERS_RUNTIMES_PROCESS_IMAGES_0__COMMAND"] = "a",
            ["OMGSERVERS_RUNTIMES_PROCESS_IMAGES_1__NAME"] = "same", ["OMGSERVERS_RUNTIMES_PROCESS_IMAGES_1__COMMAND"] = "b",
            ["OMGSERVERS_RUNTIMES_PROCESS_IMAGES_2__NAME"] = "bad name", ["OMGSERVERS_RUNTIMES_PROCESS_IMAGES_2__COMMAND"] = "c",
        });
        twice.Should().Throw<SettingsException>().Which.Errors.Should().Contain(e => e.Contains("\"same\" is used twice"))
            .And.Contain(e => e.Contains("\"bad name\" may only hold"));
    }

    [Fact]
    public void A_docker_host_missing_a_field_names_the_element_and_the_field()
    {
        var load = () => OmgServersSettingsLoader.Load(configFile: null, new Dictionary<string, string>
        {
            ["OMGSERVERS_BOOTSTRAP_DEFAULT_POOL_DOCKER_HOSTS_0__DOCKER_DAEMON_URI"] = "tcp://docker:2375",
        });
        load.Should().Throw<SettingsException>().Which.Errors.Should().Contain([
            "omgservers.bootstrap.default-pool.docker-hosts[0].cpu-count: missing",
            "omgservers.bootstrap.default-pool.docker-hosts[0].memory-size: missing",
        ]);
    }

    [Fact]
    public void Unknown_keys_in_a_config_file_are_errors_with_file_and_line()
    {
        var file = WriteConfig("omgservers {\n  server.prot = 1\n  actors = 5\n}\nakka.loglevel = DEBUG\n");
        try
        {
            var load = () => OmgServersSettingsLoader.Load(file, NoEnvironment);
            var errors = load.Should().Throw<SettingsException>().Which.Errors;
            errors.Should().Contain(e => e.StartsWith("omgservers.server.prot: unknown key") && e.Contains($"{file}:2"));
            errors.Should().Contain(e => e.StartsWith("omgservers.actors: expected an object"));
            errors.Should().Contain(e => e.StartsWith("akka: unknown key"));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void A_missing_config_file_is_an_error()
    {
        var load = () => OmgServersSettingsLoader.Load("/nonexistent/omgservers.conf", NoEnvironment);
        load.Should().Throw<SettingsException>().WithMessage("*'/nonexistent/omgservers.conf' does not exist*");
    }

    [Fact]
    public void The_config_file_is_found_from_the_argument_the_variable_or_the_default_locations()
    {
        var baseDirectory = TempDirectory.NewPath("cfg-base");
        var currentDirectory = TempDirectory.NewPath("cfg-cwd");
        Directory.CreateDirectory(Path.Combine(currentDirectory, "hocon"));
        var inCurrent = Path.Combine(currentDirectory, "hocon", "omgservers.conf");
        File.WriteAllText(inCurrent, "");
        try
        {
            var env = new Dictionary<string, string> { ["OMGSERVERS_CONFIG"] = "from-env.conf" };
            OmgServersSettingsLoader.LocateConfigFile(["--config", "a.conf"], env, baseDirectory, currentDirectory)
                .Should().Be(Path.Combine(currentDirectory, "a.conf"));
            OmgServersSettingsLoader.LocateConfigFile(["--config=/etc/b.conf"], env, baseDirectory, currentDirectory)
                .Should().Be("/etc/b.conf");
            OmgServersSettingsLoader.LocateConfigFile([], env, baseDirectory, currentDirectory)
                .Should().Be(Path.Combine(currentDirectory, "from-env.conf"));
            OmgServersSettingsLoader.LocateConfigFile([], NoEnvironment, baseDirectory, currentDirectory)
                .Should().Be(inCurrent);
            OmgServersSettingsLoader.LocateConfigFile([], NoEnvironment, baseDirectory, baseDirectory)
                .Should().BeNull();
        }
        finally
        {
            Directory.Delete(currentDirectory, recursive: true);
        }
    }

    private static string WriteConfig(string text)
    {
        var path = TempDirectory.NewPath("settings") + ".conf";
        File.WriteAllText(path, text);
        return path;
    }
}
