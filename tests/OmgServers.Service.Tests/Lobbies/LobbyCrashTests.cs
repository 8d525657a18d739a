using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using FluentAssertions;
using OmgServers.Service.Tests.Infrastructure;
using Xunit;

namespace OmgServers.Service.Tests.Lobbies;

/// <summary>
/// SIGKILL of the service while players and a lobby exchange messages, then a restart on the same database and
/// address: every message the service accepted (200) is still answered, and the game goes on.
/// </summary>
public sealed class LobbyCrashTests(TestPostgres postgres)
{
    private const int Players = 2;
    private const int AcceptedBeforeCrash = 20;
    private const int AcceptedAfterRestart = 10;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    /// <summary>What one player sent: tags the service accepted with a 200, and what happened to the others.</summary>
    private sealed class Traffic(TestPlayer player, string name)
    {
        public TestPlayer Player { get; } = player;
        public ConcurrentQueue<string> Accepted { get; } = new();
        public ConcurrentQueue<string> Refused { get; } = new();

        public async Task RunAsync(CancellationToken stop)
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var tag = $"{name}-{i}";
                try
                {
                    var answer = await Player.SendAsync(new { echo = tag });
                    if (answer.Status == HttpStatusCode.OK) Accepted.Enqueue(tag);
                    else Refused.Enqueue($"{tag}: {(int)answer.Status} {answer.Text}");
                }
                catch (Exception e) when (e is HttpRequestException or JsonException or TaskCanceledException && !stop.IsCancellationRequested)
                {
                    Refused.Enqueue($"{tag}: {e.GetType().Name} {e.Message}");
                }
                try
                {
                    await Task.Delay(50, stop);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }

        public int Answered => Player.Received.Count(m => m.ServerMessage is { ValueKind: JsonValueKind.Object } x && x.TryGetProperty("echo", out _));

        public string[] Unanswered() => Accepted.Where(tag => !Player.Received.Any(m => m.IsReply("echo", tag))).ToArray();

        public bool Disconnected => Player.Received.Any(m => m.Qualifier == "DISCONNECTION_REASON_MESSAGE");
    }

    [Fact]
    public async Task Nothing_accepted_is_lost_when_the_service_is_killed_and_the_game_goes_on_after_the_restart()
    {
        await using var backend = await LobbyBackend.StartAsync(postgres);
        var game = await backend.NewGameAsync();
        var players = new List<TestPlayer>();
        for (var i = 0; i < Players; i++) players.Add(await backend.NewPlayerAsync(game));
        var lobby = await players[0].JoinLobbyAsync();
        foreach (var player in players.Skip(1)) (await player.JoinLobbyAsync()).Should().Be(lobby);
        var lobbyPids = ProcessTable.OfRuntime(lobby).Select(p => p.Pid).ToHashSet();
        lobbyPids.Should().NotBeEmpty();

        var traffic = players.Select((p, i) => new Traffic(p, $"p{i}")).ToList();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var loops = traffic.Select(t => Task.Run(() => t.RunAsync(stop.Token), stop.Token)).ToList();
        try
        {
            (await Eventually.TrueAsync(() => traffic.All(t => t.Accepted.Count >= AcceptedBeforeCrash && t.Answered >= AcceptedBeforeCrash / 2), Deadline))
                .Should().BeTrue($"the players and the lobby exchange echoes\n{backend.Describe()}");

            await backend.KillAndRestartAsync();
            var atRestart = traffic.Select(t => t.Accepted.Count).ToList();
            (await Eventually.TrueAsync(() => traffic.Select((t, i) => t.Accepted.Count - atRestart[i] >= AcceptedAfterRestart || t.Disconnected).All(x => x), Deadline))
                .Should().BeTrue($"the players are served again after the restart\n{string.Join("\n", traffic.SelectMany(t => t.Refused.TakeLast(5)))}\n{backend.Describe()}");
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(loops);
        }

        var log = TestContext.Current.TestOutputHelper;
        foreach (var t in traffic)
            log?.WriteLine($"client {t.Player.ClientId}: {t.Accepted.Count} accepted, {t.Refused.Count} refused (first: {t.Refused.FirstOrDefault()})");

        // Every accepted echo is answered, unless the lobby itself was lost (then its players were told).
        var answered = await Eventually.TrueAsync(async () =>
        {
            foreach (var t in traffic) await t.Player.PollAsync();
            return traffic.All(t => t.Disconnected || t.Unanswered().Length == 0);
        }, Deadline, TimeSpan.FromMilliseconds(200));
        answered.Should().BeTrue("every echo the service accepted comes back: missing " +
                                 string.Join(", ", traffic.SelectMany(t => t.Unanswered().Take(10))) + $"\n{backend.Describe()}");
        foreach (var t in traffic)
        {
            var replies = t.Player.Received.Where(m => m.ServerMessage is { ValueKind: JsonValueKind.Object } x && x.TryGetProperty("echo", out _)).ToList();
            var duplicated = replies.GroupBy(m => m.ServerMessage!.Value.GetProperty("echo").GetString()).Count(g => g.Count() > 1);
            log?.WriteLine($"client {t.Player.ClientId}: {replies.Count} echo replies, {duplicated} tags answered more than once, disconnected: {t.Disconnected}");
            replies.Select(m => m.Id).Should().OnlyHaveUniqueItems();
        }

        var readopted = traffic.All(t => !t.Disconnected);
        if (readopted)
        {
            // The lobby process outlived the service and was adopted by the new one: the same process, the same lobby.
            ProcessTable.OfRuntime(lobby).Select(p => p.Pid).Should().BeEquivalentTo(lobbyPids, "the lobby process survived the backend");
            foreach (var t in traffic) t.Player.CurrentRuntimeId().Should().Be(lobby);
            log?.WriteLine($"lobby {lobby} was re-adopted");
        }
        else
        {
            foreach (var t in traffic.Where(t => t.Disconnected))
                t.Player.Received.Single(m => m.Qualifier == "DISCONNECTION_REASON_MESSAGE").Body.GetProperty("reason").GetString().Should().Be("INTERNAL_FAILURE");
            log?.WriteLine($"lobby {lobby} was replaced");
        }

        // The game goes on: connected players still echo, and a newcomer gets a lobby and is answered.
        foreach (var t in traffic.Where(t => !t.Disconnected))
        {
            (await t.Player.SendAsync(new { echo = $"after-{t.Player.ClientId}" })).Ok();
            await t.Player.WaitForReplyAsync("echo", $"after-{t.Player.ClientId}");
        }
        await using var newcomer = await backend.NewPlayerAsync(game);
        var newLobby = await newcomer.JoinLobbyAsync();
        if (readopted) newLobby.Should().Be(lobby, "the adopted lobby still takes players");
        (await newcomer.SendAsync(new { broadcast = "hello-after-restart" })).Ok();
        await newcomer.WaitForReplyAsync("broadcast", "hello-after-restart");
        foreach (var t in traffic.Where(t => !t.Disconnected)) await t.Player.WaitForReplyAsync("broadcast", "hello-after-restart");
        foreach (var player in players) await player.DisposeAsync();
    }
}
