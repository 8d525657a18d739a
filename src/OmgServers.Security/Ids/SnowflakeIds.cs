using System.Diagnostics;

namespace OmgServers.Security;

/// <summary>
/// The contract's 63-bit ids (6.3, Jan-2025 layout, as deployed upstream):
/// <c>id = (ms_since_epoch &lt;&lt; 24) | (instance_id &lt;&lt; 12) | sequence</c>, epoch 1 690 056 599 000 ms
/// (2023-07-22T20:09:59Z), 10-bit instance (0..1023), 12-bit sequence, bits 22-23 always zero.
/// </summary>
/// <remarks>
/// <para>Thread-safe and strictly increasing per instance. Deviations from upstream, both fixes of upstream
/// defects: when the wall clock goes backwards the last timestamp is kept and the sequence keeps advancing (upstream
/// restarted the sequence and could repeat an id); when the 4096 ids of a millisecond are used up, the call waits
/// for the clock to reach the next millisecond instead of failing, and only throws
/// <see cref="IdGeneratorFailedException"/> (<c>ID_GENERATOR_FAILED</c>) if that wait exceeds the limit (1 s by
/// default), for example after a large backwards clock jump.</para>
/// <para>Capacity: 4 096 000 ids per second per instance. The 39 bits left for the timestamp last until
/// 2040-12-22 (epoch + 2^39 ms); after that the generator throws.</para>
/// </remarks>
public sealed class SnowflakeIds
{
    public const long EpochUnixMilliseconds = 1_690_056_599_000;
    public const int TimestampShift = 24;
    public const int InstanceShift = 12;
    public const int MaxInstanceId = 1023;
    public const int MaxSequence = 4095;
    public const long MaxTimestamp = (1L << (63 - TimestampShift)) - 1;

    public static readonly TimeSpan DefaultMaxClockWait = TimeSpan.FromSeconds(1);

    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly TimeSpan _maxClockWait;
    private readonly long _instanceBits;
    private long _lastTimestamp = -1;
    private int _sequence;

    /// <param name="instanceId">0..1023 (<c>OMGSERVERS_SERVER_INSTANCE_ID</c>, default 0).</param>
    /// <param name="timeProvider">Wall clock; the system clock when null.</param>
    /// <param name="maxClockWait">How long a call may wait for the clock to move on; 1 s when null.</param>
    public SnowflakeIds(int instanceId, TimeProvider? timeProvider = null, TimeSpan? maxClockWait = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(instanceId);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(instanceId, MaxInstanceId);
        InstanceId = instanceId;
        _instanceBits = (long)instanceId << InstanceShift;
        _time = timeProvider ?? TimeProvider.System;
        _maxClockWait = maxClockWait ?? DefaultMaxClockWait;
        ArgumentOutOfRangeException.ThrowIfLessThan(_maxClockWait, TimeSpan.Zero, nameof(maxClockWait));
    }

    public int InstanceId { get; }

    /// <summary>The next id.</summary>
    /// <exception cref="IdGeneratorFailedException">The clock did not reach a usable millisecond in time.</exception>
    public long Next()
    {
        lock (_gate)
        {
            long now = Now();
            if (now > _lastTimestamp || _lastTimestamp < 0) // (the second case: no id yet and a clock before the epoch)
            {
                _lastTimestamp = Usable(now);
                _sequence = 0;
            }
            else if (_sequence < MaxSequence)
            {
                _sequence++; // same millisecond, or the clock went back: stay on the last timestamp
            }
            else
            {
                _lastTimestamp = WaitForNextMillisecond(_lastTimestamp);
                _sequence = 0;
            }
            return (_lastTimestamp << TimestampShift) | _instanceBits | (long)_sequence;
        }
    }

    /// <summary>Splits an id into its parts.</summary>
    public static SnowflakeIdParts Decode(long id)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(id);
        long timestamp = id >> TimestampShift;
        return new SnowflakeIdParts(
            DateTimeOffset.FromUnixTimeMilliseconds(EpochUnixMilliseconds + timestamp),
            (int)((id >> InstanceShift) & MaxInstanceId),
            (int)(id & MaxSequence));
    }

    private long Now() => _time.GetUtcNow().ToUnixTimeMilliseconds() - EpochUnixMilliseconds;

    private static long Usable(long timestamp)
    {
        if (timestamp < 0)
            throw new IdGeneratorFailedException("The clock is before the id epoch (2023-07-22T20:09:59Z).");
        if (timestamp > MaxTimestamp)
            throw new IdGeneratorFailedException("The id timestamp space is exhausted.");
        return timestamp;
    }

    private long WaitForNextMillisecond(long last)
    {
        long started = Stopwatch.GetTimestamp();
        var spinner = new SpinWait();
        while (true)
        {
            long now = Now();
            if (now > last)
                return Usable(now);
            if (Stopwatch.GetElapsedTime(started) > _maxClockWait)
            {
                throw new IdGeneratorFailedException(
                    $"All {MaxSequence + 1} ids of millisecond {last} are used and the clock (at {now}) did not move past it within {_maxClockWait.TotalMilliseconds} ms.");
            }
            spinner.SpinOnce();
        }
    }
}

/// <summary>The fields of a <see cref="SnowflakeIds"/> id.</summary>
public readonly record struct SnowflakeIdParts(DateTimeOffset Timestamp, int InstanceId, int Sequence);

/// <summary>Id generation failed; maps to 500 <c>ID_GENERATOR_FAILED</c> (contract 1.3).</summary>
public sealed class IdGeneratorFailedException : Exception
{
    /// <summary>The contract's <c>ExceptionQualifierEnum</c> value.</summary>
    public const string Qualifier = "ID_GENERATOR_FAILED";

    public IdGeneratorFailedException(string message) : base(message)
    {
    }
}
