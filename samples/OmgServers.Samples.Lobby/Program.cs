using System.Runtime.InteropServices;
using OmgServers.Samples.Lobby;
using OmgServers.Sdk;

// A runtime container's program: settings from OMGSERVERS_* (contract 7.1), then the interchange loop until SIGTERM.
// Exit codes follow the upstream runtime SDK (contract 10.1): 0 stopped by a signal, 1 environment, 2 token, 4 API.

using var stop = new CancellationTokenSource();
using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);

OmgRuntimeSettings settings;
try
{
    settings = OmgRuntimeSettings.FromEnvironment();
}
catch (OmgConfigurationException e)
{
    Console.Error.WriteLine(e.Message);
    return 1;
}

var options = new OmgClientOptions
{
    Log = (level, message, exception) =>
    {
        if (level >= OmgLogLevel.Information) Console.Error.WriteLine($"{level}: {message}{(exception is null ? "" : ": " + exception.Message)}");
    },
};
using var runtime = new OmgRuntimeClient(settings, options: options);
Console.WriteLine($"lobby sample: {settings}");

try
{
    await runtime.CreateTokenAsync(stop.Token);
}
catch (OperationCanceledException) when (stop.IsCancellationRequested)
{
    return 0;
}
catch (Exception e)
{
    Console.Error.WriteLine($"runtime create-token failed: {e.Message}");
    return 2;
}

try
{
    await runtime.RunAsync(new LobbyGame(Console.Out), stop.Token);
    return 0;
}
catch (OperationCanceledException) when (stop.IsCancellationRequested)
{
    Console.WriteLine("lobby sample: stopped");
    return 0;
}
catch (Exception e)
{
    Console.Error.WriteLine($"runtime interchange failed: {e.Message}");
    return 4;
}

void Stop(PosixSignalContext context)
{
    context.Cancel = true; // exit through the normal path, with code 0
    stop.Cancel();
}
