using Npgsql;
using OmgServers.Hosting;

[assembly: AssemblyFixture(typeof(OmgServers.Domain.Tests.Entities.PostgresFixture))]
// The entity tests mostly wait on timers (inactivity, cleanup, redelivery): run more of them at once than there are cores.
[assembly: CollectionBehavior(MaxParallelThreads = 8)]

namespace OmgServers.Domain.Tests.Entities;

/// <summary>
/// One real PostgreSQL for the whole run, as in OmgServers.Actors.Tests: the one scripts/test.sh started
/// (OMGSERVERS_TEST_DATABASE_URL) or, when run on its own, a throwaway cluster started here. Each test works in a
/// schema of its own (<see cref="GameHarness"/>).
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
            DataDirectory = Path.Combine(Path.GetTempPath(), "omgservers-domain-tests-" + Guid.NewGuid().ToString("N")[..8]),
            Throwaway = true,
            Database = "domain_tests",
        });
        ConnectionString = _embedded.ConnectionString;
    }

    public async ValueTask DisposeAsync()
    {
        if (_embedded is not null) await _embedded.DisposeAsync();
    }

    public static string NewSchema() => "g_" + Guid.NewGuid().ToString("N")[..12];

    public async Task DropSchemaAsync(string schema)
    {
        await using var db = NpgsqlDataSource.Create(ConnectionString);
        await using var cmd = db.CreateCommand($"DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
        await cmd.ExecuteNonQueryAsync();
    }
}
