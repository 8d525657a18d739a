using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using OmgServers.Actors.Persistence;
using OmgServers.Actors.Sharding;

namespace OmgServers.Actors;

/// <summary>
/// The actor runtime of one node: routes messages by shard to the entities this node hosts, keeps its shard leases,
/// runs the journal's group commits, fires due reminders and passivates idle entities.
/// Start with <see cref="StartAsync"/>; stop gracefully with <see cref="StopAsync"/> (drains mailboxes, flushes writes,
/// releases leases so another node can take the shards at once).
/// </summary>
public sealed class ActorRuntime : IAsyncDisposable
{
    private readonly LocalShard?[] _shards;
    private readonly ILogger _log;
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _loops = new();
    private NpgsqlDataSource? _db;
    private ShardLeases? _leases;
    private Journal? _journal;
    private Reminders? _reminders;
    private readonly List<Task> _background = new();
    private volatile bool _acquiring = true;
    private long _lastRenewStartMs;
    private int _state; // 0 new, 1 started, 2 stopping, 3 stopped

    public ActorRuntime(ActorRuntimeOptions options, EntityRegistry registry, IServiceProvider services, ILoggerFactory? loggers = null)
    {
        options.Validate();
        Options = options;
        Registry = registry;
        Services = services;
        loggers ??= NullLoggerFactory.Instance;
        _log = loggers.CreateLogger("OmgServers.Actors.Runtime");
        EntityLogger = loggers.CreateLogger("OmgServers.Actors.Entity");
        Incarnation = Guid.NewGuid().ToString("N")[..12];
        Owner = options.NodeId + "/" + Incarnation;
        _shards = new LocalShard?[options.ShardCount];
    }

    /// <summary>Builds a registry with <paramref name="configure"/> and a runtime on it (tests and tools; hosts use AddActorRuntime).</summary>
    public static ActorRuntime Create(ActorRuntimeOptions options, Action<EntityRegistryBuilder> configure, IServiceProvider? services = null, ILoggerFactory? loggers = null)
    {
        var builder = new EntityRegistryBuilder();
        configure(builder);
        return new ActorRuntime(options, builder.Build(), services ?? EmptyServices.Instance, loggers);
    }

    public ActorRuntimeOptions Options { get; }
    public EntityRegistry Registry { get; }
    public IServiceProvider Services { get; }
    public RuntimeMetrics Metrics { get; } = new();
    public string NodeId => Options.NodeId;

    /// <summary>Random id of this start of the node; part of the lease owner so a restarted node never reuses a lease.</summary>
    public string Incarnation { get; }

    /// <summary>Lease owner name: node id + incarnation.</summary>
    public string Owner { get; }

    public JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web);

    /// <summary>True once the schema is migrated and this node holds every shard it should (all of them on a single node).</summary>
    public bool IsReady => _state == 1 && OwnedShardCount == Options.ShardCount;

    public bool IsStarted => _state == 1;

    public int OwnedShardCount => _shards.Count(s => s is { State: ShardState.Active });

    internal ILogger EntityLogger { get; }
    internal CancellationToken Stopping => _stopping.Token;
    internal Journal Journal => _journal ?? throw new InvalidOperationException("the actor runtime is not started");
    internal Reminders Reminders => _reminders ?? throw new InvalidOperationException("the actor runtime is not started");

    public int ShardOf(EntityAddress address) =>
        Crc16Arc.ShardOf(Registry.Get(address.Type).ShardKey(address.Id), Options.ShardCount);

    // ------------------------------------------------------------------ lifecycle

    public async Task StartAsync(CancellationToken ct = default)
    {
        if (Interlocked.CompareExchange(ref _state, 1, 0) != 0) throw new InvalidOperationException("the actor runtime was already started");
        try
        {
            var builder = new NpgsqlDataSourceBuilder(Options.ConnectionString);
            builder.ConnectionStringBuilder.MaxAutoPrepare = Math.Max(builder.ConnectionStringBuilder.MaxAutoPrepare, 32);
            builder.ConnectionStringBuilder.AutoPrepareMinUsages = 2;
            builder.ConnectionStringBuilder.NoResetOnClose = true;
            if (builder.ConnectionStringBuilder.MaxPoolSize < Options.JournalWriters + 8)
                builder.ConnectionStringBuilder.MaxPoolSize = Options.JournalWriters + 8;
            _db = builder.Build();

            await Schema.MigrateAsync(_db, Options.Schema, Options.ShardCount, ct).ConfigureAwait(false);
            await RegisterMemberAsync(ct).ConfigureAwait(false);
            _leases = new ShardLeases(_db, Options.Schema, Owner);
            _journal = new Journal(_db, Options.Schema, Owner, Options.JournalMaxBatchEvents, Options.JournalWriters, _log, Metrics, OnFenced);
            _reminders = new Reminders(_db, Options.Schema, this, _log);

            await LeaseRoundAsync(ct).ConfigureAwait(false);
            if (OwnedShardCount < Options.ShardCount)
                _log.LogInformation("node {Owner} holds {Owned} of {Total} shards; the rest are leased by another incarnation and are taken when their leases expire (at most {Ttl})",
                    Owner, OwnedShardCount, Options.ShardCount, Options.LeaseTtl);
            _background.Add(Task.Run(() => LoopAsync("leases", Options.LeaseRenewInterval, LeaseRoundAsync)));
            _background.Add(Task.Run(() => LoopAsync("reminders", Options.ReminderPollInterval, ct2 => _reminders.PollAsync(OwnedShards(), ct2))));
            _background.Add(Task.Run(() => LoopAsync("passivation", PassivationSweepInterval(), _ => { SweepIdle(); return Task.CompletedTask; })));
            _log.LogInformation("actor runtime started: node {Owner}, {Shards} shards, {Types} entity types", Owner, Options.ShardCount, Registry.All.Count());
        }
        catch
        {
            _state = 3;
            _loops.Cancel();
            if (_journal is not null) await _journal.FlushAndStopAsync().ConfigureAwait(false);
            if (_db is not null) await _db.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Lets <see cref="StartAsync"/> be tried again after it failed (database not reachable yet).</summary>
    internal void ResetAfterFailedStart()
    {
        _db = null;
        Interlocked.CompareExchange(ref _state, 0, 3);
    }

    /// <summary>Graceful stop: no new shards, every mailbox drained and entity passivated, writes flushed, leases released.</summary>
    public async Task StopAsync(CancellationToken ct = default)
    {
        if (Interlocked.CompareExchange(ref _state, 2, 1) != 1) return;
        _acquiring = false;
        _log.LogInformation("actor runtime stopping: draining {Entities} entities", ActiveEntityCount);
        var stops = new List<Task>();
        for (var s = 0; s < _shards.Length; s++)
            if (_shards[s] is { } shard) stops.Add(shard.StopAsync(Options.ShutdownTimeout));
        await Task.WhenAll(stops).ConfigureAwait(false);
        _stopping.Cancel();
        await _journal!.FlushAndStopAsync().ConfigureAwait(false);
        _loops.Cancel();
        try { await Task.WhenAll(_background).ConfigureAwait(false); } catch (OperationCanceledException) { }
        try
        {
            var held = Enumerable.Range(0, _shards.Length).Where(s => _shards[s] is not null).ToArray();
            await _leases!.ReleaseAsync(held, ct).ConfigureAwait(false);
            await UnregisterMemberAsync(ct).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            _log.LogWarning(ex, "could not release shard leases; they expire within {Ttl}", Options.LeaseTtl);
        }
        Array.Clear(_shards);
        await _db!.DisposeAsync().ConfigureAwait(false);
        _state = 3;
        _log.LogInformation("actor runtime stopped: node {Owner}", Owner);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _stopping.Dispose();
        _loops.Dispose();
    }

    /// <summary>True if PostgreSQL answers right now.</summary>
    public async Task<bool> CheckDatabaseAsync(CancellationToken ct = default)
    {
        if (_db is null) return false;
        try
        {
            await using var cmd = _db.CreateCommand("SELECT 1");
            await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false);
            return true;
        }
        catch (Exception)
        {
            return false;
        }
    }

    // ------------------------------------------------------------------ messaging

    /// <summary>Fire-and-forget. False when the message was not accepted (mailbox full, shard not active here, not started).</summary>
    public bool Tell(EntityAddress to, object message)
    {
        ArgumentNullException.ThrowIfNull(message);
        try
        {
            Deliver(to, new Envelope(message, EnvelopeKind.User));
            return true;
        }
        catch (ActorRuntimeException)
        {
            return false;
        }
    }

    /// <summary>
    /// Sends <paramref name="message"/> and waits for the entity's reply until <paramref name="timeout"/> (default
    /// <see cref="ActorRuntimeOptions.AskTimeout"/>) or <paramref name="ct"/>. While the shard is moving or starting
    /// the send is retried until the deadline. Throws <see cref="AskTimeoutException"/>, <see cref="MailboxFullException"/>,
    /// <see cref="ShardUnavailableException"/>, <see cref="EntityFailedException"/> or <see cref="OperationCanceledException"/>.
    /// A message whose Ask expired before the entity reached it is dropped, not handled.
    /// </summary>
    public async Task<TReply> AskAsync<TReply>(EntityAddress to, object message, TimeSpan? timeout = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        var wait = timeout ?? Options.AskTimeout;
        if (wait <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(timeout), "an Ask needs a positive deadline");
        var deadline = Environment.TickCount64 + (long)wait.TotalMilliseconds;
        var reply = new TaskCompletionSource<object?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var envelope = new Envelope(message, EnvelopeKind.User) { Reply = reply, DeadlineMs = deadline, Cancellation = ct };

        while (true)
        {
            try
            {
                Deliver(to, envelope);
                break;
            }
            catch (ShardUnavailableException) when (_state == 1 && !ct.IsCancellationRequested && Environment.TickCount64 + 25 < deadline)
            {
                await Task.Delay(25, ct).ConfigureAwait(false);
            }
        }

        object? result;
        try
        {
            var remaining = deadline - Environment.TickCount64;
            result = await reply.Task.WaitAsync(TimeSpan.FromMilliseconds(Math.Max(1, remaining)), ct).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new AskTimeoutException(to, wait);
        }
        return result switch
        {
            TReply typed => typed,
            null when default(TReply) is null => default!,
            _ => throw new InvalidCastException($"{to} replied {result?.GetType().Name ?? "null"} to {message.GetType().Name}, expected {typeof(TReply).Name}"),
        };
    }

    internal void Deliver(EntityAddress to, Envelope envelope)
    {
        var type = Registry.Get(to.Type);
        ArgumentException.ThrowIfNullOrEmpty(to.Id);
        var shardId = Crc16Arc.ShardOf(type.ShardKey(to.Id), Options.ShardCount);
        var shard = Volatile.Read(ref _shards[shardId]);
        if (shard is null)
            // The node-to-node hop goes here: the cluster resolves the shard's owner from the lease table and
            // forwards over HTTP/2. A single node owns every shard once its leases are acquired.
            throw new ShardUnavailableException(shardId, _state == 1 ? "no lease held on this node" : "the actor runtime is not running");
        shard.Enqueue(type, to.Id, envelope);
    }

    internal void DeliverReminder(EntityAddress to, ReminderFired fired) =>
        Deliver(to, new Envelope(fired, EnvelopeKind.Reminder));

    // ------------------------------------------------------------------ shards and leases

    public int[] OwnedShards()
    {
        var owned = new List<int>();
        for (var s = 0; s < _shards.Length; s++)
            if (Volatile.Read(ref _shards[s]) is { State: ShardState.Active }) owned.Add(s);
        return owned.ToArray();
    }

    public int ActiveEntityCount => _shards.Sum(s => s?.Count ?? 0);

    /// <summary>What this node hosts: shard, epoch, live entities.</summary>
    public IReadOnlyList<(int Shard, long Epoch, int Entities)> LocalShards() =>
        _shards.Where(s => s is not null).Select(s => (s!.Id, s.Epoch, s.Count)).ToList();

    private async Task LeaseRoundAsync(CancellationToken ct)
    {
        var held = new List<(int, long)>();
        for (var s = 0; s < _shards.Length; s++)
            if (Volatile.Read(ref _shards[s]) is { State: ShardState.Active } shard) held.Add((s, shard.Epoch));

        var started = Environment.TickCount64;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(Options.LeaseTtl / 2);
        try
        {
            var kept = await _leases!.RenewAsync(held, Options.LeaseTtl, timeout.Token).ConfigureAwait(false);
            Volatile.Write(ref _lastRenewStartMs, started);
            foreach (var (shard, _) in held)
                if (!kept.Contains(shard)) LoseShard(shard, "lease lost to another node");

            if (!_acquiring) return;
            var wanted = Enumerable.Range(0, _shards.Length).Where(s => Volatile.Read(ref _shards[s]) is null).ToArray();
            foreach (var (shard, epoch) in await _leases.AcquireAsync(wanted, Options.LeaseTtl, timeout.Token).ConfigureAwait(false))
            {
                Volatile.Write(ref _shards[shard], new LocalShard(this, shard, epoch));
                _log.LogDebug("shard {Shard} acquired at epoch {Epoch}", shard, epoch);
            }
        }
        catch (Exception) when (held.Count > 0 && Environment.TickCount64 - Volatile.Read(ref _lastRenewStartMs) > Options.LeaseTtl.TotalMilliseconds * 0.9)
        {
            // Could not renew for almost a whole lease: another node may own these shards any moment now.
            for (var s = 0; s < _shards.Length; s++) LoseShard(s, "lease renewal failed for longer than the lease");
            throw;
        }
    }

    private void LoseShard(int shardId, string reason)
    {
        var shard = Interlocked.Exchange(ref _shards[shardId], null);
        if (shard is null) return;
        Metrics.LeasesLost.Increment();
        _log.LogWarning("shard {Shard} (epoch {Epoch}) stopped on node {Owner}: {Reason}", shardId, shard.Epoch, Owner, reason);
        shard.Abort(reason);
    }

    /// <summary>A write was refused by the fence: the lease at that epoch is gone.</summary>
    internal void OnFenced(int shardId, long epoch)
    {
        if (Volatile.Read(ref _shards[shardId]) is { } shard && shard.Epoch == epoch)
            LoseShard(shardId, $"a write at epoch {epoch} was fenced off");
    }

    private async Task RegisterMemberAsync(CancellationToken ct)
    {
        await using var cmd = _db!.CreateCommand($"INSERT INTO {Options.Schema}.members(owner, node_id, address, state) VALUES ($1, $2, $3, 'up') ON CONFLICT (owner) DO UPDATE SET heartbeat_at = now(), state = 'up'");
        cmd.Parameters.AddWithValue(Owner);
        cmd.Parameters.AddWithValue(Options.NodeId);
        cmd.Parameters.AddWithValue(Options.NodeAddress);
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    private async Task UnregisterMemberAsync(CancellationToken ct)
    {
        await using var cmd = _db!.CreateCommand($"DELETE FROM {Options.Schema}.members WHERE owner = $1");
        cmd.Parameters.AddWithValue(Owner);
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    // ------------------------------------------------------------------ background loops

    private async Task LoopAsync(string name, TimeSpan interval, Func<CancellationToken, Task> round)
    {
        var token = _loops.Token;
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(token).ConfigureAwait(false))
            {
                try
                {
                    await round(token).ConfigureAwait(false);
                }
                catch (Exception ex) when (!token.IsCancellationRequested)
                {
                    _log.LogWarning(ex, "{Loop} round failed; retrying in {Interval}", name, interval);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private TimeSpan PassivationSweepInterval()
    {
        var shortest = Registry.All.Select(t => t.PassivateAfter ?? Options.PassivateAfter).Where(t => t > TimeSpan.Zero).DefaultIfEmpty(TimeSpan.FromSeconds(20)).Min();
        var interval = shortest / 4;
        return interval < TimeSpan.FromMilliseconds(50) ? TimeSpan.FromMilliseconds(50) : interval > TimeSpan.FromSeconds(5) ? TimeSpan.FromSeconds(5) : interval;
    }

    private void SweepIdle()
    {
        var now = Environment.TickCount64;
        foreach (var shard in _shards)
        {
            if (shard is not { State: ShardState.Active }) continue;
            foreach (var cell in shard.Cells())
            {
                var idle = cell.Type.PassivateAfter ?? Options.PassivateAfter;
                if (idle <= TimeSpan.Zero || cell.Pending > 0 || now - cell.LastActivityMs < idle.TotalMilliseconds) continue;
                if (cell.Instance is { CanPassivate: false }) continue;
                cell.RequestPassivation();
            }
        }
    }

    private sealed class EmptyServices : IServiceProvider
    {
        public static readonly EmptyServices Instance = new();
        public object? GetService(Type serviceType) => null;
    }
}

internal static partial class RuntimeLog
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "snapshot of {Entity} failed; the journal is complete, recovery replays more")]
    public static partial void LogSnapshotFailed(this ILogger logger, Exception ex, EntityAddress entity);
}
