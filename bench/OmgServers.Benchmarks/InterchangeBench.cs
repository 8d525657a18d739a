using System.Diagnostics;
using System.Security.Cryptography;
using OmgServers.Security;

namespace OmgServers.Benchmarks;

/// <summary>
/// Player interchange calls per second and their latency through the real service process (HTTP, token check, JSON,
/// the client entity), next to a bare Kestrel endpoint in its own process that reads and answers the same JSON,
/// driven by the same load client in the same run. Each call carries no outgoing message and acknowledges what the
/// previous call of that player returned, as a polling player does.
/// </summary>
internal static class InterchangeBench
{
    private static readonly TimeSpan WarmUp = TimeSpan.FromSeconds(2);

    public static async Task RunAsync(string connection, int seconds, int players, int loops, int rounds)
    {
        players = Math.Max(players, loops); // a player never has two calls in flight
        Console.WriteLine();
        Console.WriteLine($"== Player interchange (real service process vs bare Kestrel, {loops} concurrent HTTP/1.1 keep-alive loops over {players:N0} players, same load client, {seconds} s each, {rounds} rounds) ==");

        await using var service = await ServiceUnderTest.StartAsync(connection, "interchange", LobbyImage.Environment(), loops);
        var deployment = await service.DeployAsync(LobbyImage.VersionConfig(), LobbyImage.ImageId);
        var clock = Stopwatch.StartNew();
        var created = await service.NewPlayersAsync(deployment, players);
        Console.WriteLine($"set-up: {players:N0} players (create-user, create-token, create-client) in {clock.Elapsed.TotalSeconds:0.0} s");

        // The bare server verifies tokens of a key of its own, issued here for the same user ids.
        using var key = RSA.Create(2048);
        var keyFile = Path.Combine(Path.GetTempPath(), $"omgservers-bench-bare-{Guid.NewGuid():N}.pem");
        await File.WriteAllTextAsync(keyFile, key.ExportSubjectPublicKeyInfoPem());
        using var issuer = new JwtIssuer(key);
        var port = OmgServers.Hosting.EmbeddedPostgres.FindFreeLoopbackPort();
        using var bare = await BareEchoServer.StartAsync(port, keyFile);
        try
        {
            var servicePlayers = created.Select(p => new PlayerState(p.ClientId, p.Token)).ToArray();
            var barePlayers = created.Select((p, i) => new PlayerState(p.ClientId, issuer.IssueUserToken(1000 + i, OmgRoles.Player))).ToArray();
            using var serviceHttp = PlayerCalls.NewClient(service.Port, loops);
            using var bareHttp = PlayerCalls.NewClient(port, loops);

            // Every player acknowledges its welcome message once, so the measured calls are steady-state polls.
            foreach (var player in servicePlayers) await PlayerCalls.InterchangeAsync(serviceHttp, PlayerCalls.InterchangePath, player);

            var targets = new (string Name, HttpClient Http, string Path, PlayerState[] Players, Func<TimeSpan> Cpu)[]
            {
                ("bare Kestrel /echo (same DTOs and JSON options)", bareHttp, "/echo", barePlayers, () => ProcessStats.Cpu(bare.Id)),
                ("bare Kestrel /echo-rs256 (+ RS256 token check)", bareHttp, "/echo-rs256", barePlayers, () => ProcessStats.Cpu(bare.Id)),
                ("service player/interchange", serviceHttp, PlayerCalls.InterchangePath, servicePlayers, service.Cpu),
            };
            var results = targets.Select(_ => new List<LoadResult>()).ToArray();
            for (var round = 0; round < rounds; round++)
            {
                // Alternate the order so that neither side always runs on a warmer or cooler machine.
                var order = round % 2 == 0 ? new[] { 0, 1, 2 } : new[] { 2, 1, 0 };
                foreach (var t in order)
                {
                    var target = targets[t];
                    await MeasureAsync(target.Http, target.Path, target.Players, loops, WarmUp, target.Cpu);
                    var result = await MeasureAsync(target.Http, target.Path, target.Players, loops, TimeSpan.FromSeconds(seconds), target.Cpu);
                    results[t].Add(result);
                    Console.WriteLine($"round {round + 1}  {target.Name,-50} {result.Describe()}");
                }
            }

            var bareRate = LoadLoops.Median(results[0].Select(r => r.Rate));
            var rsaRate = LoadLoops.Median(results[1].Select(r => r.Rate));
            var serviceRate = LoadLoops.Median(results[2].Select(r => r.Rate));
            Console.WriteLine();
            Console.WriteLine($"median of {rounds} rounds: service {serviceRate:N0} calls/s (p50 {LoadLoops.Median(results[2].Select(r => r.P50)):0.00} ms, p99 {LoadLoops.Median(results[2].Select(r => r.P99)):0.00} ms), "
                + $"bare {bareRate:N0} calls/s (p50 {LoadLoops.Median(results[0].Select(r => r.P50)):0.00} ms, p99 {LoadLoops.Median(results[0].Select(r => r.P99)):0.00} ms), bare + RS256 {rsaRate:N0} calls/s");
            Console.WriteLine($"service / bare = {serviceRate / bareRate:0.00}x (goal: at least 0.5x); service / (bare + RS256) = {serviceRate / rsaRate:0.00}x; "
                + $"server CPU per call: service {LoadLoops.Median(results[2].Select(r => r.ServerMicrosPerCall)):N1} µs, bare {LoadLoops.Median(results[0].Select(r => r.ServerMicrosPerCall)):N1} µs, bare + RS256 {LoadLoops.Median(results[1].Select(r => r.ServerMicrosPerCall)):N1} µs");
            // Other processes on a shared machine move the rates; CPU per call moves much less.
            var serviceTotal = LoadLoops.Median(results[2].Select(r => r.TotalMicrosPerCall));
            var bareTotal = LoadLoops.Median(results[0].Select(r => r.TotalMicrosPerCall));
            var rsaTotal = LoadLoops.Median(results[1].Select(r => r.TotalMicrosPerCall));
            Console.WriteLine($"CPU per call, server + load client: service {serviceTotal:N1} µs, bare {bareTotal:N1} µs, bare + RS256 {rsaTotal:N1} µs: "
                + $"on the same cores the service would reach {bareTotal / serviceTotal:0.00}x the bare rate ({rsaTotal / serviceTotal:0.00}x of bare + RS256)");
        }
        finally
        {
            if (!bare.HasExited) { bare.Kill(entireProcessTree: true); await bare.WaitForExitAsync(); }
            File.Delete(keyFile);
        }
    }

    /// <summary>Loop <c>l</c> polls players l, l + loops, l + 2·loops, ... in turn, so no player has two calls in flight.</summary>
    private static Task<LoadResult> MeasureAsync(HttpClient http, string path, PlayerState[] players, int loops, TimeSpan duration, Func<TimeSpan> cpu)
    {
        var turn = new int[loops];
        return LoadLoops.RunAsync(duration, loops, async loop =>
        {
            var mine = (players.Length - loop + loops - 1) / loops;
            if (mine == 0) mine = 1;
            var index = (loop + loops * (turn[loop]++ % mine)) % players.Length;
            var (ms, _) = await PlayerCalls.InterchangeAsync(http, path, players[index]);
            return ms;
        }, cpu);
    }
}
