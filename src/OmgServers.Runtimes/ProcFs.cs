using System.Globalization;
using System.Runtime.InteropServices;

namespace OmgServers.Runtimes;

/// <summary>One line of <c>/proc/&lt;pid&gt;/stat</c>, the fields the host needs.</summary>
internal readonly record struct ProcStat(int Pid, char State, int ParentPid, int ProcessGroup, int Session, ulong StartTicks)
{
    /// <summary>A zombie (ended, not yet reaped) or dead task is no longer running.</summary>
    public bool HasEnded => State is 'Z' or 'X' or 'x';
}

/// <summary>What became of a runtime's leader process, judged by pid, start time and boot id.</summary>
internal enum LeaderState
{
    /// <summary>Our process, running.</summary>
    Alive,
    /// <summary>Our process, ended but not yet reaped by its parent.</summary>
    Zombie,
    /// <summary>No process has that pid.</summary>
    Gone,
    /// <summary>Another process has that pid now (other start time or other boot): never signal it or its group.</summary>
    Reused,
}

/// <summary>Linux process facts from /proc, and kill(2). Linux only, like the process host.</summary>
internal static class ProcFs
{
    public const int SigKill = 9;
    public const int SigTerm = 15;
    private const int Esrch = 3;

    private static readonly Lazy<string> LazyBootId = new(() =>
    {
        try { return File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim(); }
        catch (IOException) { return ""; }
    });

    /// <summary>This boot's id: start times (ticks since boot) only compare within one boot.</summary>
    public static string BootId => LazyBootId.Value;

    public static ProcStat? TryReadStat(int pid)
    {
        if (pid <= 0) return null;
        string text;
        try { text = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat"); }
        catch (IOException) { return null; }           // gone (ENOENT, ESRCH while reading)
        catch (UnauthorizedAccessException) { return null; }
        return Parse(pid, text);
    }

    /// <summary>Parses <c>pid (comm) state ppid pgrp session ... starttime(22) ...</c>; comm may hold spaces and parentheses.</summary>
    internal static ProcStat? Parse(int pid, string text)
    {
        var close = text.LastIndexOf(')');
        if (close < 0 || close + 2 >= text.Length) return null;
        var fields = text[(close + 2)..].Split(' ');
        if (fields.Length < 20 || fields[0].Length != 1) return null;
        if (!int.TryParse(fields[1], CultureInfo.InvariantCulture, out var ppid)
            || !int.TryParse(fields[2], CultureInfo.InvariantCulture, out var pgrp)
            || !int.TryParse(fields[3], CultureInfo.InvariantCulture, out var session)
            || !ulong.TryParse(fields[19], CultureInfo.InvariantCulture, out var start))
            return null;
        return new ProcStat(pid, fields[0][0], ppid, pgrp, session, start);
    }

    /// <summary>Is <paramref name="pid"/> still the process that started at <paramref name="startTicks"/> in boot <paramref name="bootId"/>?</summary>
    public static LeaderState Probe(int pid, ulong startTicks, string bootId)
    {
        var stat = TryReadStat(pid);
        if (stat is null) return LeaderState.Gone;
        if (bootId != BootId || stat.Value.StartTicks != startTicks) return LeaderState.Reused;
        return stat.Value.HasEnded ? LeaderState.Zombie : LeaderState.Alive;
    }

    /// <summary>The running (not zombie) processes of a process group. Scans /proc, so keep it off hot paths.</summary>
    public static List<int> LiveGroupMembers(int processGroup)
    {
        var members = new List<int>();
        IEnumerable<string> entries;
        try { entries = Directory.EnumerateDirectories("/proc"); }
        catch (IOException) { return members; }
        foreach (var entry in entries)
        {
            if (!int.TryParse(Path.GetFileName(entry.AsSpan()), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) continue;
            if (TryReadStat(pid) is { } stat && stat.ProcessGroup == processGroup && !stat.HasEnded) members.Add(pid);
        }
        return members;
    }

    /// <summary>Sends a signal to every process of a group. <c>false</c> when the group has no process left.</summary>
    public static bool SignalGroup(int processGroup, int signal)
    {
        if (processGroup <= 1) throw new ArgumentOutOfRangeException(nameof(processGroup)); // never -1 (everything) or 0 (our own group)
        if (Kill(-processGroup, signal) == 0) return true;
        var errno = Marshal.GetLastPInvokeError();
        if (errno == Esrch) return false;
        throw new IOException($"kill(-{processGroup}, {signal}) failed with errno {errno}");
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
