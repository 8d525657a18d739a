namespace OmgServers.Actors;

/// <summary>Settings of the actor runtime. Documented defaults live in hocon/omgservers.conf (section omgservers.actors).</summary>
public sealed record ActorRuntimeOptions
{
    /// <summary>Npgsql connection string of the database that holds journal, snapshots, reminders and shard leases.</summary>
    public required string ConnectionString { get; init; }

    /// <summary>Stable name of this node (for example "node-0"). Each start adds a fresh incarnation id to it.</summary>
    public string NodeId { get; init; } = "node-0";

    /// <summary>Address other nodes use to reach this node's cluster port, for example "http://10.0.0.5:8081".
    /// Empty: derived from <see cref="ClusterBindAddress"/> and <see cref="ClusterPort"/>.</summary>
    public string NodeAddress { get; init; } = "";

    /// <summary>The node's public API address (shown to operators; the runtime does not use it).</summary>
    public string ApiAddress { get; init; } = "";

    /// <summary>Port of the node-to-node listener (HTTP/2 without TLS). Zero: no listener, this node cannot be reached by others
    /// (a single-node installation).</summary>
    public int ClusterPort { get; init; }

    /// <summary>Interface the node-to-node listener binds to.</summary>
    public string ClusterBindAddress { get; init; } = "127.0.0.1";

    /// <summary>Shared secret every node sends and checks on node-to-node streams. Empty: no check (keep the cluster port private).</summary>
    public string ClusterSecret { get; init; } = "";

    /// <summary>A node whose heartbeat is older than this is no longer a member (its shards are reassigned). Default: the lease TTL.</summary>
    public TimeSpan? MemberDeadAfter { get; init; }

    /// <summary>How many shards a node hands off at the same time when it leaves or another node joins.</summary>
    public int HandoffConcurrency { get; init; } = 16;

    internal TimeSpan DeadAfter => MemberDeadAfter ?? LeaseTtl;

    internal string AdvertisedAddress => NodeAddress.Length > 0
        ? NodeAddress.TrimEnd('/')
        : ClusterPort > 0 ? $"http://{(ClusterBindAddress == "0.0.0.0" ? "127.0.0.1" : ClusterBindAddress)}:{ClusterPort}" : "";

    /// <summary>Number of shards. Fixed for the life of a database: the runtime refuses to start against a database made with another count.</summary>
    public int ShardCount { get; init; } = 256;

    /// <summary>Schema in PostgreSQL that holds the runtime's tables.</summary>
    public string Schema { get; init; } = "actors";

    /// <summary>Deadline used by callers that do not pass their own.</summary>
    public TimeSpan AskTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Messages an entity's mailbox holds before new ones are refused with <see cref="MailboxFullException"/>.</summary>
    public int MailboxCapacity { get; init; } = 1000;

    /// <summary>An entity that handled no message for this long is stopped (it reactivates from its journal on the next message). Zero: never.</summary>
    public TimeSpan PassivateAfter { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>A snapshot is written after this many events since the last one. Zero: never.</summary>
    public int SnapshotEvery { get; init; } = 100;

    /// <summary>How long a shard lease lasts without renewal. A crashed node's shards are taken over after this long
    /// (plus at most one <see cref="LeaseRenewInterval"/>): it governs the failover time.</summary>
    public TimeSpan LeaseTtl { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How often a node heartbeats, renews its leases, refreshes the shard directory and rebalances.</summary>
    public TimeSpan LeaseRenewInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How often due reminders are looked up.</summary>
    public TimeSpan ReminderPollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Most events in one group commit.</summary>
    public int JournalMaxBatchEvents { get; init; } = 1000;

    /// <summary>Group commits in flight at once (each on its own connection).</summary>
    public int JournalWriters { get; init; } = 4;

    /// <summary>How long a reliable delivery waits for its confirmation before it is sent again.</summary>
    public TimeSpan RedeliveryInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a graceful stop waits for mailboxes to drain before it stops entities anyway.</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(15);

    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(ConnectionString)) throw new ArgumentException("actors: connection string is required");
        if (ShardCount is < 1 or > 65536) throw new ArgumentException("actors.shard-count must be between 1 and 65536");
        if (MailboxCapacity < 1) throw new ArgumentException("actors.mailbox-capacity must be at least 1");
        if (LeaseRenewInterval >= LeaseTtl) throw new ArgumentException("actors.lease-renew-interval must be shorter than actors.lease-ttl");
        if (JournalMaxBatchEvents < 1) throw new ArgumentException("actors.journal-max-batch-events must be at least 1");
        if (JournalWriters < 1) throw new ArgumentException("actors.journal-writers must be at least 1");
        if (ClusterPort is < 0 or > 65535) throw new ArgumentException("actors.cluster-port must be between 0 and 65535");
        if (HandoffConcurrency < 1) throw new ArgumentException("actors.handoff-concurrency must be at least 1");
        if (!System.Net.IPAddress.TryParse(ClusterBindAddress, out _)) throw new ArgumentException("actors.cluster-bind-address must be an IP address");
        if (AskTimeout <= TimeSpan.Zero) throw new ArgumentException("actors.ask-timeout must be positive");
        if (!System.Text.RegularExpressions.Regex.IsMatch(Schema, "^[a-z_][a-z0-9_]*$")) throw new ArgumentException("actors.schema must be a plain lower-case identifier");
    }
}
