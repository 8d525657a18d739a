using System.Diagnostics;
using System.Runtime.Versioning;
using FluentAssertions;
using Npgsql;
using OmgServers.Hosting;
using OmgServers.Service.Tests.Infrastructure;
using Xunit;

namespace OmgServers.Service.Tests.Hosting;

public sealed class EmbeddedPostgresTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Throwaway_cluster_answers_queries_and_is_deleted_on_dispose()
    {
        var directory = TempDirectory.NewPath("pg-throwaway");
        var postgres = await EmbeddedPostgres.StartAsync(
            new EmbeddedPostgresOptions { DataDirectory = directory, Throwaway = true, Database = "probe" }, ct: Ct);
        var root = postgres.RootDirectory;
        try
        {
            postgres.Port.Should().BeGreaterThan(0);
            postgres.ConnectionString.Should().Contain("127.0.0.1").And.Contain($"Port={postgres.Port}").And.Contain("Database=probe");

            await using var connection = new NpgsqlConnection(postgres.ConnectionString);
            await connection.OpenAsync(Ct);
            (await ScalarAsync<string>(connection, "SELECT current_database()")).Should().Be("probe");
            (await ScalarAsync<int>(connection, "SELECT 40 + 2")).Should().Be(42);
            (await ScalarAsync<string>(connection, "SHOW fsync")).Should().Be("off");
            (await ScalarAsync<string>(connection, "SHOW listen_addresses")).Should().Be("127.0.0.1");
            (await ScalarAsync<string>(connection, "SHOW server_version")).Should().StartWith("15.");
        }
        finally
        {
            await postgres.StopAsync();
            await postgres.StopAsync(); // idempotent
            await postgres.DisposeAsync();
        }

        var refused = async () =>
        {
            await using var connection = new NpgsqlConnection(postgres.ConnectionString + ";Pooling=false;Timeout=2");
            await connection.OpenAsync(Ct);
        };
        await refused.Should().ThrowAsync<NpgsqlException>();
        Directory.Exists(root).Should().BeFalse();
    }

    [Fact]
    public async Task Restart_on_the_same_directory_keeps_data_and_is_durable()
    {
        var directory = TempDirectory.NewPath("pg-persistent");
        try
        {
            var options = new EmbeddedPostgresOptions { DataDirectory = directory };
            await using (var first = await EmbeddedPostgres.StartAsync(options, ct: Ct))
            {
                await ExecuteAsync(first.ConnectionString, "CREATE TABLE kept (value text); INSERT INTO kept VALUES ('survives restart')");
                await first.StopAsync();
            }

            File.Exists(Path.Combine(directory, "data", "PG_VERSION")).Should().BeTrue();
            File.Exists(Path.Combine(directory, "server.log")).Should().BeTrue();

            await using var second = await EmbeddedPostgres.StartAsync(options, ct: Ct);
            await using var connection = new NpgsqlConnection(second.ConnectionString);
            await connection.OpenAsync(Ct);
            (await ScalarAsync<string>(connection, "SELECT value FROM kept")).Should().Be("survives restart");
            (await ScalarAsync<string>(connection, "SHOW fsync")).Should().Be("on");
            (await ScalarAsync<string>(connection, "SHOW synchronous_commit")).Should().Be("on");
            (await ScalarAsync<string>(connection, "SELECT current_database()")).Should().Be("omgservers");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Start_after_the_server_was_killed_recovers_from_the_stale_pid_file()
    {
        var directory = TempDirectory.NewPath("pg-killed");
        try
        {
            var options = new EmbeddedPostgresOptions { DataDirectory = directory };
            var first = await EmbeddedPostgres.StartAsync(options, ct: Ct);
            await ExecuteAsync(first.ConnectionString, "CREATE TABLE kept (value int); INSERT INTO kept VALUES (7)");

            var pidFile = Path.Combine(directory, "data", "postmaster.pid");
            var pid = int.Parse(File.ReadLines(pidFile).First());
            using (var postmaster = Process.GetProcessById(pid))
            {
                postmaster.Kill();
            }

            (await Eventually.TrueAsync(() => IsGoneOrZombie(pid), TimeSpan.FromSeconds(15))).Should().BeTrue();
            File.Exists(pidFile).Should().BeTrue("a killed postmaster cannot remove its pid file");

            await using var second = await EmbeddedPostgres.StartAsync(options, ct: Ct);
            await using var connection = new NpgsqlConnection(second.ConnectionString);
            await connection.OpenAsync(Ct);
            (await ScalarAsync<int>(connection, "SELECT value FROM kept")).Should().Be(7);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Start_while_a_leftover_server_runs_on_the_directory_takes_it_over()
    {
        var directory = TempDirectory.NewPath("pg-leftover");
        try
        {
            var options = new EmbeddedPostgresOptions { DataDirectory = directory };

            // The first instance is abandoned without StopAsync, as by a process that died.
            var abandoned = await EmbeddedPostgres.StartAsync(options, ct: Ct);
            await ExecuteAsync(abandoned.ConnectionString, "CREATE TABLE kept (value int); INSERT INTO kept VALUES (1)");

            await using var second = await EmbeddedPostgres.StartAsync(options, ct: Ct);
            await using var connection = new NpgsqlConnection(second.ConnectionString);
            await connection.OpenAsync(Ct);
            (await ScalarAsync<int>(connection, "SELECT value FROM kept")).Should().Be(1);
            await second.StopAsync();

            var pidFile = Path.Combine(directory, "data", "postmaster.pid");
            File.Exists(pidFile).Should().BeFalse("the server was stopped cleanly");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Dispose_stops_the_server_even_when_its_directory_was_deleted_under_it()
    {
        var postgres = await EmbeddedPostgres.StartAsync(
            new EmbeddedPostgresOptions { DataDirectory = TempDirectory.NewPath("pg-deleted"), Throwaway = true }, ct: Ct);
        var pid = int.Parse(File.ReadLines(Path.Combine(postgres.DataDirectory, "postmaster.pid")).First());
        Directory.Delete(postgres.RootDirectory, recursive: true);

        await postgres.DisposeAsync();

        (await Eventually.TrueAsync(() => IsGoneOrZombie(pid), TimeSpan.FromSeconds(15))).Should().BeTrue("the postmaster was told to shut down");
    }

    [Fact]
    public async Task A_fixed_port_is_used_as_given()
    {
        var port = FreePort();
        await using var postgres = await EmbeddedPostgres.StartAsync(
            new EmbeddedPostgresOptions { DataDirectory = TempDirectory.NewPath("pg-port"), Port = port, Throwaway = true }, ct: Ct);

        postgres.Port.Should().Be(port);
        await using var connection = new NpgsqlConnection(postgres.ConnectionString);
        await connection.OpenAsync(Ct);
        (await ScalarAsync<int>(connection, "SELECT current_setting('port')::int")).Should().Be(port);
    }

    [Fact]
    [SupportedOSPlatform("linux")]
    public async Task As_root_an_untraversable_parent_fails_a_persistent_cluster_and_relocates_a_throwaway_one()
    {
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "Only root runs PostgreSQL as another user.");

        var locked = TempDirectory.NewPath("pg-locked");
        Directory.CreateDirectory(locked);
        File.SetUnixFileMode(locked, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        try
        {
            var persistent = async () =>
                await EmbeddedPostgres.StartAsync(new EmbeddedPostgresOptions { DataDirectory = Path.Combine(locked, "db") }, ct: Ct);
            (await persistent.Should().ThrowAsync<InvalidOperationException>())
                .WithMessage($"*cannot traverse '{locked}'*chmod o+x*");

            await using var throwaway = await EmbeddedPostgres.StartAsync(
                new EmbeddedPostgresOptions { DataDirectory = Path.Combine(locked, "tmp"), Throwaway = true }, ct: Ct);
            throwaway.RootDirectory.Should().NotStartWith(locked);
            await using var connection = new NpgsqlConnection(throwaway.ConnectionString);
            await connection.OpenAsync(Ct);
            (await ScalarAsync<int>(connection, "SELECT 1")).Should().Be(1);
        }
        finally
        {
            Directory.Delete(locked, recursive: true);
        }
    }

    [Fact]
    public async Task A_directory_that_is_not_a_cluster_is_refused_with_a_clear_error()
    {
        var directory = TempDirectory.NewPath("pg-notcluster");
        Directory.CreateDirectory(Path.Combine(directory, "data"));
        await File.WriteAllTextAsync(Path.Combine(directory, "data", "notes.txt"), "not a cluster", Ct);
        try
        {
            var start = async () => await EmbeddedPostgres.StartAsync(new EmbeddedPostgresOptions { DataDirectory = directory }, ct: Ct);
            (await start.Should().ThrowAsync<InvalidOperationException>()).WithMessage("*holds no PostgreSQL cluster*");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync(Ct))!;
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(Ct);
    }

    private static bool IsGoneOrZombie(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var state = stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[0];
            return state is "Z" or "X";
        }
        catch (IOException)
        {
            return true;
        }
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
