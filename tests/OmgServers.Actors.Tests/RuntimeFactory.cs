namespace OmgServers.Actors.Tests;

/// <summary>Builds runtimes with the test entities, in a schema of the test's own.</summary>
public sealed class RuntimeFactory(PostgresFixture pg, Probe? probe = null) : IAsyncDisposable
{
    private readonly List<ActorRuntime> _started = new();

    public string Schema { get; } = PostgresFixture.NewSchema();
    public Probe Probe { get; } = probe ?? new Probe();

    public ActorRuntimeOptions Options(Func<ActorRuntimeOptions, ActorRuntimeOptions>? tweak = null)
    {
        var options = new ActorRuntimeOptions
        {
            ConnectionString = pg.ConnectionString,
            Schema = Schema,
            ShardCount = 16,
            LeaseTtl = TimeSpan.FromSeconds(3),
            LeaseRenewInterval = TimeSpan.FromMilliseconds(500),
            ReminderPollInterval = TimeSpan.FromMilliseconds(100),
            RedeliveryInterval = TimeSpan.FromMilliseconds(300),
            AskTimeout = TimeSpan.FromSeconds(10),
        };
        return tweak is null ? options : tweak(options);
    }

    public static void Register(EntityRegistryBuilder r, Probe probe, int? counterSnapshotEvery = null, TimeSpan? passivateAfter = null, int? mailbox = null)
    {
        var counter = r.Entity("counter", _ => new Counter(probe))
            .Event<Added>("test.added")
            .Event<Reminded>("test.reminded")
            .Message<Add>("test.add");
        if (counterSnapshotEvery is { } every) counter.SnapshotEvery(every);
        if (passivateAfter is { } idle) counter.PassivateAfter(idle);
        r.Entity("batcher", _ => new Batcher())
            .Event<AppendedAll>("test.appended-all")
            .Message<Append>("test.append");
        r.Entity("gate", _ => new Gate())
            .Event<GateOpened>("test.gate-opened")
            .Event<GateAdded>("test.gate-added")
            .Message<OpenGate>("test.open-gate")
            .Message<AddUnrecorded>("test.add-unrecorded");
        var recorder = r.Entity("recorder", _ => new Recorder(probe));
        if (passivateAfter is { } idle2) recorder.PassivateAfter(idle2);
        if (mailbox is { } m) recorder.MailboxCapacity(m);
    }

    public async Task<ActorRuntime> StartAsync(Func<ActorRuntimeOptions, ActorRuntimeOptions>? tweak = null, int? counterSnapshotEvery = null, TimeSpan? passivateAfter = null, int? mailbox = null)
    {
        var runtime = ActorRuntime.Create(Options(tweak), r => Register(r, Probe, counterSnapshotEvery, passivateAfter, mailbox));
        await runtime.StartAsync();
        _started.Add(runtime);
        await Eventually.HoldsAsync(() => runtime.IsReady, TimeSpan.FromSeconds(15), "runtime holds all its shards");
        return runtime;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var runtime in _started) await runtime.DisposeAsync();
    }
}
