namespace OmgServers.Sdk;

public enum OmgLogLevel { Debug, Information, Warning, Error }

/// <summary>Where the SDK reports what it does (retries, refreshed tokens, failing handlers). Null: silent.</summary>
public delegate void OmgLog(OmgLogLevel level, string message, Exception? exception);

/// <summary>
/// Settings of <see cref="OmgPlayerClient"/> and <see cref="OmgRuntimeClient"/>, each with its default. The defaults
/// follow the upstream SDKs' cadence (contract 10.1) and stay well inside the server's 30 s inactivity limits.
/// </summary>
public sealed class OmgClientOptions
{
    /// <summary>Wait before the next interchange after a call that carried traffic (messages in or out). 100 ms.</summary>
    public TimeSpan MinInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Longest wait between two interchanges when idle, 1 s. The interchange is also the keep-alive: a runtime or an
    /// assigned client silent for 30 s is treated as gone, so a runtime refuses more than <see cref="MaxRuntimeInterval"/>.
    /// </summary>
    public TimeSpan MaxInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Each idle call multiplies the wait by this, up to <see cref="MaxInterval"/>. 2.</summary>
    public double BackoffFactor { get; init; } = 2.0;

    /// <summary>
    /// How often one incoming message or command is handed to a handler that throws. Until then it is not
    /// acknowledged, so the server returns it and it is retried on the next call (nothing after it is handled
    /// meanwhile, so order holds); after the last failure it is acknowledged and logged as an error. 3.
    /// </summary>
    public int MaxHandlerAttempts { get; init; } = 3;

    /// <summary>Most outgoing messages or commands waiting to be sent; queueing more throws <see cref="OmgQueueFullException"/>. 10 000.</summary>
    public int MaxQueuedOutgoing { get; init; } = 10_000;

    /// <summary>Most outgoing messages or commands sent in one interchange; the rest go in the next one, at once. 1 000.</summary>
    public int MaxOutgoingPerCall { get; init; } = 1_000;

    /// <summary>
    /// Attempts of one HTTP call when the server answers 503 or the network fails (connection refused, reset,
    /// timeout), with exponential backoff between them; the last failure is thrown. 8 (about 20 s in all).
    /// </summary>
    public int MaxAttempts { get; init; } = 8;

    /// <summary>First backoff delay between attempts, doubled each time. 200 ms.</summary>
    public TimeSpan RetryInitialDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Longest backoff delay between attempts. 5 s.</summary>
    public TimeSpan RetryMaxDelay { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// A token is renewed (create-token again) this long before its <c>exp</c>, but never earlier than half-way
    /// through its lifetime. 60 s. A 401 also renews it, once per call.
    /// </summary>
    public TimeSpan TokenRefreshMargin { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// When the loop is cancelled, a call in flight may finish within this time, then one last interchange, also
    /// within this time, sends what is queued and acknowledges what was handled. 2 s.
    /// </summary>
    public TimeSpan StopFlushTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Player only: end <c>RunAsync</c> once a DISCONNECTION_REASON_MESSAGE is handled and acknowledged. True.</summary>
    public bool StopOnDisconnection { get; init; } = true;

    /// <summary>Clock for token expiry.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    public OmgLog? Log { get; init; }

    /// <summary>Largest <see cref="MaxInterval"/> a runtime accepts: a third of the server's 30 s inactivity limit.</summary>
    public static readonly TimeSpan MaxRuntimeInterval = TimeSpan.FromSeconds(10);

    internal void Validate()
    {
        if (MinInterval <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(MinInterval), "must be positive");
        if (MaxInterval < MinInterval) throw new ArgumentOutOfRangeException(nameof(MaxInterval), "must be at least MinInterval");
        if (BackoffFactor < 1) throw new ArgumentOutOfRangeException(nameof(BackoffFactor), "must be at least 1");
        if (MaxHandlerAttempts < 1) throw new ArgumentOutOfRangeException(nameof(MaxHandlerAttempts), "must be at least 1");
        if (MaxQueuedOutgoing < 1) throw new ArgumentOutOfRangeException(nameof(MaxQueuedOutgoing), "must be at least 1");
        if (MaxOutgoingPerCall < 1) throw new ArgumentOutOfRangeException(nameof(MaxOutgoingPerCall), "must be at least 1");
        if (MaxAttempts < 1) throw new ArgumentOutOfRangeException(nameof(MaxAttempts), "must be at least 1");
        if (RetryInitialDelay < TimeSpan.Zero || RetryMaxDelay < RetryInitialDelay) throw new ArgumentOutOfRangeException(nameof(RetryMaxDelay), "need 0 <= RetryInitialDelay <= RetryMaxDelay");
        if (TokenRefreshMargin < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(TokenRefreshMargin), "must not be negative");
    }

    internal void Write(OmgLogLevel level, string message, Exception? exception = null) => Log?.Invoke(level, message, exception);
}

/// <summary>Thrown when queueing past <see cref="OmgClientOptions.MaxQueuedOutgoing"/>.</summary>
public sealed class OmgQueueFullException(int limit)
    : InvalidOperationException($"the outgoing queue holds its limit of {limit}; the interchange loop is not keeping up or not running")
{
    public int Limit { get; } = limit;
}
