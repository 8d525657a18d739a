using System.Runtime.InteropServices;

namespace OmgServers.Service.Tests.Lobbies;

/// <summary>
/// What the tests see of live processes through /proc: the service and the runtime processes it starts are found by
/// their environment (only the same user can read it), and signalled by pid. Zombies count as gone.
/// </summary>
public static class ProcessTable
{
    public const int SigKill = 9;
    public const int SigCont = 18;
    public const int SigStop = 19;

    public sealed record Entry(int Pid, string CommandLine, IReadOnlyDictionary<string, string> Environment)
    {
        public string? Variable(string name) => Environment.GetValueOrDefault(name);
    }

    /// <summary>Every live process of this user that <paramref name="match"/> accepts.</summary>
    public static IReadOnlyList<Entry> Find(Func<Entry, bool> match)
    {
        var found = new List<Entry>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid)) continue;
            try
            {
                if (IsZombie(directory)) continue;
                var commandLine = File.ReadAllText(Path.Combine(directory, "cmdline")).Replace('\0', ' ').Trim();
                var environment = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (var pair in File.ReadAllText(Path.Combine(directory, "environ")).Split('\0', StringSplitOptions.RemoveEmptyEntries))
                {
                    var equals = pair.IndexOf('=');
                    if (equals > 0) environment[pair[..equals]] = pair[(equals + 1)..];
                }
                var entry = new Entry(pid, commandLine, environment);
                if (match(entry)) found.Add(entry);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Gone meanwhile, or another user's.
            }
        }
        return found;
    }

    /// <summary>The processes of a runtime: started by the server with OMGSERVERS_RUNTIME_ID (contract 7.1).</summary>
    public static IReadOnlyList<Entry> OfRuntime(long runtimeId) =>
        Find(e => e.Variable("OMGSERVERS_RUNTIME_ID") == runtimeId.ToString());

    /// <summary>Sends <paramref name="signal"/> to <paramref name="pid"/>; false when it is already gone.</summary>
    public static bool Signal(int pid, int signal) => kill(pid, signal) == 0;

    private static bool IsZombie(string directory)
    {
        // Field 3 of stat, after the parenthesised command name (which may itself hold spaces or parentheses).
        var stat = File.ReadAllText(Path.Combine(directory, "stat"));
        var rest = stat[(stat.LastIndexOf(')') + 1)..].TrimStart();
        return rest.Length > 0 && rest[0] is 'Z' or 'X';
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);
}
