using System.Text.Json;
using OmgServers.Sdk;
using OmgServers.Contracts.Interchange;

namespace OmgServers.Samples.Lobby;

/// <summary>
/// The sample's game logic, one reaction per command, one line on <paramref name="log"/> per command handled.
/// <list type="bullet">
/// <item>ADD_CLIENT: RESPOND_CLIENT <c>{"text":"welcome"}</c> (<c>{"text":"match"}</c> in a match runtime), with
/// <c>"profile": p</c> added when the player's profile <c>p</c> is not <c>{}</c>.</item>
/// <item>ADD_MATCH_CLIENT: RESPOND_CLIENT <c>{"text":"match"}</c>, with the profile as for ADD_CLIENT; the client's
/// group is remembered until its DELETE_CLIENT.</item>
/// <item>HANDLE_MESSAGE with an object (or a string holding one, as the Defold SDK sends <c>data</c>), for each key
/// present, in this order: <c>echo</c> → RESPOND_CLIENT <c>{"echo": x}</c>; <c>broadcast</c> → BROADCAST_MESSAGE
/// <c>{"broadcast": x}</c>; <c>multicast: {"clients": [ids], "message": x}</c> → MULTICAST_MESSAGE
/// <c>{"multicast": x}</c> to those clients; <c>matchmake</c> (a mode name) → REQUEST_MATCHMAKING; <c>profile</c> →
/// SET_PROFILE; <c>whoami: true</c> → RESPOND_CLIENT <c>{"whoami": {"runtime": "LOBBY"|"MATCH", "group": g}}</c>
/// (g: the client's group from ADD_MATCH_CLIENT, null in a lobby); <c>kick: true</c> → KICK_CLIENT;
/// <c>upgrade: true</c> → UPGRADE_CONNECTION; <c>stop: true</c> in a match → STOP_MATCHMAKING; <c>exit: true</c> →
/// the process exits at once with code 1, without sending what is queued (a crash, for tests). Anything else is
/// logged and ignored.</item>
/// </list>
/// </summary>
/// <param name="exit">Ends the process with a code; <see cref="Environment.Exit"/> unless a test hosts the game in-process.</param>
public sealed class LobbyGame(TextWriter log, Action<int>? exit = null) : OmgRuntimeHandler
{
    private readonly Action<int> _exit = exit ?? Environment.Exit;

    /// <summary>The group of each client ADD_MATCH_CLIENT brought, until its DELETE_CLIENT (commands are handled one at a time).</summary>
    private readonly Dictionary<long, string> _groups = [];

    protected override ValueTask OnInitRuntimeAsync(OmgRuntimeClient runtime, RuntimeConfig config, CancellationToken ct)
    {
        var what = config.MatchConfig is { } match
            ? $"match {match.MatchId} of matchmaker {match.MatchmakerId}"
            : $"lobby {config.LobbyConfig?.LobbyId}";
        var modes = config.VersionConfig?.Modes?.Where(m => m is not null).Select(m => m!.Name) ?? [];
        Log($"INIT_RUNTIME {runtime.Qualifier} {what}, modes [{string.Join(", ", modes)}]");
        return ValueTask.CompletedTask;
    }

    protected override ValueTask OnAddClientAsync(OmgRuntimeClient runtime, AddClientBody body, CancellationToken ct)
    {
        var text = runtime.Qualifier == RuntimeQualifier.MATCH ? "match" : "welcome";
        runtime.RespondClient(body.ClientId, Greeting(text, body.Profile));
        Log($"ADD_CLIENT client {body.ClientId} -> RESPOND_CLIENT text={text}");
        return ValueTask.CompletedTask;
    }

    protected override ValueTask OnAddMatchClientAsync(OmgRuntimeClient runtime, AddMatchClientBody body, CancellationToken ct)
    {
        runtime.RespondClient(body.ClientId, Greeting("match", body.Profile));
        _groups[body.ClientId] = body.GroupName;
        Log($"ADD_MATCH_CLIENT client {body.ClientId} group {body.GroupName} -> RESPOND_CLIENT text=match");
        return ValueTask.CompletedTask;
    }

    /// <summary><c>{"text": text}</c>, plus the profile unless it is the initial <c>{}</c> (so that players can see what was stored).</summary>
    private static Dictionary<string, object> Greeting(string text, JsonElement profile)
    {
        var greeting = new Dictionary<string, object> { ["text"] = text };
        var empty = profile.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null
                    || (profile.ValueKind == JsonValueKind.Object && !profile.EnumerateObject().Any());
        if (!empty) greeting["profile"] = profile;
        return greeting;
    }

    protected override ValueTask OnDeleteClientAsync(OmgRuntimeClient runtime, DeleteClientBody body, CancellationToken ct)
    {
        _groups.Remove(body.ClientId);
        Log($"DELETE_CLIENT client {body.ClientId}");
        return ValueTask.CompletedTask;
    }

    protected override ValueTask OnHandleMessageAsync(OmgRuntimeClient runtime, HandleMessageBody body, CancellationToken ct)
    {
        var reactions = new List<string>();
        if (AsObject(body.Message) is { } message)
        {
            if (message.TryGetProperty("echo", out var echo))
            {
                runtime.RespondClient(body.ClientId, new Dictionary<string, JsonElement> { ["echo"] = echo });
                reactions.Add("RESPOND_CLIENT echo");
            }
            if (message.TryGetProperty("broadcast", out var broadcast))
            {
                runtime.Broadcast(new Dictionary<string, JsonElement> { ["broadcast"] = broadcast });
                reactions.Add("BROADCAST_MESSAGE");
            }
            if (message.TryGetProperty("multicast", out var multicast))
            {
                if (MulticastOf(multicast) is var (clients, payload))
                {
                    runtime.Multicast(clients, new Dictionary<string, JsonElement> { ["multicast"] = payload });
                    reactions.Add($"MULTICAST_MESSAGE to {clients.Count}");
                }
                else
                {
                    reactions.Add("multicast ignored (needs {\"clients\": [ids], \"message\": x})");
                }
            }
            if (message.TryGetProperty("matchmake", out var mode) && mode.ValueKind == JsonValueKind.String && !string.IsNullOrWhiteSpace(mode.GetString()))
            {
                runtime.RequestMatchmaking(body.ClientId, mode.GetString()!);
                reactions.Add($"REQUEST_MATCHMAKING {mode.GetString()}");
            }
            if (message.TryGetProperty("profile", out var profile))
            {
                runtime.SetProfile(body.ClientId, profile);
                reactions.Add("SET_PROFILE");
            }
            if (IsTrue(message, "whoami"))
            {
                var group = _groups.GetValueOrDefault(body.ClientId);
                runtime.RespondClient(body.ClientId, new Dictionary<string, object>
                {
                    ["whoami"] = new Dictionary<string, string?> { ["runtime"] = runtime.Qualifier.ToString(), ["group"] = group },
                });
                reactions.Add($"RESPOND_CLIENT whoami group={group ?? "none"}");
            }
            if (IsTrue(message, "kick"))
            {
                runtime.KickClient(body.ClientId);
                reactions.Add("KICK_CLIENT");
            }
            if (IsTrue(message, "upgrade"))
            {
                runtime.UpgradeConnection(body.ClientId);
                reactions.Add("UPGRADE_CONNECTION");
            }
            if (IsTrue(message, "stop") && runtime.Qualifier == RuntimeQualifier.MATCH)
            {
                runtime.StopMatchmaking();
                reactions.Add("STOP_MATCHMAKING");
            }
            if (IsTrue(message, "exit"))
            {
                Log($"HANDLE_MESSAGE client {body.ClientId} -> {string.Join(", ", reactions.Append("exit 1"))}");
                log.Flush();
                _exit(1);
                return ValueTask.CompletedTask;
            }
        }
        Log($"HANDLE_MESSAGE client {body.ClientId} -> {(reactions.Count == 0 ? "ignored" : string.Join(", ", reactions))}");
        return ValueTask.CompletedTask;
    }

    /// <summary><c>{"clients": [ids], "message": x}</c>: the ids (numbers or numeric strings) and x; null when malformed.</summary>
    private static (List<long> Clients, JsonElement Message)? MulticastOf(JsonElement multicast)
    {
        if (multicast.ValueKind != JsonValueKind.Object
            || !multicast.TryGetProperty("clients", out var ids) || ids.ValueKind != JsonValueKind.Array
            || !multicast.TryGetProperty("message", out var payload))
            return null;
        var clients = new List<long>();
        foreach (var id in ids.EnumerateArray())
        {
            if (id.ValueKind == JsonValueKind.Number && id.TryGetInt64(out var number)) clients.Add(number);
            else if (id.ValueKind == JsonValueKind.String && long.TryParse(id.GetString(), out var parsed)) clients.Add(parsed);
            else return null;
        }
        return (clients, payload);
    }

    /// <summary>The message as an object: itself, or parsed from a string that holds one (the Defold SDK sends strings).</summary>
    private static JsonElement? AsObject(JsonElement message)
    {
        if (message.ValueKind == JsonValueKind.Object) return message;
        if (message.ValueKind != JsonValueKind.String) return null;
        var text = message.GetString();
        if (string.IsNullOrWhiteSpace(text) || text.TrimStart()[0] != '{') return null;
        try
        {
            return Payload.Parse(text);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static bool IsTrue(JsonElement message, string key) =>
        message.TryGetProperty(key, out var value) && value.ValueKind == JsonValueKind.True;

    private void Log(string line) => log.WriteLine($"{DateTimeOffset.UtcNow:HH:mm:ss.fff} {line}");
}
