using System.Globalization;
using System.Text.Json;

namespace OmgServers.Benchmarks;

/// <summary>
/// How fast a match starts, end to end: the real service process on PostgreSQL with the sample as the process image,
/// one deployment with a mode of exactly <c>size</c> players. Matches are made one after the other: <c>size</c> new
/// players join the lobby, all send <c>{"matchmake": mode}</c> at once (the lobby runtime turns each into
/// REQUEST_MATCHMAKING), then each polls every <see cref="Poll"/> until it has seen its RUNTIME_ASSIGNMENT_MESSAGE
/// (MATCH) and the match runtime's greeting <c>{"text":"match"}</c> (its answer to ADD_MATCH_CLIENT: the match
/// process is up, has interchanged, and its reply has come back through the service). Every moment is read on the
/// machine's one clock:
/// <list type="bullet">
/// <item>formed: the match's <c>created</c> in developer get-matchmaker-details, the instant of the matchmaker's step
/// that made it (the same instant as its "match ... with runtime ..." log line, at millisecond precision);</item>
/// <item>request: the end of the last player's interchange call that carried its request;</item>
/// <item>INIT_RUNTIME / ADD_MATCH_CLIENT: the match process's own log lines (output.log, HH:mm:ss.fff UTC);</item>
/// <item>assignment / greeting: the end of the poll call that brought the message to the player.</item>
/// </list>
/// Reported over the measured matches (a first, warm-up match is shown on its own): median, p90 and max of
/// request → formed, formed → every assignment seen, formed → INIT_RUNTIME handled by the match process, formed →
/// every ADD_MATCH_CLIENT handled, and formed → every greeting seen.
/// </summary>
internal static class MatchStartBench
{
    private const string Mode = "duel";
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    private sealed record Sample(double RequestToFormed, double Assigned, double? Init, double? Added, double Greeted, long RuntimeId);

    public static async Task RunAsync(string connection, int matches, int size)
    {
        Console.WriteLine();
        Console.WriteLine($"== Match start (real service process, sample runtime processes; {matches} matches of {size} players, mode {size}..{size}, one at a time, players poll every {Poll.TotalMilliseconds:0} ms) ==");
        if (!File.Exists(LobbyImage.Dll)) throw new InvalidOperationException($"the sample is not built: {LobbyImage.Dll}");

        var environment = LobbyImage.Environment();
        // Players of earlier matches stop polling; they must not be timed out (and deleted) while the next ones are measured.
        environment["OMGSERVERS_CLIENTS_INACTIVE_INTERVAL"] = "5m"; // the most the service allows
        await using var service = await ServiceUnderTest.StartAsync(connection, "matchstart", environment, 16);
        var config = new
        {
            modes = new[] { new { name = Mode, min_players = size, max_players = size, groups = new[] { new { name = "players", min_players = size, max_players = size } } } },
            user_data = new { },
        };
        var deployment = await service.DeployAsync(config, LobbyImage.ImageId);
        var matchmakerId = await MatchmakerOfAsync(service, deployment);
        using var http = PlayerCalls.NewClient(service.Port, 16);

        var warmUp = await OneMatchAsync(service, deployment, http, matchmakerId, size);
        Console.WriteLine($"warm-up match (first match process of the run): request -> formed {warmUp.RequestToFormed:0} ms, formed -> assignments {warmUp.Assigned:0} ms, "
            + $"-> INIT_RUNTIME {Ms(warmUp.Init)}, -> ADD_MATCH_CLIENT {Ms(warmUp.Added)}, -> greetings {warmUp.Greeted:0} ms");

        var samples = new List<Sample>();
        for (var i = 0; i < matches; i++)
        {
            var sample = await OneMatchAsync(service, deployment, http, matchmakerId, size);
            samples.Add(sample);
            Console.WriteLine($"  match {i + 1,2} (runtime {sample.RuntimeId}): request -> formed {sample.RequestToFormed,5:0} ms, formed -> assignments {sample.Assigned,5:0} ms, "
                + $"-> INIT_RUNTIME {Ms(sample.Init),8}, -> ADD_MATCH_CLIENT {Ms(sample.Added),8}, -> greetings {sample.Greeted,5:0} ms");
        }

        Console.WriteLine();
        Console.WriteLine($"{"interval (ms), over " + matches + " matches",-62} {"median",8} {"p90",8} {"max",8}");
        Row("last request accepted -> match formed", samples.Select(s => s.RequestToFormed));
        Row("match formed -> every player saw its MATCH assignment", samples.Select(s => s.Assigned));
        Row("match formed -> match process handled INIT_RUNTIME", samples.Where(s => s.Init is not null).Select(s => s.Init!.Value));
        Row("match formed -> match process handled every ADD_MATCH_CLIENT", samples.Where(s => s.Added is not null).Select(s => s.Added!.Value));
        Row("match formed -> every player saw the match's greeting", samples.Select(s => s.Greeted));
        Row("last request accepted -> every player saw the greeting", samples.Select(s => s.RequestToFormed + s.Greeted));
    }

    /// <summary>A player and every message it has received, with the end of the call that brought each.</summary>
    private sealed class Watched(PlayerState state)
    {
        public PlayerState State { get; } = state;
        public List<(DateTimeOffset At, Incoming Message)> Received { get; } = [];
    }

    /// <summary><paramref name="size"/> new players in the lobby ask for a match together; the moments of its start.</summary>
    private static async Task<Sample> OneMatchAsync(ServiceUnderTest service, Deployment deployment, HttpClient http, long matchmakerId, int size)
    {
        var players = (await service.NewPlayersAsync(deployment, size, size)).Select(p => new Watched(new PlayerState(p.ClientId, p.Token))).ToArray();
        await Task.WhenAll(players.Select(p => PollUntilAsync(service, http, p, m => IsText(m, "welcome"), "the lobby's welcome", TimeSpan.FromMilliseconds(50))));

        // All at once; the request counts as made when the last call carrying one has been answered.
        var accepted = await Task.WhenAll(players.Select(async p =>
        {
            var (_, incoming) = await PlayerCalls.InterchangeAsync(http, PlayerCalls.InterchangePath, p.State, [$$"""{"matchmake":"{{Mode}}"}"""]);
            var at = DateTimeOffset.UtcNow;
            p.Received.AddRange(incoming.Select(m => (at, m)));
            return at;
        }));
        var requested = accepted.Max();

        // Each player polls until it has seen the MATCH assignment and then the match's greeting.
        var seen = await Task.WhenAll(players.Select(async p =>
        {
            var (assigned, assignment) = await PollUntilAsync(service, http, p, m => m.Qualifier == "RUNTIME_ASSIGNMENT_MESSAGE"
                && m.Body.GetProperty("runtime_qualifier").GetString() == "MATCH", "the MATCH assignment", Poll);
            var (greeted, _) = await PollUntilAsync(service, http, p, m => m.Id > assignment.Id && IsText(m, "match"), "the match's greeting", Poll);
            return (Assigned: assigned, Greeted: greeted, RuntimeId: long.Parse(assignment.Body.GetProperty("runtime_id").GetString()!));
        }));
        var runtimeId = seen[0].RuntimeId;
        if (seen.Any(s => s.RuntimeId != runtimeId)) throw new InvalidOperationException($"the players of one request burst got different matches: {string.Join(", ", seen.Select(s => s.RuntimeId))}");

        var formed = await MatchCreatedAsync(service, deployment, matchmakerId, runtimeId);
        var (init, added) = MatchProcessLog(service, runtimeId, formed, players.Length);
        return new Sample(
            (formed - requested).TotalMilliseconds,
            seen.Max(s => (s.Assigned - formed).TotalMilliseconds),
            init is { } i ? (i - formed).TotalMilliseconds : null,
            added is { } a ? (a - formed).TotalMilliseconds : null,
            seen.Max(s => (s.Greeted - formed).TotalMilliseconds),
            runtimeId);
    }

    /// <summary>
    /// The first message (received so far, or by polling every <paramref name="every"/>) that matches, and the end of
    /// the call that brought it.
    /// </summary>
    private static async Task<(DateTimeOffset At, Incoming Message)> PollUntilAsync(ServiceUnderTest service, HttpClient http, Watched player,
        Func<Incoming, bool> match, string what, TimeSpan every)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (true)
        {
            var found = player.Received.FindIndex(r => match(r.Message));
            if (found >= 0) return player.Received[found];
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"client {player.State.ClientId}: no {what} within {Deadline.TotalSeconds:0} s\nservice log tail:\n{service.Tail()}");
            var (_, incoming) = await PlayerCalls.InterchangeAsync(http, PlayerCalls.InterchangePath, player.State);
            var at = DateTimeOffset.UtcNow;
            player.Received.AddRange(incoming.Select(m => (at, m)));
            if (!incoming.Any(match)) await Task.Delay(every);
        }
    }

    private static bool IsText(Incoming message, string text) =>
        message.Qualifier == "SERVER_OUTGOING_MESSAGE" && message.Body.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.Object
        && m.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String && t.GetString() == text;

    private static async Task<long> MatchmakerOfAsync(ServiceUnderTest service, Deployment deployment)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (true)
        {
            var details = await service.PostAsync("developer/request/get-deployment-details", new { tenant = deployment.Tenant, deployment_id = deployment.Id }, deployment.DeveloperToken);
            var refs = details.GetProperty("details").GetProperty("matchmaker_refs");
            if (refs.GetArrayLength() > 0) return long.Parse(refs[0].GetProperty("matchmaker_id").GetString()!);
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the deployment lists no matchmaker");
            await Task.Delay(100);
        }
    }

    /// <summary>The <c>created</c> instant of the match that runs <paramref name="runtimeId"/>, from get-matchmaker-details.</summary>
    private static async Task<DateTimeOffset> MatchCreatedAsync(ServiceUnderTest service, Deployment deployment, long matchmakerId, long runtimeId)
    {
        var details = await service.PostAsync("developer/request/get-matchmaker-details", new { tenant = deployment.Tenant, matchmaker_id = matchmakerId.ToString() }, deployment.DeveloperToken);
        foreach (var match in details.GetProperty("details").GetProperty("matches").EnumerateArray())
            if (match.GetProperty("runtime_id").GetString() == runtimeId.ToString())
                return DateTimeOffset.Parse(match.GetProperty("created").GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
        throw new InvalidOperationException($"match runtime {runtimeId} is not in the matchmaker's details: {details.GetRawText()}");
    }

    /// <summary>
    /// When the match process handled INIT_RUNTIME and the last of <paramref name="players"/> ADD_MATCH_CLIENT: the
    /// sample's own lines in its output.log (found through the process's working directory, a "work" directory beside
    /// it), stamped HH:mm:ss.fff UTC and dated here by the day of <paramref name="near"/>. Nulls when the log is not found.
    /// </summary>
    private static (DateTimeOffset? Init, DateTimeOffset? Added) MatchProcessLog(ServiceUnderTest service, long runtimeId, DateTimeOffset near, int players)
    {
        foreach (var pid in service.RuntimePids())
        {
            try
            {
                var environ = File.ReadAllText($"/proc/{pid}/environ").Split('\0');
                if (!environ.Contains($"OMGSERVERS_RUNTIME_ID={runtimeId}")) continue;
                var cwd = new DirectoryInfo($"/proc/{pid}/cwd").LinkTarget;
                if (cwd is null) continue;
                var log = new[] { Path.Combine(cwd, "output.log"), Path.Combine(cwd, "..", "output.log") }.FirstOrDefault(File.Exists);
                if (log is null) continue;
                var lines = File.ReadAllLines(log);
                DateTimeOffset? At(string line)
                {
                    if (line.Length < 12 || !TimeSpan.TryParseExact(line[..12], @"hh\:mm\:ss\.fff", CultureInfo.InvariantCulture, out var time)) return null;
                    var candidates = new[] { -1, 0, 1 }.Select(d => new DateTimeOffset(near.UtcDateTime.Date.AddDays(d) + time, TimeSpan.Zero));
                    return candidates.MinBy(c => Math.Abs((c - near).Ticks));
                }
                var init = lines.Where(l => l.Contains(" INIT_RUNTIME MATCH ")).Select(At).FirstOrDefault();
                var added = lines.Where(l => l.Contains(" ADD_MATCH_CLIENT ")).Select(At).ToList();
                return (init, added.Count >= players ? added.Max() : null);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Gone meanwhile.
            }
        }
        return (null, null);
    }

    private static string Ms(double? value) => value is { } v ? $"{v:0} ms" : "n/a";

    private static void Row(string name, IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0)
        {
            Console.WriteLine($"{name,-62} {"n/a",8}");
            return;
        }
        double Percentile(double p) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
        Console.WriteLine($"{name,-62} {Percentile(0.5),8:0} {Percentile(0.9),8:0} {sorted[^1],8:0}");
    }
}
