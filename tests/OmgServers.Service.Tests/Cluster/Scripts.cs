using System.Diagnostics;
using System.Text;
using Xunit;

namespace OmgServers.Service.Tests.Cluster;

/// <summary>Runs this repository's bash scripts (omgserversctl.sh, deploy/cluster/local.sh) as child processes.</summary>
public static class Scripts
{
    public sealed record Result(int ExitCode, string Output, string Errors)
    {
        public override string ToString() => $"exit code {ExitCode}\n--- stdout\n{Output}\n--- stderr\n{Errors}";
    }

    /// <summary>The checkout: the directory above the tests that holds OmgServers.Akka.sln.</summary>
    public static string RepositoryRoot { get; } = FindRoot();

    public static string Path(string relative) => System.IO.Path.Combine(RepositoryRoot, relative);

    /// <summary>
    /// bash <paramref name="script"/> <paramref name="arguments"/> in <paramref name="workingDirectory"/>, with the test
    /// runner's OMGSERVERS_* and MSBuild variables removed and <paramref name="environment"/> added. The script is killed
    /// when it runs past <paramref name="timeout"/> (default 60 s).
    /// </summary>
    public static async Task<Result> RunAsync(string script, IEnumerable<string> arguments, string workingDirectory,
        IReadOnlyDictionary<string, string>? environment = null, TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo("bash")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(script);
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        foreach (var name in start.Environment.Keys.Where(k =>
                     k.StartsWith("OMGSERVERS", StringComparison.Ordinal) || k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            start.Environment.Remove(name);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;

        Directory.CreateDirectory(workingDirectory);
        using var process = Process.Start(start)!;
        var output = new StringBuilder();
        var errors = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (errors) errors.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        deadline.CancelAfter(timeout ?? TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: false);
            throw new TimeoutException($"bash {script} {string.Join(' ', arguments)} did not finish in time:\n{output}\n{errors}");
        }

        lock (output) lock (errors) return new Result(process.ExitCode, output.ToString(), errors.ToString());
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "OmgServers.Akka.sln"))) return dir.FullName;
        }

        throw new InvalidOperationException($"OmgServers.Akka.sln not found above {AppContext.BaseDirectory}");
    }
}
