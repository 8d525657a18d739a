using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using OmgServers.Actors.Cluster;
using OmgServers.Actors.Persistence;
using OmgServers.Actors.Sharding;

namespace OmgServers.Actors;

/// <summary>
/// The actor runtime of one node: routes messages by shard to the entities this node hosts or, over the node-to-node
/// stream, to the node that holds the shard's lease; keeps its membership heartbeat and shard leases; rebalances
/// shards by rendezvous hashing over the live members (handing off: drain, flush, release); runs the journal's group
/// commits, fires due reminders and passivates idle entities.
/// Start with <see cref="StartAsync"/>; stop gracefully with <see cref="StopAsync"/> (drains mailboxes, flushes writes,
/// releases leases so other nodes take the shards at once).
/// </summary>
public sealed class ActorRuntime : IAsyncDisposable
{
    private readonly LocalShard?[] _shards;
    private readonly ILogger _log;
    private CancellationTokenSource _stopping = new();
    private CancellationTokenSource _loops = new();
    private readonly ConcurrentDictionary<int, byte> _handingOff = new();
    private readonly SemaphoreSlim _handoffGate;
    private readonly List<Task> _background = new();
    private NpgsqlDataSource? _db;
    private ShardLeases? _leases;
    private Membership? _membership;
    private Journal? _journal;
    private Reminders? _reminders;
    private WireSerializer? _wire;
    private NodeTransport? _transport;
    private ClusterServer? _server;
    private volatile IReadOnlyList<Member> _members = [];
    private volatile bool _acquiring = true;
    private long _lastRenewStartMs;
    private long _lastDirectoryRefreshMs;
    private int _directoryRefreshing;
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
        Directory = new ShardDirectory(options.ShardCount);
        _handoffGate = new SemaphoreSlim(options.HandoffConcurrency);
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

    /// <summary>Who holds which shard, as of the last refresh (every <see cref="ActorRuntimeOptions.LeaseRenewInterval"/>).</summary>
    public ShardDirectory Directory { get; }

    /// <summary>The live members as of the last heartbeat.</summary>
    public IReadOnlyList<Member> Members => _members;

    public JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web);

    /// <summary>True once started and every shard is held here or by a live node this one can reach: every entity can be served.</summary>
    public bool IsReady
    {
        get
        {
            if (_state != 1) return false;
            for (var s = 0; s < _shards.Length; s++)
            {
                if (IsLocalActive(s)) continue;
                if (Directory[s] is { Address.Length: > 0 } e && e.Owner != Owner) continue; // served by a reachable node
                return false;
            }
            return true;
        }
    }

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
            _wire = new WireSerializer(Registry, Json);
            _transport = new NodeTransport(_wire, Options.ClusterSecret, _log);
            if (Options.ClusterPort > 0)
            {
                _server = new ClusterServer(this, _wire, _log);
                await _server.StartAsync(Options.ClusterBindAddress, Options.ClusterPort, ct).ConfigureAwait(false);
            }
            await RegisterMemberAsync(ct).ConfigureAwait(false);
            _membership = new Membership(_db, Options.Schema, Owner);
            _leases = new ShardLeases(_db, Options.Schema, Owner, Options.ShardCount);
            _journal = new Journal(_db, Options.Schema, Owner, Options.JournalMaxBatchEvents, Options.JournalWriters, _log, Metrics, OnFenced);
            _reminders = new Reminders(_db, Options.Schema, this, _log);

            try
            {
                await LeaseRoundAsync(ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                // The first round ran past its deadline (a slow or overloaded database): start anyway; the lease loop
                // below acquires the shards on its next round.
                _log.LogWarning("actor runtime: the first lease round timed out; shards follow with the next round");
            }
            _log.LogInformation("actor runtime started: node {Owner} at {Address}, holds {Owned} of {Total} shards, {Members} live members",
                Owner, Options.AdvertisedAddress.Length > 0 ? Options.AdvertisedAddress : "(no cluster port)", OwnedShardCount, Options.ShardCount, _members.Count);
            _background.Add(Task.Run(() => LoopAsync("leases", Options.LeaseRenewInterval, LeaseRoundAsync)));
            _background.Add(Task.Run(() => LoopAsync("reminders", Options.ReminderPollInterval, ct2 => _reminders.PollAsync(OwnedShards(), ct2))));
            _background.Add(Task.Run(() => LoopAsync("passivation", PassivationSweepInterval(), _ => { SweepIdle(); return Task.CompletedTask; })));
            _background.Add(Task.Run(() => LoopAsync("membership-prune", TimeSpan.FromMinutes(5), ct2 => _membership.PruneAsync(ct2))));
        }
        catch
        {
            _state = 3;
            _loops.Cancel();
            if (_journal is not null) await _journal.FlushAndStopAsync().ConfigureAwait(false);
            if (_server is not null) await _server.DisposeAsync().ConfigureAwait(false);
            if (_transport is not null) await _transport.DisposeAsync().ConfigureAwait(false);
            if (_db is not null) await _db.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Lets <see cref="StartAsync"/> be tried again after it failed (database not reachable yet).</summary>
    internal void ResetAfterFailedStart()
    {
        _db = null;
        _journal = null;
        _server = null;
        _transport = null;
        _background.Clear();
        // The failed attempt cancelled these: a retry needs live ones, or its background loops (leases!) end at once.
        _loops.Dispose();
        _loops = new CancellationTokenSource();
        _stopping.Dispose();
        _stopping = new CancellationTokenSource();
        Interlocked.CompareExchange(ref _state, 0, 3);
    }

    /// <summary>Graceful stop: no new shards, every mailbox drained and entity passivated, writes flushed, leases released.</summary>
    public async Task StopAsync(CancellationToken ct = default)
    {
        if (Interlocked.CompareExchange(ref _state, 2, 1) != 1) return;
        _acquiring = false;
        _log.LogInformation("actor runtime stopping: draining {Entities} entities in {Shards} shards", ActiveEntityCount, OwnedShardCount);
        try { await _membership!.SetStateAsync(Options.NodeId, Member.Leaving, Options.DeadAfter, ct).ConfigureAwait(false); } catch (Exception) { }
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
        if (_server is not null) await _server.DisposeAsync().ConfigureAwait(false);
        await _transport!.DisposeAsync().ConfigureAwait(false);
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

    /// <summary>Fire-and-forget, to a local or remote entity. False when the message was certainly not accepted.</summary>
    public bool Tell(EntityAddress to, object message)
    {
        ArgumentNullException.ThrowIfNull(message);
        try
        {
            var type = Registry.Get(to.Type);
            var (shardId, local) = Route(type, to);
            if (local is not null)
            {
                local.Enqueue(type, to.Id, new Envelope(message, EnvelopeKind.User));
                return true;
            }
            return Directory[shardId] is { Address.Length: > 0 } remote && remote.Owner != Owner && _transport!.Tell(remote.Address, to, message);
        }
        catch (ActorRuntimeException)
        {
            return false;
        }
    }

    /// <summary>
    /// Sends <paramref name="message"/> and waits for the entity's reply until <paramref name="timeout"/> (default
    /// <see cref="ActorRuntimeOptions.AskTimeout"/>) or <paramref name="ct"/>, wherever the entity lives. While its shard
    /// is starting or moving the send is retried until the deadline (only when the message was certainly not handled).
    /// Throws <see cref="AskTimeoutException"/>, <see cref="MailboxFullException"/>, <see cref="ShardUnavailableException"/>,
    /// <see cref="EntityFailedException"/>, <see cref="NodeUnreachableException"/> or <see cref="OperationCanceledException"/>.
    /// A message whose Ask expired before the entity reached it is dropped, not handled.
    /// </summary>
    public async Task<TReply> AskAsync<TReply>(EntityAddress to, object message, TimeSpan? timeout = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        var wait = timeout ?? Options.AskTimeout;
        if (wait <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(timeout), "an Ask needs a positive deadline");
        var deadline = Environment.TickCount64 + (long)wait.TotalMilliseconds;
        var type = Registry.Get(to.Type);
        ArgumentException.ThrowIfNullOrEmpty(to.Id);

        while (true)
        {
            try
            {
                var result = await AskOnceAsync(to, type, message, deadline, ct).ConfigureAwait(false);
                return result switch
                {
                    TReply typed => typed,
                    null when default(TReply) is null => default!,
                    _ => throw new InvalidCastException($"{to} replied {result?.GetType().Name ?? "null"} to {message.GetType().Name}, expected {typeof(TReply).Name}"),
                };
            }
            catch (ShardUnavailableException) when (_state == 1 && !ct.IsCancellationRequested && Environment.TickCount64 + 25 < deadline)
            {
                // Not handled anywhere (starting, moving, or the directory is stale): look again shortly.
                RequestDirectoryRefresh();
                await Task.Delay(25, ct).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                throw new AskTimeoutException(to, wait);
            }
        }
    }

    private async Task<object?> AskOnceAsync(EntityAddress to, EntityType type, object message, long deadline, CancellationToken ct)
    {
        var remaining = TimeSpan.FromMilliseconds(Math.Max(1, deadline - Environment.TickCount64));
        var (shardId, local) = Route(type, to);
        if (local is not null)
        {
            var reply = new TaskCompletionSource<object?>(TaskCreationOptions.RunContinuationsAsynchronously);
            local.Enqueue(type, to.Id, new Envelope(message, EnvelopeKind.User) { Reply = reply, DeadlineMs = deadline, Cancellation = ct });
            return await reply.Task.WaitAsync(remaining, ct).ConfigureAwait(false);
        }
        if (Directory[shardId] is { Address.Length: > 0 } remote && remote.Owner != Owner && _transport is not null)
            return await _transport.AskAsync(remote.Address, to, message, remaining, ct).ConfigureAwait(false);
        throw new ShardUnavailableException(shardId, _state == 1 ? "no live node holds this shard right now" : "the actor runtime is not running");
    }

    /// <summary>Asks an entity of a shard this node holds; never forwards (the node-to-node server uses it).</summary>
    internal async Task<object?> AskLocalAsync(EntityAddress to, object message, TimeSpan timeout)
    {
        var type = Registry.Get(to.Type);
        var shardId = Crc16Arc.ShardOf(type.ShardKey(to.Id), Options.ShardCount);
        var local = LocalActive(shardId) ?? throw new ShardUnavailableException(shardId, $"not held by {Owner}");
        var reply = new TaskCompletionSource<object?>(TaskCreationOptions.RunContinuationsAsynchronously);
        local.Enqueue(type, to.Id, new Envelope(message, EnvelopeKind.User) { Reply = reply, DeadlineMs = Environment.TickCount64 + (long)timeout.TotalMilliseconds });
        try
        {
            return await reply.Task.WaitAsync(timeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new AskTimeoutException(to, timeout);
        }
    }

    internal bool TellLocal(EntityAddress to, object message)
    {
        try
        {
            var type = Registry.Get(to.Type);
            var local = LocalActive(Crc16Arc.ShardOf(type.ShardKey(to.Id), Options.ShardCount));
            if (local is null) return false;
            local.Enqueue(type, to.Id, new Envelope(message, EnvelopeKind.User));
            return true;
        }
        catch (ActorRuntimeException)
        {
            return false;
        }
    }

    /// <summary>The shard of <paramref name="to"/> and its local shard if this node serves it (the caller resolved the type once).</summary>
    private (int Shard, LocalShard? Local) Route(EntityType type, EntityAddress to)
    {
        ArgumentException.ThrowIfNullOrEmpty(to.Id);
        var shardId = Crc16Arc.ShardOf(type.ShardKey(to.Id), Options.ShardCount);
        var local = Volatile.Read(ref _shards[shardId]);
        if (local is not null && local.State != ShardState.Active)
            throw new ShardUnavailableException(shardId, "shard is being handed off");
        return (shardId, local is not null && local.IsValid ? local : null);
    }

    internal void DeliverReminder(EntityAddress to, ReminderFired fired)
    {
        var type = Registry.Get(to.Type);
        var shardId = Crc16Arc.ShardOf(type.ShardKey(to.Id), Options.ShardCount);
        var local = LocalActive(shardId) ?? throw new ShardUnavailableException(shardId, "not held here");
        local.Enqueue(type, to.Id, new Envelope(fired, EnvelopeKind.Reminder));
    }

    private LocalShard? LocalActive(int shard) => Volatile.Read(ref _shards[shard]) is { State: ShardState.Active, IsValid: true } s ? s : null;

    private bool IsLocalActive(int shard) => LocalActive(shard) is not null;

    // ------------------------------------------------------------------ shards, leases, membership

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

    /// <summary>Every member row (live or not) and the shards each live owner holds: the operator's view of the cluster.</summary>
    public async Task<ClusterView> GetClusterViewAsync(CancellationToken ct = default)
    {
        var members = await _membership!.AllAsync(ct).ConfigureAwait(false);
        var directory = await _leases!.DirectoryAsync(ct).ConfigureAwait(false);
        var byOwner = new Dictionary<string, List<int>>();
        for (var s = 0; s < directory.Length; s++)
            if (directory[s] is { } e) (byOwner.TryGetValue(e.Owner, out var l) ? l : byOwner[e.Owner] = new()).Add(s);
        var liveOwners = _members.Select(m => m.Owner).ToHashSet();
        return new ClusterView(Options.ShardCount, Owner,
            members.Select(m => new ClusterView.Node(m.NodeId, m.Owner, m.Address, m.ApiAddress, liveOwners.Contains(m.Owner) ? m.State : "dead", m.StartedAt, m.HeartbeatAt,
                byOwner.TryGetValue(m.Owner, out var shards) ? shards : [])).ToList(),
            directory.Count(e => e is null));
    }

    /// <summary>Drain ("leaving": its shards move to the other nodes) or undrain ("up") a node; false if no live node has that id.</summary>
    public async Task<bool> SetNodeStateAsync(string nodeId, bool draining, CancellationToken ct = default) =>
        await _membership!.SetStateAsync(nodeId, draining ? Member.Leaving : Member.Up, Options.DeadAfter, ct).ConfigureAwait(false) > 0;

    private async Task LeaseRoundAsync(CancellationToken ct)
    {
        var held = new List<(int, long)>();
        for (var s = 0; s < _shards.Length; s++)
            if (Volatile.Read(ref _shards[s]) is { } shard && !_handingOff.ContainsKey(s)) held.Add((s, shard.Epoch));

        var started = Environment.TickCount64;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(Options.LeaseTtl / 2);
        try
        {
            var members = await _membership!.HeartbeatAsync(Options.DeadAfter, timeout.Token).ConfigureAwait(false);
            var me = members.FirstOrDefault(m => m.Owner == Owner);
            if (me is null && _state == 1)
            {
                await RegisterMemberAsync(timeout.Token).ConfigureAwait(false);
                members = await _membership.HeartbeatAsync(Options.DeadAfter, timeout.Token).ConfigureAwait(false);
                me = members.FirstOrDefault(m => m.Owner == Owner);
            }
            _members = members;

            var kept = await _leases!.RenewAsync(held, Options.LeaseTtl, timeout.Token).ConfigureAwait(false);
            Volatile.Write(ref _lastRenewStartMs, started);
            var validUntil = started + (long)(Options.LeaseTtl.TotalMilliseconds * 0.9);
            foreach (var (shard, _) in held)
            {
                if (kept.Contains(shard) && Volatile.Read(ref _shards[shard]) is { } local) local.ValidUntilMs = validUntil;
                else LoseShard(shard, "lease lost to another node");
            }

            if (_acquiring)
            {
                var candidates = members.Where(m => m.IsUp).ToList();
                var wanted = new List<int>();
                for (var s = 0; s < _shards.Length; s++)
                {
                    var winner = Rendezvous.Winner(s, candidates);
                    var local = Volatile.Read(ref _shards[s]);
                    if (local is not null)
                    {
                        if (winner is not null && winner != Owner && local.State == ShardState.Active && _handingOff.TryAdd(s, 0))
                            _ = HandOffAsync(s, local, winner);
                    }
                    else if (winner == Owner || (winner is null && me is { IsUp: true }))
                    {
                        wanted.Add(s);
                    }
                }
                foreach (var (shard, epoch) in await _leases.AcquireAsync(wanted.ToArray(), Options.LeaseTtl, timeout.Token).ConfigureAwait(false))
                {
                    Volatile.Write(ref _shards[shard], new LocalShard(this, shard, epoch) { ValidUntilMs = started + (long)(Options.LeaseTtl.TotalMilliseconds * 0.9) });
                    _log.LogDebug("shard {Shard} acquired at epoch {Epoch}", shard, epoch);
                }
            }
            await RefreshDirectoryAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception) when (held.Count > 0 && Environment.TickCount64 - Volatile.Read(ref _lastRenewStartMs) > Options.LeaseTtl.TotalMilliseconds * 0.9)
        {
            // Could not renew for almost a whole lease: another node may own these shards any moment now.
            for (var s = 0; s < _shards.Length; s++) LoseShard(s, "lease renewal failed for longer than the lease");
            throw;
        }
    }

    /// <summary>Graceful hand-off of one shard to the node that should own it: drain, flush, release.</summary>
    private async Task HandOffAsync(int shardId, LocalShard shard, string to)
    {
        await _handoffGate.WaitAsync().ConfigureAwait(false);
        try
        {
            _log.LogInformation("handing shard {Shard} (epoch {Epoch}, {Entities} entities) over to {To}", shardId, shard.Epoch, shard.Count, to);
            await shard.StopAsync(Options.ShutdownTimeout).ConfigureAwait(false);
            await _leases!.ReleaseAsync([shardId], CancellationToken.None).ConfigureAwait(false);
            Interlocked.CompareExchange(ref _shards[shardId], null, shard);
            Directory.Forget(shardId, Owner);
            Metrics.Handoffs.Increment();
        }
        catch (Exception ex)
        {
            _log.LogWarning(ex, "hand-off of shard {Shard} failed; the lease expires on its own", shardId);
            LoseShard(shardId, "hand-off failed");
        }
        finally
        {
            _handingOff.TryRemove(shardId, out _);
            _handoffGate.Release();
        }
    }

    private async Task RefreshDirectoryAsync(CancellationToken ct)
    {
        var entries = await _leases!.DirectoryAsync(ct).ConfigureAwait(false);
        Directory.Replace(entries);
        Volatile.Write(ref _lastDirectoryRefreshMs, Environment.TickCount64);
    }

    /// <summary>Refreshes the directory soon, at most every 100 ms (after a miss or a "not here" answer).</summary>
    private void RequestDirectoryRefresh()
    {
        if (_state != 1 || Environment.TickCount64 - Volatile.Read(ref _lastDirectoryRefreshMs) < 100) return;
        if (Interlocked.Exchange(ref _directoryRefreshing, 1) == 1) return;
        _ = Task.Run(async () =>
        {
            try { await RefreshDirectoryAsync(_loops.Token).ConfigureAwait(false); }
            catch (Exception ex) { _log.LogDebug(ex, "directory refresh failed"); }
            finally { Volatile.Write(ref _directoryRefreshing, 0); }
        });
    }

    private void LoseShard(int shardId, string reason)
    {
        var shard = Interlocked.Exchange(ref _shards[shardId], null);
        if (shard is null) return;
        Metrics.LeasesLost.Increment();
        Directory.Forget(shardId, Owner);
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
        await using var cmd = _db!.CreateCommand($"INSERT INTO {Options.Schema}.members(owner, node_id, address, api_address, state) VALUES ($1, $2, $3, $4, 'up') ON CONFLICT (owner) DO UPDATE SET heartbeat_at = clock_timestamp()");
        cmd.Parameters.AddWithValue(Owner);
        cmd.Parameters.AddWithValue(Options.NodeId);
        cmd.Parameters.AddWithValue(Options.AdvertisedAddress);
        cmd.Parameters.AddWithValue(Options.ApiAddress);
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

/// <summary>The operator's view: every node known to the membership table and the shards each holds.</summary>
public sealed record ClusterView(int ShardCount, string Self, IReadOnlyList<ClusterView.Node> Nodes, int UnownedShards)
{
    public sealed record Node(string NodeId, string Owner, string Address, string ApiAddress, string State, DateTime StartedAt, DateTime HeartbeatAt, IReadOnlyList<int> Shards);
}

internal static partial class RuntimeLog
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "snapshot of {Entity} failed; the journal is complete, recovery replays more")]
    public static partial void LogSnapshotFailed(this ILogger logger, Exception ex, EntityAddress entity);
}
