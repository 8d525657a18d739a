namespace OmgServers.Sdk.Internal;

/// <summary>
/// The interchange cycle shared by players and runtimes (contract 4): call with the queued outgoing items and the
/// ids handled since the last successful call, hand every new incoming item to the handler once, in id order, then
/// wait and repeat.
/// <list type="bullet">
/// <item>At-least-once delivery: the server returns every item until its id is acknowledged. Ids that were handled
/// are remembered until a response no longer contains them (the server has consumed them); if one comes back
/// (the acknowledgement was lost) it is acknowledged again, not handled again.</item>
/// <item>Handler failures: an item whose handler throws is not acknowledged and the rest of the batch waits, so it
/// is retried first on the next call; after <see cref="OmgClientOptions.MaxHandlerAttempts"/> failures it is
/// acknowledged, logged as an error and skipped.</item>
/// <item>Cadence: <see cref="OmgClientOptions.MinInterval"/> after a call with traffic, growing by
/// <see cref="OmgClientOptions.BackoffFactor"/> per idle call up to <see cref="OmgClientOptions.MaxInterval"/>;
/// queueing an outgoing item wakes the loop at once.</item>
/// </list>
/// The loop is single-threaded: handler calls never overlap. Queueing is thread-safe.
/// </summary>
internal sealed class InterchangeLoop<TIn, TOut>(
    string name,
    OmgClientOptions options,
    Func<TIn, long> idOf,
    Func<TIn, string> describe,
    Func<IReadOnlyList<TIn>, IEnumerable<TIn>> order)
{
    private readonly object _queueGate = new();
    private readonly List<TOut> _queue = [];
    private readonly SemaphoreSlim _wake = new(0, int.MaxValue);
    private readonly List<long> _pendingAcks = [];
    private readonly HashSet<long> _handled = [];
    private readonly Dictionary<long, int> _failures = [];
    private int _running;

    public int QueuedCount
    {
        get { lock (_queueGate) return _queue.Count; }
    }

    public void Enqueue(TOut item)
    {
        lock (_queueGate)
        {
            if (_queue.Count >= options.MaxQueuedOutgoing) throw new OmgQueueFullException(options.MaxQueuedOutgoing);
            _queue.Add(item);
        }
        _wake.Release();
    }

    /// <summary>
    /// Runs until <paramref name="ct"/> is cancelled (then lets a call in flight finish, makes one last best-effort
    /// call that flushes the queue and the acknowledgements, each within <see cref="OmgClientOptions.StopFlushTimeout"/>,
    /// and throws <see cref="OperationCanceledException"/>), until <paramref name="stopRequested"/>
    /// is true with nothing left to send, or until a call fails for good (then throws its exception; queued items
    /// stay queued for a later run).
    /// </summary>
    public async Task RunAsync(
        Func<IReadOnlyList<TOut>, IReadOnlyList<long>, CancellationToken, Task<IReadOnlyList<TIn>>> call,
        Func<TIn, CancellationToken, ValueTask> handle,
        Func<bool> stopRequested,
        CancellationToken ct)
    {
        if (Interlocked.Exchange(ref _running, 1) == 1) throw new InvalidOperationException($"{name}: the interchange loop is already running");
        // A call in flight when the loop is cancelled may finish (within StopFlushTimeout): cutting it off would leave
        // unknown whether the server executed its outgoing items, and sending them again would duplicate them.
        using var callStop = new CancellationTokenSource();
        using var onStop = ct.Register(() => callStop.CancelAfter(options.StopFlushTimeout));
        try
        {
            TimeSpan? delay = null;
            while (true)
            {
                ct.ThrowIfCancellationRequested();
                while (_wake.CurrentCount > 0) _wake.Wait(0);
                var outgoing = TakeOutgoing();
                var acks = _pendingAcks.ToArray();
                IReadOnlyList<TIn> incoming;
                try
                {
                    incoming = await call(outgoing, acks, callStop.Token).ConfigureAwait(false);
                }
                catch
                {
                    ReturnOutgoing(outgoing);
                    throw;
                }
                _pendingAcks.RemoveRange(0, acks.Length);
                ct.ThrowIfCancellationRequested(); // stopping: what came back is handled by a later run

                var fresh = await HandleAsync(incoming, handle, ct).ConfigureAwait(false);
                if (stopRequested() && fresh == 0 && _pendingAcks.Count == 0 && QueuedCount == 0) return;

                var traffic = outgoing.Count > 0 || incoming.Count > 0;
                // 100 ms after traffic (and at the start), then x2 per idle call up to the maximum.
                delay = traffic || delay is null ? options.MinInterval : Min(delay.Value * options.BackoffFactor, options.MaxInterval);
                if (QueuedCount > 0 || (stopRequested() && _pendingAcks.Count > 0)) continue; // more to send: no wait
                await _wake.WaitAsync(delay.Value, ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            await FlushAsync(call).ConfigureAwait(false);
            throw;
        }
        finally
        {
            Volatile.Write(ref _running, 0);
        }
    }

    private async Task<int> HandleAsync(IReadOnlyList<TIn> incoming, Func<TIn, CancellationToken, ValueTask> handle, CancellationToken ct)
    {
        var present = new HashSet<long>(incoming.Select(idOf));
        _handled.RemoveWhere(id => !present.Contains(id)); // acknowledged and no longer returned: consumed
        foreach (var gone in _failures.Keys.Where(id => !present.Contains(id)).ToList()) _failures.Remove(gone);

        var fresh = 0;
        foreach (var item in order(incoming))
        {
            var id = idOf(item);
            if (_handled.Contains(id))
            {
                if (!_pendingAcks.Contains(id)) _pendingAcks.Add(id);
                options.Write(OmgLogLevel.Debug, $"{name}: {describe(item)} came back unacknowledged; acknowledging it again");
                continue;
            }
            fresh++;
            try
            {
                await handle(item, ct).ConfigureAwait(false);
                _failures.Remove(id);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception e)
            {
                var attempts = _failures.GetValueOrDefault(id) + 1;
                if (attempts < options.MaxHandlerAttempts)
                {
                    _failures[id] = attempts;
                    options.Write(OmgLogLevel.Warning, $"{name}: handling {describe(item)} failed (attempt {attempts} of {options.MaxHandlerAttempts}); it stays unacknowledged and is retried on the next call", e);
                    break; // keep the order: nothing after it is handled before it
                }
                _failures.Remove(id);
                options.Write(OmgLogLevel.Error, $"{name}: handling {describe(item)} failed {attempts} times; acknowledging and skipping it", e);
            }
            _handled.Add(id);
            _pendingAcks.Add(id);
        }
        return fresh;
    }

    private async Task FlushAsync(Func<IReadOnlyList<TOut>, IReadOnlyList<long>, CancellationToken, Task<IReadOnlyList<TIn>>> call)
    {
        if (_pendingAcks.Count == 0 && QueuedCount == 0) return;
        using var timeout = new CancellationTokenSource(options.StopFlushTimeout);
        var outgoing = TakeOutgoing();
        var acks = _pendingAcks.ToArray();
        try
        {
            await call(outgoing, acks, timeout.Token).ConfigureAwait(false); // what it returns is handled next run
            _pendingAcks.RemoveRange(0, acks.Length);
            options.Write(OmgLogLevel.Debug, $"{name}: stopped after flushing {outgoing.Count} outgoing and {acks.Length} acknowledgements");
        }
        catch (Exception e)
        {
            ReturnOutgoing(outgoing);
            options.Write(OmgLogLevel.Warning, $"{name}: the last interchange before stopping failed; {outgoing.Count} outgoing stay queued", e);
        }
    }

    private List<TOut> TakeOutgoing()
    {
        lock (_queueGate)
        {
            var count = Math.Min(_queue.Count, options.MaxOutgoingPerCall);
            var taken = _queue.GetRange(0, count);
            _queue.RemoveRange(0, count);
            return taken;
        }
    }

    private void ReturnOutgoing(List<TOut> outgoing)
    {
        if (outgoing.Count == 0) return;
        lock (_queueGate) _queue.InsertRange(0, outgoing);
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
