using System.Text.Json;

namespace OmgServers.Benchmarks;

/// <summary>
/// The sample lobby (samples/OmgServers.Samples.Lobby, built next to this program) as the process image
/// <c>process:sample-lobby</c> of the service, and the version config it ships with.
/// </summary>
internal static class LobbyImage
{
    public const string Name = "sample-lobby";
    public const string ImageId = "process:" + Name;

    public static string Dll => Path.Combine(AppContext.BaseDirectory, "OmgServers.Samples.Lobby.dll");

    /// <summary>The service settings that make <see cref="ImageId"/> start the sample with <c>dotnet</c>.</summary>
    public static Dictionary<string, string> Environment() => new()
    {
        ["OMGSERVERS_RUNTIMES_PROCESS_IMAGES_0__NAME"] = Name,
        ["OMGSERVERS_RUNTIMES_PROCESS_IMAGES_0__COMMAND"] = "dotnet",
        ["OMGSERVERS_RUNTIMES_PROCESS_IMAGES_0__ARGUMENTS"] = Dll,
    };

    /// <summary>The sample's version.json (copied next to this program), or its content if the copy is missing.</summary>
    public static JsonElement VersionConfig()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "version.json");
        var text = File.Exists(path) ? File.ReadAllText(path) : """
            {"modes":[{"name":"death-match","min_players":2,"max_players":8,"groups":[{"name":"players","min_players":2,"max_players":8}]}],"user_data":{}}
            """;
        return JsonDocument.Parse(text).RootElement.Clone();
    }
}
