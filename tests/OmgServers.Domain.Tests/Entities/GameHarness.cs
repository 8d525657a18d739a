using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using OmgServers.Actors;
using OmgServers.Contracts;
using OmgServers.Contracts.Interchange;
using OmgServers.Domain.Clients;
using OmgServers.Domain.Deployments;
using OmgServers.Domain.Matchmaking;
using OmgServers.Domain.Runtimes;
using OmgServers.Security;

namespace OmgServers.Domain.Tests.Entities;

/// <summary>A player's client as the tests hold it.</summary>
public sealed record TestClient(long ClientId, long UserId);

/// <summary>A started deployment: its id and its matchmaker's.</summary>
public sealed record TestDeployment(long DeploymentId, long MatchmakerId);

/// <summary>What one client interchange returned, and what the runtime answered to the forwarded messages (as the edge does).</summary>
public sealed record ClientTurn(IReadOnlyList<PlayerMessage> Incoming, long? RuntimeId, object? Forwarded);

/// <summary>
/// The game entities on a real actor runtime in a schema of the test's own, with the production registration
/// (<see cref="DomainEntities.AddDomainEntities"/>), a <see cref="GameOptions"/> of the test's choosing, one
/// <see cref="SnowflakeIds"/> and a <see cref="RecordingLauncher"/>. Helpers play the tenant (deployment start), the
/// player edge (client interchange, then <c>HandleMessages</c> at the runtime it names) and the runtimes (interchange).
/// </summary>
public sealed class GameHarness : IAsyncDisposable
{
    public const long TenantId = 101, ProjectId = 102, StageId = 103, VersionId = 104;
    public const string Image = "process:x";

    private readonly PostgresFixture _pg;
    private readonly ServiceProvider _services;
    private readonly ILoggerFactory _loggers;
    private ActorRuntime? _runtime;

    private GameHarness(PostgresFixture pg, GameOptions options, ITestOutputHelper? output)
    {
        _pg = pg;
        Options = options;
        _services = new ServiceCollection()
            .AddSingleton(options)
            .AddSingleton(Ids)
            .AddSingleton<IRuntimeLauncher>(Launcher)
            .BuildServiceProvider();
        _loggers = LoggerFactory.Create(b =>
        {
            b.SetMinimumLevel(LogLevel.Information);
            if (output is not null) b.AddProvider(new TestOutputLoggerProvider(output));
        });
    }

    public string Schema { get; } = PostgresFixture.NewSchema();
    public GameOptions Options { get; }
    public SnowflakeIds Ids { get; } = new(0);
    public RecordingLauncher Launcher { get; } = new();
    public ActorRuntime Runtime => _runtime ?? throw new InvalidOperationException("not started");

    public static async Task<GameHarness> StartAsync(PostgresFixture pg, ITestOutputHelper? output, GameOptions options)
    {
        var harness = new GameHarness(pg, options, output);
        await harness.StartRuntimeAsync();
        return harness;
    }

    private async Task StartRuntimeAsync()
    {
        var options = new ActorRuntimeOptions
        {
            ConnectionString = _pg.ConnectionString,
            Schema = Schema,
            ShardCount = 16,
            // Generous: a start's first lease round may take LeaseTtl / 2, and parallel tests share two cores.
            LeaseTtl = TimeSpan.FromSeconds(10),
            LeaseRenewInterval = TimeSpan.FromSeconds(1),
            ReminderPollInterval = TimeSpan.FromMilliseconds(100),
            RedeliveryInterval = TimeSpan.FromMilliseconds(200),
            AskTimeout = TimeSpan.FromSeconds(10),
        };
        for (var attempt = 1; ; attempt++)
        {
            var runtime = ActorRuntime.Create(options, r =>
            {
                r.AddDomainEntities();
                RelayEntity.Register(r);
            }, _services, _loggers);
            try
            {
                await runtime.StartAsync(TestContext.Current.CancellationToken);
            }
            catch (OperationCanceledException) when (attempt < 3 && !TestContext.Current.CancellationToken.IsCancellationRequested)
            {
                // The first lease round ran out of time (a loaded machine): what the host does too, start again.
                _loggers.CreateLogger<GameHarness>().LogWarning("actor runtime start {Attempt} timed out; starting again", attempt);
                continue;
            }
            _runtime = runtime;
            await Eventually.HoldsAsync(() => runtime.IsReady, "the actor runtime holds all its shards");
            return;
        }
    }

    /// <summary>Stops the actor runtime gracefully and starts a new one on the same schema (a node restart).</summary>
    public async Task RestartAsync()
    {
        if (_runtime is { } old) await old.DisposeAsync();
        _runtime = null;
        await StartRuntimeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_runtime is { } runtime) await runtime.DisposeAsync();
        await _services.DisposeAsync();
        _loggers.Dispose();
        await _pg.DropSchemaAsync(Schema);
    }

    /// <summary>An Ask with the runtime's deadline that the test's cancellation also ends.</summary>
    public Task<T> AskAsync<T>(EntityAddress to, object message) => Runtime.AskAsync<T>(to, message, ct: TestContext.Current.CancellationToken);

    /// <summary>
    /// A slow disk for one entity: holds the entity's next journal row (key <c>(persistence_id, sequence_nr)</c>) in an open
    /// transaction, so its next write waits on it; disposing rolls it back and the write goes through. Fault injection:
    /// it knows the journal table of the actor runtime's schema.
    /// </summary>
    public async Task<StalledWrite> StallNextWriteAsync(EntityAddress entity)
    {
        var persistenceId = Runtime.Registry.Get(entity.Type).PersistenceIdOf(entity.Id);
        var connection = new NpgsqlConnection(_pg.ConnectionString);
        await connection.OpenAsync();
        var transaction = await connection.BeginTransactionAsync();
        await using (var insert = new NpgsqlCommand($"""
            INSERT INTO "{Schema}".journal (persistence_id, sequence_nr, shard, epoch, manifest, payload)
            SELECT $1, COALESCE(MAX(sequence_nr), 0) + 1, 0, 0, 'test.stall', '\x'::bytea FROM "{Schema}".journal WHERE persistence_id = $1
            """, connection, transaction))
        {
            insert.Parameters.Add(new NpgsqlParameter { Value = persistenceId });
            (await insert.ExecuteNonQueryAsync()).Should().Be(1);
        }
        return new StalledWrite(connection, transaction, Schema);
    }

    // ------------------------------------------------------------------ the tenant's side

    /// <summary>A version config with these modes (no groups: one group named like the mode).</summary>
    public static JsonElement VersionConfig(params (string Name, int Min, int Max)[] modes) =>
        Payload.From(new VersionConfig(modes.Select(m => (VersionModeConfig?)new VersionModeConfig(m.Name, m.Min, m.Max, [])).ToList(), null));

    public TestDeployment NewDeployment() => new(Ids.Next(), Ids.Next());

    /// <summary>What the tenant sends when the deployment is created: the version config, a UNIVERSAL image, the matchmaker, the first lobby.</summary>
    public async Task StartDeploymentAsync(TestDeployment deployment, JsonElement versionConfig, long? firstLobbyId = null) =>
        await AskAsync<object?>(DeploymentEntity.Address(deployment.DeploymentId), new DeploymentCommands.Start(TenantId, ProjectId, StageId,
            VersionId, versionConfig, [new DeploymentImage(ImageQualifier.UNIVERSAL, Image)], deployment.MatchmakerId, DateTimeOffset.UtcNow, firstLobbyId));

    public async Task<TestDeployment> StartDeploymentAsync(JsonElement versionConfig, long? firstLobbyId = null)
    {
        var deployment = NewDeployment();
        await StartDeploymentAsync(deployment, versionConfig, firstLobbyId);
        return deployment;
    }

    public Task<DeploymentView> ViewAsync(TestDeployment deployment) =>
        AskAsync<DeploymentView>(DeploymentEntity.Address(deployment.DeploymentId), new DeploymentCommands.GetView());

    public Task<MatchmakerView> MatchmakerViewAsync(TestDeployment deployment) =>
        AskAsync<MatchmakerView>(MatchmakerEntity.Address(deployment.MatchmakerId), new MatchmakerCommands.GetView());

    // ------------------------------------------------------------------ the player edge

    /// <summary>The player edge's create-client: a new client of the deployment, which queues itself there.</summary>
    public async Task<TestClient> CreateClientAsync(TestDeployment deployment)
    {
        var client = new TestClient(Ids.Next(), Ids.Next());
        var now = DateTimeOffset.UtcNow;
        var welcome = WireBodies.Of(new ServerWelcomeMessageBody(TenantId, VersionId, now));
        var reply = await AskAsync<object>(ClientEntity.Address(client.ClientId),
            new ClientCommands.Create(client.UserId, TenantId, StageId, deployment.DeploymentId, Ids.Next(), welcome, now));
        reply.Should().BeOfType<InterchangeReply>();
        return client;
    }

    /// <summary>The player edge's interchange: the client's, then the messages to the runtime it names.</summary>
    public async Task<ClientTurn> InterchangeAsync(TestClient client, IEnumerable<string>? outgoing = null, IEnumerable<long>? consumed = null)
    {
        var data = outgoing?.Select(s => Payload.From(s)).ToList() ?? [];
        var reply = await AskAsync<object>(ClientEntity.Address(client.ClientId),
            new ClientCommands.Interchange(client.UserId, data, consumed?.ToList() ?? []));
        var ok = reply.Should().BeOfType<InterchangeReply>().Subject;
        object? forwarded = null;
        if (ok.RuntimeId is { } runtimeId && data.Count > 0)
            forwarded = await AskAsync<object>(RuntimeEntity.Address(runtimeId), new RuntimeCommands.HandleMessages(client.ClientId, data));
        return new ClientTurn(ok.Incoming, ok.RuntimeId, forwarded);
    }

    /// <summary>Reads (without acknowledging) until the client's unacknowledged messages satisfy <paramref name="ok"/>.</summary>
    public async Task<IReadOnlyList<PlayerMessage>> WaitForMessagesAsync(TestClient client, Func<IReadOnlyList<PlayerMessage>, bool> ok, string what, TimeSpan? timeout = null) =>
        await Eventually.ValueAsync(async () => (await InterchangeAsync(client)).Incoming, ok, $"client {client.ClientId}: {what}", timeout);

    /// <summary>Waits for the client's <paramref name="count"/>-th runtime assignment of <paramref name="qualifier"/> and returns it.</summary>
    public async Task<RuntimeAssignmentMessageBody> WaitForAssignmentAsync(TestClient client, RuntimeQualifier qualifier, int count = 1)
    {
        var messages = await WaitForMessagesAsync(client, m => m.Assignments().Count(a => a.RuntimeQualifier == qualifier) >= count, $"{count} {qualifier} assignment(s)");
        return messages.Assignments().Where(a => a.RuntimeQualifier == qualifier).ElementAt(count - 1);
    }

    // ------------------------------------------------------------------ the runtimes' side

    /// <summary>A runtime's interchange; fails the test when the runtime refuses it.</summary>
    public async Task<IReadOnlyList<RuntimeCommand>> RuntimeInterchangeAsync(long runtimeId, IEnumerable<OutgoingCommand>? outgoing = null, IEnumerable<long>? consumed = null)
    {
        var reply = await AskAsync<object>(RuntimeEntity.Address(runtimeId),
            new RuntimeCommands.Interchange(outgoing?.ToList() ?? [], consumed?.ToList() ?? [], new Dictionary<long, string>()));
        return reply.Should().BeOfType<RuntimeInterchangeReply>().Subject.Incoming;
    }

    /// <summary>Interchanges (without acknowledging) until the runtime's unacknowledged commands satisfy <paramref name="ok"/>.</summary>
    public async Task<IReadOnlyList<RuntimeCommand>> WaitForCommandsAsync(long runtimeId, Func<IReadOnlyList<RuntimeCommand>, bool> ok, string what, TimeSpan? timeout = null) =>
        await Eventually.ValueAsync(() => RuntimeInterchangeAsync(runtimeId), ok, $"runtime {runtimeId}: {what}", timeout);

    public async Task<RuntimeDetails> DetailsAsync(long runtimeId) =>
        (await AskAsync<object>(RuntimeEntity.Address(runtimeId), new RuntimeCommands.GetDetails())).Should().BeOfType<RuntimeDetails>().Subject;

    public async Task<bool> ShouldRunAsync(long runtimeId) =>
        (await AskAsync<RuntimeShouldRun>(RuntimeEntity.Address(runtimeId), new RuntimeCommands.ShouldRun())).Run;

    public static OutgoingCommand Respond(TestClient client, string text) => OutgoingCommand.Create(new RespondClientBody(client.ClientId, Payload.From(text)));

    public static OutgoingCommand RequestMatchmaking(TestClient client, string mode) => OutgoingCommand.Create(new RequestMatchmakingBody(client.ClientId, mode));

    public static OutgoingCommand Kick(TestClient client) => OutgoingCommand.Create(new KickClientBody(client.ClientId));
}

/// <summary>An entity's next journal write held back by <see cref="GameHarness.StallNextWriteAsync"/>.</summary>
public sealed class StalledWrite(NpgsqlConnection connection, NpgsqlTransaction transaction, string schema) : IAsyncDisposable
{
    /// <summary>Waits until a journal write of the schema is blocked behind the held row.</summary>
    public async Task WaitUntilBlockingAsync()
    {
        await using var db = NpgsqlDataSource.Create(connection.ConnectionString);
        await Eventually.ValueAsync(async () =>
        {
            await using var cmd = db.CreateCommand(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%' || $1 || '.journal%'");
            cmd.Parameters.Add(new NpgsqlParameter { Value = schema });
            return (long)(await cmd.ExecuteScalarAsync())!;
        }, n => n > 0, "a journal write waiting on the held row");
    }

    public async ValueTask DisposeAsync()
    {
        await transaction.RollbackAsync();
        await transaction.DisposeAsync();
        await connection.DisposeAsync();
    }
}

/// <summary>Reading what the entities return.</summary>
public static class Read
{
    public static IEnumerable<RuntimeAssignmentMessageBody> Assignments(this IEnumerable<PlayerMessage> messages) =>
        messages.Where(m => m.Qualifier == MessageQualifier.RUNTIME_ASSIGNMENT_MESSAGE).Select(m => m.BodyAs<RuntimeAssignmentMessageBody>());

    /// <summary>The texts of the SERVER_OUTGOING_MESSAGEs, in order.</summary>
    public static List<string> ServerTexts(this IEnumerable<PlayerMessage> messages) =>
        messages.Where(m => m.Qualifier == MessageQualifier.SERVER_OUTGOING_MESSAGE)
            .Select(m => m.BodyAs<ServerOutgoingMessageBody>().Message.GetString()!).ToList();

    public static List<DisconnectionReason> Disconnections(this IEnumerable<PlayerMessage> messages) =>
        messages.Where(m => m.Qualifier == MessageQualifier.DISCONNECTION_REASON_MESSAGE)
            .Select(m => m.BodyAs<DisconnectionReasonMessageBody>().Reason).ToList();

    public static long? ClientOf(this RuntimeCommand command) => command.Qualifier switch
    {
        RuntimeCommandQualifier.ADD_CLIENT => command.BodyAs<AddClientBody>().ClientId,
        RuntimeCommandQualifier.ADD_MATCH_CLIENT => command.BodyAs<AddMatchClientBody>().ClientId,
        RuntimeCommandQualifier.DELETE_CLIENT => command.BodyAs<DeleteClientBody>().ClientId,
        RuntimeCommandQualifier.HANDLE_MESSAGE => command.BodyAs<HandleMessageBody>().ClientId,
        _ => null,
    };

    public static bool Has(this IEnumerable<RuntimeCommand> commands, RuntimeCommandQualifier qualifier, TestClient client) =>
        commands.Any(c => c.Qualifier == qualifier && c.ClientOf() == client.ClientId);

    /// <summary>The texts of the client's HANDLE_MESSAGEs, in command order.</summary>
    public static List<string> HandledTexts(this IEnumerable<RuntimeCommand> commands, TestClient client) =>
        commands.Where(c => c.Qualifier == RuntimeCommandQualifier.HANDLE_MESSAGE && c.ClientOf() == client.ClientId)
            .Select(c => c.BodyAs<HandleMessageBody>().Message.GetString()!).ToList();

    /// <summary>Short form of a command log for assertions on order: "INIT_RUNTIME", "ADD_CLIENT:&lt;client&gt;", ...</summary>
    public static List<string> Shape(this IEnumerable<RuntimeCommand> commands) =>
        commands.Select(c => c.ClientOf() is { } id ? $"{c.Qualifier}:{id}" : c.Qualifier.ToString()).ToList();
}
