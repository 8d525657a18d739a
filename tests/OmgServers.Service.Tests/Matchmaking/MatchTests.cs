using System.Text.Json;
using FluentAssertions;
using OmgServers.Service.Tests.Infrastructure;
using OmgServers.Service.Tests.Lobbies;
using Xunit;

namespace OmgServers.Service.Tests.Matchmaking;

/// <summary>The modes of <see cref="MatchTests"/>, one per test.</summary>
public sealed class MatchFixture(TestPostgres postgres) : MatchmakingFixture(postgres)
{
    public static readonly ModeSpec Messages = new("messages", 2, 16, ("players", 1, 16));
    public static readonly ModeSpec Stop = new("stop", 1, 16, ("players", 1, 16));
    public static readonly ModeSpec Kick = new("kick", 2, 16, ("players", 1, 16));
    public static readonly ModeSpec Crash = new("crash", 2, 16, ("players", 1, 16));

    protected override IEnumerable<ModeSpec> Modes => [Messages, Stop, Kick, Crash];
}

/// <summary>
/// Life in a match (contract 5.5, 5.7; 9.1's Match* tests and LobbyMultipleReassignmentIT), end to end with the real
/// service and sample match processes: messages, STOP_MATCHMAKING, a kick back to a lobby and the empty match's
/// removal 16 s later, and a match process that dies.
/// </summary>
public sealed class MatchTests(MatchFixture f) : IClassFixture<MatchFixture>
{
    private static readonly TimeSpan QuietWindow = TimeSpan.FromSeconds(2);

    /// <summary>Players in a lobby who then ask for <paramref name="mode"/> together; returns them and their (one) match.</summary>
    private static async Task<(TestPlayer[] Players, Assignment Match)> MatchedAsync(Party party, int count, string mode)
    {
        var players = await party.InLobbyAsync(count);
        var after = players.Select(p => p.LastMessageId()).ToArray();
        await Task.WhenAll(players.Select(p => p.RequestMatchAsync(mode)));
        var assignments = await Task.WhenAll(players.Select((p, i) => p.JoinMatchAsync(after[i])));
        assignments.Select(a => a.RuntimeId).Distinct().Should().ContainSingle("the players of one request burst share a match");
        return (players, assignments[0]);
    }

    [Fact]
    public async Task In_a_match_a_message_is_answered_to_its_sender_and_broadcasts_and_multicasts_reach_the_match_players_only()
    {
        await using var party = f.NewParty();
        var (players, match) = await MatchedAsync(party, 2, MatchFixture.Messages.Name);
        var (a, b) = (players[0], players[1]);
        var bystander = await party.InLobbyAsync();

        // 9.1 MatchAddClientIT: the match got ADD_MATCH_CLIENT with group_name "players".
        (await a.WhoAmIAsync()).Should().Be(("MATCH", "players"));
        (await b.WhoAmIAsync()).Should().Be(("MATCH", "players"));

        // MatchHandleMessageIT: the message reaches the match runtime; the reply comes back to the sender.
        var payload = new { n = 3, s = "in-the-match", list = new object[] { true, 1.5 } };
        (await a.SendAsync(new { echo = payload })).Ok();
        var echo = await a.WaitForAsync(m => m.ServerMessage is { ValueKind: JsonValueKind.Object } x && x.TryGetProperty("echo", out var e)
                                             && e.ValueKind == JsonValueKind.Object && e.GetProperty("s").GetString() == "in-the-match", "the match's echo");
        echo.ServerMessage!.Value.GetRawText().Should().Be("""{"echo":{"n":3,"s":"in-the-match","list":[true,1.5]}}""");
        f.Backend.RuntimeOutput(match.RuntimeId).Should().Contain($"HANDLE_MESSAGE client {a.ClientId} -> RESPOND_CLIENT echo", "the match runtime handled it");

        // MatchBroadcastMessageIT and MatchMulticastMessageIT.
        (await b.SendAsync(new { broadcast = "to-the-match" })).Ok();
        await Task.WhenAll(a.WaitForReplyAsync("broadcast", "to-the-match"), b.WaitForReplyAsync("broadcast", "to-the-match"));
        (await a.SendAsync(new { multicast = new { clients = new[] { a.ClientId.ToString(), b.ClientId.ToString() }, message = "to-both" } })).Ok();
        await Task.WhenAll(a.WaitForReplyAsync("multicast", "to-both"), b.WaitForReplyAsync("multicast", "to-both"));

        (await Eventually.TrueAsync(async () =>
            {
                await bystander.PollAsync();
                return bystander.Received.Any(m => m.IsReply("broadcast", "to-the-match") || m.IsReply("multicast", "to-both"));
            }, QuietWindow, TimeSpan.FromMilliseconds(200)))
            .Should().BeFalse("a match's broadcast is for its players, not for a lobby's: {0}", bystander.Describe());
        b.Received.Should().NotContain(m => m.ServerMessage.HasValue && m.ServerMessage.Value.GetRawText().Contains("in-the-match"),
            "RESPOND_CLIENT is for its client only");
        new[] { a, b }.Should().OnlyContain(p => p.Received.Count(m => m.IsReply("broadcast", "to-the-match")) == 1, "each gets the broadcast once");
    }

    [Fact]
    public async Task After_STOP_MATCHMAKING_the_match_is_closed_and_the_next_player_gets_another_match()
    {
        var mode = MatchFixture.Stop.Name;
        await using var party = f.NewParty();
        var (a, b) = (await party.InLobbyAsync(), await party.InLobbyAsync());

        var afterA = a.LastMessageId();
        await a.RequestMatchAsync(mode);
        var first = await a.JoinMatchAsync(afterA);
        (await f.WaitForDetailsAsync(d => d.Match(first.RuntimeId) is not null, "the first match")).Match(first.RuntimeId)!.Status.Should().Be("OPENED");

        (await a.SendAsync(new { stop = true })).Ok();
        await f.WaitForDetailsAsync(d => d.Match(first.RuntimeId)?.Status == "CLOSED", "the match is CLOSED after STOP_MATCHMAKING");
        f.Backend.RuntimeOutput(first.RuntimeId).Should().Contain($"HANDLE_MESSAGE client {a.ClientId} -> STOP_MATCHMAKING");

        var afterB = b.LastMessageId();
        await b.RequestMatchAsync(mode);
        var second = await b.JoinMatchAsync(afterB);

        second.RuntimeId.Should().NotBe(first.RuntimeId, "a closed match takes nobody, though it has room (9.1 MatchStopMatchmakingIT)");
        var details = await f.WaitForDetailsAsync(d => d.Match(second.RuntimeId)?.Players == 1, "the second match");
        details.Match(first.RuntimeId).Should().BeEquivalentTo(new { Status = "CLOSED", Players = 1 }, "the first match keeps its player");
        details.Match(second.RuntimeId)!.Status.Should().Be("OPENED");
        (await a.SendAsync(new { echo = "still-playing" })).Ok();
        await a.WaitForReplyAsync("echo", "still-playing");
    }

    [Fact]
    public async Task A_kicked_player_goes_back_to_a_lobby_can_come_back_and_an_empty_match_is_removed_16_seconds_later()
    {
        var mode = MatchFixture.Kick.Name;
        await using var party = f.NewParty();
        var (players, match) = await MatchedAsync(party, 2, mode);
        var (a, b) = (players[0], players[1]);

        for (var round = 1; round <= 2; round++)
        {
            // 9.1 MatchKickClientIT / LobbyMultipleReassignmentIT: back to a LOBBY assignment, greeted by the lobby again.
            var beforeKick = a.LastMessageId();
            (await a.SendAsync(new { kick = true })).Ok();
            var lobby = await a.BackToLobbyAsync(beforeKick);
            lobby.RuntimeId.Should().NotBe(match.RuntimeId);
            a.Received.Should().NotContain(m => m.Qualifier == "DISCONNECTION_REASON_MESSAGE", "a kick from a match is not a disconnection");
            (await Eventually.TrueAsync(() => f.Backend.RuntimeOutput(match.RuntimeId).Split('\n').Count(l => l.Contains($"DELETE_CLIENT client {a.ClientId}")) == round,
                TestPlayer.DefaultTimeout)).Should().BeTrue($"the match gets DELETE_CLIENT for the kicked player\n{f.Backend.RuntimeOutput(match.RuntimeId)}");
            (await f.WaitForDetailsAsync(d => d.Match(match.RuntimeId)?.Players == 1, "one player left in the match")).Match(match.RuntimeId)!.Status.Should().Be("OPENED");
            (await a.WhoAmIAsync()).Should().Be(("LOBBY", (string?)null));

            // The match plays on with the other player.
            (await b.SendAsync(new { echo = $"round-{round}" })).Ok();
            await b.WaitForReplyAsync("echo", $"round-{round}");

            // And the kicked player can ask again: the open match with room takes it back.
            var inLobby = a.LastMessageId();
            await a.RequestMatchAsync(mode);
            (await a.JoinMatchAsync(inLobby)).RuntimeId.Should().Be(match.RuntimeId);
            await f.WaitForDetailsAsync(d => d.Match(match.RuntimeId)?.Players == 2, "both in the match again");
        }

        // Both leave: the empty match stays a while, then it and its process are removed (16 s, contract 5.5).
        var afterA = a.LastMessageId();
        var afterB = b.LastMessageId();
        (await a.SendAsync(new { kick = true })).Ok();
        (await b.SendAsync(new { kick = true })).Ok();
        await Task.WhenAll(a.BackToLobbyAsync(afterA), b.BackToLobbyAsync(afterB));
        await f.WaitForDetailsAsync(d => d.Match(match.RuntimeId)?.Players == 0, "the match is empty");
        var emptySince = DateTime.UtcNow;
        await f.HoldsAsync(d => d.Match(match.RuntimeId) is not null, TimeSpan.FromSeconds(12), "an empty match is kept for 16 s");
        ProcessTable.OfRuntime(match.RuntimeId).Should().NotBeEmpty("its process runs until the match is removed");

        await f.WaitForDetailsAsync(d => d.Match(match.RuntimeId) is null, "the empty match is removed", TimeSpan.FromSeconds(30));
        var removedAfter = DateTime.UtcNow - emptySince;
        removedAfter.Should().BeGreaterThan(TimeSpan.FromSeconds(12)).And.BeLessThan(TimeSpan.FromSeconds(40));
        (await Eventually.TrueAsync(() => ProcessTable.OfRuntime(match.RuntimeId).Count == 0, TestPlayer.DefaultTimeout))
            .Should().BeTrue($"the removed match's runtime process is stopped\n{f.Backend.Describe()}");
        new[] { a, b }.Should().OnlyContain(p => !p.Received.Any(m => m.Qualifier == "DISCONNECTION_REASON_MESSAGE"));
    }

    [Fact]
    public async Task When_the_match_process_dies_its_players_go_back_to_a_lobby_without_being_disconnected()
    {
        await using var party = f.NewParty();
        var (players, match) = await MatchedAsync(party, 2, MatchFixture.Crash.Name);
        var pids = ProcessTable.OfRuntime(match.RuntimeId).Select(p => p.Pid).ToList();
        pids.Should().NotBeEmpty();
        var after = players.Select(p => p.LastMessageId()).ToArray();

        (await players[0].SendAsync(new { exit = true })).Ok();

        // 9.1 MatchInactiveRuntimeDetectionIT: the players are re-assigned to a lobby, not disconnected.
        var lobbies = await Task.WhenAll(players.Select((p, i) => p.BackToLobbyAsync(after[i])));
        lobbies.Should().OnlyContain(l => l.RuntimeId != match.RuntimeId);
        await f.WaitForDetailsAsync(d => d.Match(match.RuntimeId) is null, "the failed match is deleted");
        (await Eventually.TrueAsync(() => ProcessTable.OfRuntime(match.RuntimeId).Count == 0, TestPlayer.DefaultTimeout)).Should().BeTrue("the match process is gone");
        f.Backend.Service.Output.Should().Contain(l => l.Contains($"runtime {match.RuntimeId} (MATCH) is inactive"), "the service noticed the exit");

        foreach (var player in players)
        {
            (await player.SendAsync(new { echo = "back-in-the-lobby" })).Ok();
            await player.WaitForReplyAsync("echo", "back-in-the-lobby");
            player.Received.Should().NotContain(m => m.Qualifier == "DISCONNECTION_REASON_MESSAGE", "players of a failed match are not disconnected: {0}", player.Describe());
            player.Assignments().Select(x => x.Qualifier).Should().Equal(["LOBBY", "MATCH", "LOBBY"]);
        }
    }
}
