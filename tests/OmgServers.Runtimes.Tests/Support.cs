using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace OmgServers.Runtimes.Tests;

/// <summary>
/// A temporary state directory plus /bin/sh scripts used as images. Disposing stops whatever its hosts still run,
/// kills processes registered with <see cref="KillOnDispose"/> and deletes the directory.
/// </summary>
public sealed class Sandbox : IAsyncDisposable
{
    public const string Password = "pw-7f3c9a1e-do-not-leak";
    private readonly List<(ProcessRuntimeHost Host, ProcessHostOptions Options)> _hosts = [];
    private readonly List<int> _pids = [];

    public Sandbox()
    {
        Root = Directory.CreateTempSubdirectory("omgservers-runtimes-").FullName;
        Directory.CreateDirectory(Scripts);
    }

    public string Root { get; }
    public string Scripts => Path.Combine(Root, "scripts");
    public string State => Path.Combine(Root, "state");

    /// <summary>Writes a script and returns an image that runs it with /bin/sh.</summary>
    public ProcessImage Image(string name, string body, Dictionary<string, string>? environment = null)
    {
        var path = Path.Combine(Scripts, name + ".sh");
        File.WriteAllText(path, body.ReplaceLineEndings("\n"));
        return new ProcessImage { Command = "/bin/sh", Arguments = [path], Environment = environment ?? new() };
    }

    public ProcessHostOptions Options(Dictionary<string, ProcessImage> images, string? state = null, string name = "process") => new()
    {
        Name = name,
        StateDirectory = state ?? State,
        Images = images,
        PollInterval = TimeSpan.FromMilliseconds(100),
        StopGracePeriod = TimeSpan.FromSeconds(10),
        MaxLogBytes = 1024 * 1024,
    };

    public ProcessRuntimeHost Host(ProcessHostOptions options, ILogger<ProcessRuntimeHost>? logger = null)
    {
        var host = new ProcessRuntimeHost(options, logger);
        lock (_hosts) _hosts.Add((host, options));
        return host;
    }

    public static RuntimeLaunch Launch(long runtimeId, string image, string qualifier = RuntimeQualifiers.Lobby,
        int cpu = 100, int memory = 512) =>
        new(runtimeId, qualifier, "process:" + image, Password, "http://127.0.0.1:8080", cpu, memory,
            new Dictionary<string, string> { ["com.omgservers.tenant"] = "tenant-1", ["com.omgservers.qualifier"] = qualifier });

    public void KillOnDispose(int pid)
    {
        lock (_pids) _pids.Add(pid);
    }

    /// <summary>
    /// Disposes every host, then adopts and stops whatever still runs in each state directory with a fresh host
    /// (tests dispose hosts on purpose, and a supervisor disposes its hosts without stopping their runtimes).
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        List<(ProcessRuntimeHost Host, ProcessHostOptions Options)> hosts;
        lock (_hosts) hosts = [.. _hosts];
        foreach (var (host, _) in hosts) await host.DisposeAsync();
        foreach (var options in hosts.Select(h => h.Options).DistinctBy(o => o.StateDirectory))
        {
            var cleaner = new ProcessRuntimeHost(new ProcessHostOptions
            {
                Name = options.Name,
                StateDirectory = options.StateDirectory,
                Images = options.Images,
                StopGracePeriod = TimeSpan.FromSeconds(1),
            });
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                foreach (var instance in await cleaner.ListAsync(cts.Token)) await cleaner.StopAsync(instance.RuntimeId, cts.Token);
            }
            finally
            {
                await cleaner.DisposeAsync();
            }
        }
        foreach (var pid in _pids) Proc.KillGroupAndSelf(pid);
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }
}

/// <summary>Reads exits one at a time, each with a deadline.</summary>
public sealed class ExitWatch : IAsyncDisposable
{
    private readonly CancellationTokenSource _cts = new();
    private readonly IAsyncEnumerator<RuntimeExit> _exits;
    private Task<bool>? _pending;

    public ExitWatch(Func<CancellationToken, IAsyncEnumerable<RuntimeExit>> exits) => _exits = exits(_cts.Token).GetAsyncEnumerator();

    public async Task<RuntimeExit> NextAsync(TimeSpan timeout)
    {
        _pending ??= _exits.MoveNextAsync().AsTask();
        if (await Task.WhenAny(_pending, Task.Delay(timeout)) != _pending) throw new TimeoutException($"no runtime exit within {timeout}");
        var more = await _pending;
        _pending = null;
        if (!more) throw new InvalidOperationException("the exit stream ended");
        return _exits.Current;
    }

    public async ValueTask DisposeAsync()
    {
        await _cts.CancelAsync();
        if (_pending is not null)
        {
            try { await _pending; } catch (OperationCanceledException) { }
        }
        await _exits.DisposeAsync();
    }
}

public static class Eventually
{
    /// <summary>Polls a condition until it holds or the deadline passes.</summary>
    public static async Task HoldsAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > timeout) throw new TimeoutException($"not within {timeout}: {what}");
            await Task.Delay(20);
        }
    }

    public static async Task HoldsAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > timeout) throw new TimeoutException($"not within {timeout}: {what}");
            await Task.Delay(20);
        }
    }

    public static async Task<string> LogContainsAsync(string path, string text, TimeSpan timeout)
    {
        var content = "";
        await HoldsAsync(() => (content = Read(path)).Contains(text, StringComparison.Ordinal), timeout, $"'{text}' in {path}");
        return content;
    }

    public static string Read(string path)
    {
        try { return File.ReadAllText(path); }
        catch (IOException) { return ""; }
    }
}

/// <summary>What the tests check in /proc, independently of the library's own reader.</summary>
public static class Proc
{
    private static string[]? Fields(int pid)
    {
        try
        {
            var text = File.ReadAllText($"/proc/{pid}/stat");
            return text[(text.LastIndexOf(')') + 2)..].Split(' ');
        }
        catch (IOException) { return null; }
    }

    /// <summary>Running: present and neither zombie nor dead.</summary>
    public static bool IsRunning(int pid) => Fields(pid) is { } f && f[0] is not ("Z" or "X");

    public static int ProcessGroup(int pid) => int.Parse(Fields(pid)![2]);

    public static ulong StartTicks(int pid) => ulong.Parse(Fields(pid)![19]);

    public static string Environment(int pid) => File.ReadAllText($"/proc/{pid}/environ").Replace('\0', '\n');

    public static string CommandLine(int pid) => File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');

    public static string Limits(int pid) => File.ReadAllText($"/proc/{pid}/limits");

    public static void KillGroupAndSelf(int pid)
    {
        kill(-pid, 9);
        kill(pid, 9);
    }

    public static void Kill(int pid, int signal = 9)
    {
        if (kill(pid, signal) != 0) throw new InvalidOperationException($"kill({pid}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
    }

    /// <summary>Starts a process that leads its own group, like a runtime, but belongs to nobody.</summary>
    public static Process StartStranger()
    {
        var process = Process.Start(new ProcessStartInfo("setsid", ["sleep", "300"]) { UseShellExecute = false })!;
        return process;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);
}

public sealed class CapturingLogger<T> : ILogger<T>
{
    public ConcurrentQueue<(LogLevel Level, string Text)> Entries { get; } = new();

    public IEnumerable<string> Texts => Entries.Select(e => e.Text);

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        var text = formatter(state, exception);
        if (state is IEnumerable<KeyValuePair<string, object?>> values) text += " | " + string.Join(", ", values.Select(v => $"{v.Key}={v.Value}"));
        if (exception is not null) text += " | " + exception;
        Entries.Enqueue((logLevel, text));
    }
}
