namespace OmgServers.Actors;

/// <summary>A counter that many threads add to.</summary>
public sealed class Counter
{
    private long _value;
    public void Increment() => Interlocked.Increment(ref _value);
    public void Add(long n) => Interlocked.Add(ref _value, n);
    public long Value => Interlocked.Read(ref _value);
}

/// <summary>Counters of what the runtime did since it started (admin endpoints and benchmarks read them).</summary>
public sealed class RuntimeMetrics
{
    public Counter Activations { get; } = new();
    public Counter Passivations { get; } = new();
    public Counter Restarts { get; } = new();
    public Counter MailboxRejections { get; } = new();
    public Counter JournalBatches { get; } = new();
    public Counter JournalEvents { get; } = new();
    public Counter JournalConflicts { get; } = new();
    public Counter Snapshots { get; } = new();
    public Counter RemindersFired { get; } = new();
    public Counter Redeliveries { get; } = new();
    public Counter LeasesLost { get; } = new();
    public Counter Handoffs { get; } = new();
}
