using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace OmgServers.Runtimes;

/// <summary>
/// <c>runtime.json</c>: what a later host needs to recognise and stop a runtime. The pid alone is not enough (pids are
/// reused; pid_max can be as low as 32768), so the process start time (field 22 of /proc/&lt;pid&gt;/stat, ticks
/// since boot) and the boot id are kept with it. Holds no password and no environment.
/// </summary>
internal sealed record RuntimeRecord(
    long RuntimeId,
    string HostName,
    string ImageId,
    string Qualifier,
    int Pid,
    ulong ProcessStartTicks,
    string BootId,
    DateTimeOffset StartedAt,
    int CpuLimitMillicores,
    int MemoryLimitMegabytes,
    string MemoryLimitEnforcement,
    IReadOnlyDictionary<string, string> Labels)
{
    public IReadOnlyDictionary<string, string> Labels { get; init; } = Labels ?? new Dictionary<string, string>();

    public RuntimeInstance ToInstance() => new(RuntimeId, HostName, ImageId, Pid, StartedAt);
}

/// <summary>The files of one runtime under <c>&lt;state&gt;/runtimes/&lt;id&gt;/</c>.</summary>
internal static class RuntimeFiles
{
    public const string RecordFileName = "runtime.json";
    public const string LogFileName = "output.log";
    public const string RotatedLogFileName = "output.log.1";
    public const string WorkDirectoryName = "work";

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    /// <summary>Writes atomically (temp file + rename), so a crash never leaves half a record.</summary>
    public static void WriteRecord(string directory, RuntimeRecord record)
    {
        var path = Path.Combine(directory, RecordFileName);
        var temp = path + ".tmp";
        File.WriteAllBytes(temp, JsonSerializer.SerializeToUtf8Bytes(record, Json));
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>The record, or <c>null</c> with a reason when it is missing or unreadable.</summary>
    public static RuntimeRecord? ReadRecord(string directory, out string? problem)
    {
        problem = null;
        try
        {
            var record = JsonSerializer.Deserialize<RuntimeRecord>(File.ReadAllBytes(Path.Combine(directory, RecordFileName)), Json);
            if (record is null || record.Pid <= 1) problem = "runtime.json holds no valid pid";
            else if (record.ImageId is null || record.Qualifier is null || record.BootId is null || record.HostName is null)
                problem = "runtime.json lacks image_id, qualifier, boot_id or host_name";
            return problem is null ? record : null;
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            problem = $"runtime.json is unreadable: {e.Message}";
            return null;
        }
    }

    public static void DeleteRecord(string directory)
    {
        File.Delete(Path.Combine(directory, RecordFileName));
        File.Delete(Path.Combine(directory, RecordFileName + ".tmp"));
    }

    /// <summary>
    /// Keeps the runtime's output within <paramref name="maxBytes"/>: once <c>output.log</c> holds more than half,
    /// its last half-budget goes to <c>output.log.1</c> and <c>output.log</c> is truncated in place ("copytruncate").
    /// The runtime opened the file with O_APPEND, so its next write lands at the new end, not at the old offset.
    /// What it writes between the copy and the truncation is lost; that window is a few system calls long.
    /// (A pipe through the backend would bound strictly but break the runtime when the backend restarts.)
    /// Returns whether it rotated.
    /// </summary>
    public static bool BoundLog(string directory, long maxBytes)
    {
        var log = Path.Combine(directory, LogFileName);
        var half = maxBytes / 2;
        var info = new FileInfo(log);
        if (!info.Exists || info.Length <= half) return false;

        var rotated = Path.Combine(directory, RotatedLogFileName);
        var temp = rotated + ".tmp";
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            using var source = new FileStream(log, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete, 1);
            var length = source.Length;
            var keep = Math.Min(half, length);
            source.Seek(length - keep, SeekOrigin.Begin);
            using (var target = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1))
            {
                while (keep > 0)
                {
                    var read = source.Read(buffer, 0, (int)Math.Min(buffer.Length, keep));
                    if (read == 0) break;
                    target.Write(buffer, 0, read);
                    keep -= read;
                }
            }
            // Rename before truncating: at every moment the latest output is in output.log or output.log.1.
            File.Move(temp, rotated, overwrite: true);
            source.SetLength(0);
            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
