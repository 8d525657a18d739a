using OmgServers.Hosting.Configuration;
using OmgServers.Service;

LoadedSettings settings;
try
{
    settings = OmgServersSettingsLoader.Load(args);
}
catch (Exception e) when (e is SettingsException or HoconParseException)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}

var builder = WebApplication.CreateBuilder(args);
builder.AddOmgServers(settings);

var app = builder.Build();
app.MapOmgServers();

try
{
    await app.RunAsync();
}
catch (OperationCanceledException)
{
    // SIGTERM or Ctrl-C arrived while the host was still starting: a clean stop, not a crash.
}
return Environment.ExitCode;

/// <summary>Entry point type, visible to WebApplicationFactory-based tests.</summary>
public partial class Program;
