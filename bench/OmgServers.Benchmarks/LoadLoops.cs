using System.Diagnostics;

namespace OmgServers.Benchmarks;

/// <summary>What one load run measured: calls per second, latency percentiles, and the CPU the server and this client used.</summary>
internal sealed record LoadResult(double Rate, double P50, double P99, long Count, long Errors, string? FirstError, double ServerCpu, double ClientCpu, double MachineBusy)
{
    /// <summary>Server CPU per call, in microseconds.</summary>
    public double ServerMicrosPerCall => Count == 0 ? 0 : ServerCpu * 1e6 / Rate;

    /// <summary>Server and load client CPU per call, in microseconds: what the rate would be bound by on cores of their own.</summary>
    public double TotalMicrosPerCall => Count == 0 ? 0 : (ServerCpu + ClientCpu) * 1e6 / Rate;

    public string Describe() =>
        $"{Rate,9:N0}/s  p50 {P50,6:0.00} ms  p99 {P99,6:0.00} ms  server CPU {ServerCpu,4:P0} ({ServerMicrosPerCall,5:N1} µs/call)  load client CPU {ClientCpu,4:P0}  machine busy {MachineBusy,4:P0} of {Environment.ProcessorCount} cores"
        + (Errors > 0 ? $"  {Errors:N0} errors, first: {FirstError}" : "");
}

/// <summary>
/// N concurrent loops, each awaiting one call at a time for a fixed duration (a closed loop, as wrk does), with the
/// latency of every call and the CPU time of the server process and of this process over the same interval.
/// </summary>
internal static class LoadLoops
{
    /// <param name="call">One call of loop <c>loop</c>; it returns the latency to record (or null to record none) or throws.</param>
    /// <param name="serverCpu">The server process's CPU time so far.</param>
    public static async Task<LoadResult> RunAsync(TimeSpan duration, int loops, Func<int, Task<double?>> call, Func<TimeSpan> serverCpu)
    {
        using var stop = new CancellationTokenSource(duration);
        var all = new List<double>[loops];
        long errors = 0;
        string? firstError = null;
        var server0 = serverCpu();
        var client0 = Process.GetCurrentProcess().TotalProcessorTime;
        var machine0 = ProcessStats.MachineTicks();
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, loops).Select(loop => Task.Run(async () =>
        {
            var mine = all[loop] = new List<double>(4096);
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    if (await call(loop) is { } latency) mine.Add(latency);
                }
                catch (Exception ex)
                {
                    if (Interlocked.Increment(ref errors) == 1) firstError = ex.Message;
                    await Task.Delay(10);
                }
            }
        })));
        var elapsed = clock.Elapsed;
        var server = (serverCpu() - server0).TotalSeconds / elapsed.TotalSeconds;
        var client = (Process.GetCurrentProcess().TotalProcessorTime - client0).TotalSeconds / elapsed.TotalSeconds;
        var machine1 = ProcessStats.MachineTicks();
        var busy = 1 - (double)(machine1.Idle - machine0.Idle) / Math.Max(1, machine1.Total - machine0.Total);
        var latencies = all.SelectMany(l => l).ToArray();
        Array.Sort(latencies);
        return new LoadResult(latencies.Length / elapsed.TotalSeconds, Percentile(latencies, 0.50), Percentile(latencies, 0.99),
            latencies.Length, errors, firstError, server, client, busy);
    }

    public static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)(sorted.Length * p))];

    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        return sorted.Length == 0 ? double.NaN : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
