using OmgServers.Actors;

namespace OmgServers.Benchmarks;

internal static class Runtimes
{
    /// <summary>A runtime in a fresh schema, started and holding all its shards.</summary>
    public static async Task<ActorRuntime> StartAsync(string connection, Action<EntityRegistryBuilder> entities, Func<ActorRuntimeOptions, ActorRuntimeOptions>? tweak = null, bool waitReady = true)
    {
        var options = new ActorRuntimeOptions
        {
            ConnectionString = connection,
            Schema = "bench_" + Guid.NewGuid().ToString("N")[..8],
            NodeId = "bench",
            PassivateAfter = TimeSpan.Zero,
        };
        var runtime = ActorRuntime.Create(tweak is null ? options : tweak(options), entities);
        await runtime.StartAsync();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (waitReady && !runtime.IsReady)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("runtime did not take its shards");
            await Task.Delay(20);
        }
        return runtime;
    }
}
