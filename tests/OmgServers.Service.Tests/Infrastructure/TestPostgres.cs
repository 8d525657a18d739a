using Npgsql;
using OmgServers.Hosting;
using Xunit;

namespace OmgServers.Service.Tests.Infrastructure;

/// <summary>
/// One PostgreSQL server for the whole test assembly: the one named by OMGSERVERS_TEST_DATABASE_URL
/// (scripts/test.sh starts it), or else a throwaway <see cref="EmbeddedPostgres"/> started here.
/// Tests that write take their own fresh database through <see cref="CreateDatabaseAsync"/>.
/// </summary>
public sealed class TestPostgres : IAsyncLifetime
{
    public const string UrlVariable = "OMGSERVERS_TEST_DATABASE_URL";

    private EmbeddedPostgres? _embedded;

    /// <summary>Connection string of the server's maintenance database.</summary>
    public string ConnectionString { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        var url = Environment.GetEnvironmentVariable(UrlVariable);
        if (!string.IsNullOrWhiteSpace(url))
        {
            ConnectionString = url;
            return;
        }

        _embedded = await EmbeddedPostgres.StartAsync(new EmbeddedPostgresOptions
        {
            DataDirectory = TempDirectory.NewPath("service-tests-pg"),
            Throwaway = true,
            Database = "omgservers_tests",
        });
        ConnectionString = _embedded.ConnectionString;
    }

    /// <summary>Creates a database with a unique name on the shared server and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string prefix, CancellationToken ct = default)
    {
        var name = $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 13, 63)].ToLowerInvariant();
        await PostgresDatabases.EnsureExistsAsync(ConnectionString, name, ct);
        return new NpgsqlConnectionStringBuilder(ConnectionString) { Database = name }.ConnectionString;
    }

    public async ValueTask DisposeAsync()
    {
        if (_embedded is not null)
        {
            await _embedded.DisposeAsync();
        }
    }
}

/// <summary>Fresh scratch directories under the system temp directory, which the postgres user can traverse.</summary>
public static class TempDirectory
{
    public static string NewPath(string prefix) =>
        Path.Combine(Path.GetTempPath(), $"omgservers-{prefix}-{Guid.NewGuid().ToString("N")[..10]}");
}
