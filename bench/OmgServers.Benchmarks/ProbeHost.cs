using System.Runtime;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using OmgServers.Hosting.Configuration;
using OmgServers.Service;

namespace OmgServers.Benchmarks;

/// <summary>
/// The service, put together exactly as its Program.cs does (<c>AddOmgServers</c>, <c>MapOmgServers</c>), in a child
/// process with the service's runtime settings (server GC, concurrent), plus two endpoints the real binary does not
/// have: GET /bench/gc (the managed heap as the GC sees it) and POST /bench/gc/collect (a full blocking compacting
/// collection, large objects included). The memory benchmark uses it, with <c>--probe</c>, to split the resident set
/// into live managed data, collector slack and the rest.
/// </summary>
internal static class ProbeHost
{
    public const string Mode = "service-probe";

    public static async Task<int> RunAsync(string[] args)
    {
        var settings = OmgServersSettingsLoader.Load(args);
        var builder = WebApplication.CreateBuilder(args);
        builder.AddOmgServers(settings);
        var app = builder.Build();
        app.MapOmgServers();
        app.MapGet("/bench/gc", () => Results.Json(Read()));
        app.MapPost("/bench/gc/collect", () =>
        {
            GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
            GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
            return Results.Json(Read());
        });
        await app.RunAsync();
        return 0;
    }

    private static GcView Read()
    {
        var info = GC.GetGCMemoryInfo(GCKind.Any);
        return new GcView(GC.GetTotalMemory(false), info.HeapSizeBytes, info.FragmentedBytes, info.TotalCommittedBytes, info.PromotedBytes,
            GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2), GCSettings.IsServerGC, GCSettings.LatencyMode.ToString(),
            AppContext.GetData("GCHeapCount")?.ToString());
    }
}

/// <summary>What /bench/gc answers: sizes in bytes as of the last collection (heap, fragmentation, committed).</summary>
internal sealed record GcView(long Allocated, long HeapSize, long Fragmented, long Committed, long Promoted, int Gen0, int Gen1, int Gen2,
    bool ServerGc, string LatencyMode, string? HeapCount);
