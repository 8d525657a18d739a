using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;
using System.Text.Json;
using Xunit;

namespace OmgServers.Service.Tests.Infrastructure;

/// <summary>
/// The real service binary (OmgServers.Service.dll, copied next to the tests) started as a child process with the
/// given OMGSERVERS_* variables, listening on a free loopback port. Output is kept for assertions and diagnostics.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private const int SigTerm = 15;

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly HttpClient _http;

    private ServiceProcess(Process process, int port)
    {
        _process = process;
        Port = port;
        _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10) };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) _output.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) _output.Enqueue("stderr: " + e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public int Port { get; }

    public IReadOnlyList<string> Output => _output.ToArray();

    public bool HasExited => _process.HasExited;

    public static ServiceProcess Start(IReadOnlyDictionary<string, string> environment, string workingDirectory)
    {
        var port = FreePort();
        var dll = Path.Combine(AppContext.BaseDirectory, "OmgServers.Service.dll");
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { dll },
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };

        // Only what the test sets: nothing inherited from the machine or the test runner's own variables.
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("OMGSERVERS_", StringComparison.Ordinal) || k.StartsWith("ASPNETCORE_", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(name);
        }

        start.Environment["OMGSERVERS_SERVER_HOST"] = "127.0.0.1";
        start.Environment["OMGSERVERS_SERVER_PORT"] = port.ToString();
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        Directory.CreateDirectory(workingDirectory);
        return new ServiceProcess(Process.Start(start)!, port);
    }

    public async Task<(HttpStatusCode Status, JsonElement Body)> GetJsonAsync(string path)
    {
        using var response = await _http.GetAsync(path, TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    /// <summary>Waits until GET <paramref name="path"/> answers <paramref name="status"/>; false on timeout or if the process exits.</summary>
    public Task<bool> WaitForStatusAsync(string path, HttpStatusCode status, TimeSpan timeout) =>
        Eventually.TrueAsync(async () =>
        {
            if (_process.HasExited)
            {
                return false;
            }

            try
            {
                using var response = await _http.GetAsync(path, TestContext.Current.CancellationToken);
                return response.StatusCode == status;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, timeout, TimeSpan.FromMilliseconds(100));

    /// <summary>Sends SIGTERM and waits for the exit; returns the exit code.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        if (!_process.HasExited && Kill(_process.Id, SigTerm) != 0)
        {
            throw new InvalidOperationException($"kill -TERM {_process.Id} failed: errno {Marshal.GetLastPInvokeError()}");
        }

        using var deadline = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(deadline.Token);
        return _process.ExitCode;
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(deadline.Token);
        return _process.ExitCode;
    }

    public string Describe() => $"service output:\n{string.Join('\n', Output)}";

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _http.Dispose();
        _process.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
