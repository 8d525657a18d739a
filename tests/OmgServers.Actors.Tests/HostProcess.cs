using System.Collections.Concurrent;
using System.Diagnostics;

namespace OmgServers.Actors.Tests;

/// <summary>A TestHost process driven over stdin/stdout (see tests/OmgServers.Actors.TestHost/Program.cs).</summary>
public sealed class HostProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly ConcurrentQueue<string> _errors = new();

    private HostProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) _lines.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) _errors.Enqueue(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public static HostProcess Start(string connection, string schema, string node, int leaseTtlMs = 2000, int clusterPort = 0, int shards = 16)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "OmgServers.Actors.TestHost.dll");
        if (!File.Exists(dll)) throw new FileNotFoundException("the test host is built next to the tests", dll);
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { dll, "--connection", connection, "--schema", schema, "--node", node, "--lease-ttl-ms", leaseTtlMs.ToString(),
                     "--cluster-port", clusterPort.ToString(), "--shards", shards.ToString(), "--secret", "test-secret" })
            info.ArgumentList.Add(a);
        return new HostProcess(Process.Start(info)!) { Node = node };
    }

    public int Id => _process.Id;
    public string Node { get; private init; } = "";

    /// <summary>Sends a command and waits for the first new line that matches.</summary>
    public async Task<string> RequestAsync(string command, Func<string, bool> match, TimeSpan timeout)
    {
        var before = _lines.Count;
        Send(command);
        string? found = null;
        await Eventually.HoldsAsync(() => (found = _lines.Skip(before).FirstOrDefault(match)) is not null || _process.HasExited, timeout, $"answer to '{command}' from {Node}");
        return found ?? throw new InvalidOperationException($"{Node} exited ({_process.ExitCode}) before answering '{command}'\n{Errors}");
    }

    public async Task<int[]> ShardsAsync()
    {
        var line = await RequestAsync("shards", l => l.StartsWith("shards "), TimeSpan.FromSeconds(10));
        var parts = line.Split(' ');
        return parts.Length > 2 && parts[2].Length > 0 ? parts[2].Split(',').Select(int.Parse).ToArray() : [];
    }

    public IEnumerable<(string Id, int N)> Acks => _lines.Where(l => l.StartsWith("ack ")).Select(l => l.Split(' ')).Select(p => (p[1], int.Parse(p[2])));
    public IEnumerable<string> Nacks => _lines.Where(l => l.StartsWith("nack "));

    public void Signal(string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, _process.Id.ToString()]);
        kill.WaitForExit();
    }
    public IEnumerable<string> Lines => _lines;
    public string Errors => string.Join('\n', _errors.TakeLast(30));

    public void Send(string command)
    {
        _process.StandardInput.WriteLine(command);
        _process.StandardInput.Flush();
    }

    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan timeout, string what)
    {
        string? found = null;
        try
        {
            await Eventually.HoldsAsync(() => (found = _lines.FirstOrDefault(match)) is not null || _process.HasExited, timeout, what);
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"{ex.Message}; host stderr:\n{Errors}");
        }
        return found ?? throw new InvalidOperationException($"host exited ({_process.ExitCode}) before: {what}\n{Errors}");
    }

    /// <summary>SIGKILL: no shutdown code runs.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit(10_000);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
