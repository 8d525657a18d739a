using Npgsql;
using OmgServers.Hosting;

[assembly: AssemblyFixture(typeof(OmgServers.Actors.Tests.PostgresFixture))]

namespace OmgServers.Actors.Tests;

/// <summary>
/// One real PostgreSQL for the whole test run: the one scripts/test.sh started (OMGSERVERS_TEST_DATABASE_URL) or,
/// when run on its own, a throwaway cluster started here. Each test works in a schema of its own.
/// </summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    private EmbeddedPostgres? _embedded;

    public string ConnectionString { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        var fromScript = Environment.GetEnvironmentVariable("OMGSERVERS_TEST_DATABASE_URL");
        if (!string.IsNullOrWhiteSpace(fromScript))
        {
            ConnectionString = fromScript;
            return;
        }
        _embedded = await EmbeddedPostgres.StartAsync(new EmbeddedPostgresOptions
        {
            DataDirectory = Path.Combine(Path.GetTempPath(), "omgservers-actors-tests-" + Guid.NewGuid().ToString("N")[..8]),
            Throwaway = true,
            Database = "actors_tests",
        });
        ConnectionString = _embedded.ConnectionString;
    }

    public async ValueTask DisposeAsync()
    {
        if (_embedded is not null) await _embedded.DisposeAsync();
    }

    public static string NewSchema() => "t_" + Guid.NewGuid().ToString("N")[..12];

    public async Task<T> ScalarAsync<T>(string sql, params object[] args)
    {
        await using var db = NpgsqlDataSource.Create(ConnectionString);
        await using var cmd = db.CreateCommand(sql);
        foreach (var a in args) cmd.Parameters.AddWithValue(a);
        return (T)Convert.ChangeType((await cmd.ExecuteScalarAsync())!, typeof(T));
    }

    public async Task ExecAsync(string sql, params object[] args)
    {
        await using var db = NpgsqlDataSource.Create(ConnectionString);
        await using var cmd = db.CreateCommand(sql);
        foreach (var a in args) cmd.Parameters.AddWithValue(a);
        await cmd.ExecuteNonQueryAsync();
    }
}
