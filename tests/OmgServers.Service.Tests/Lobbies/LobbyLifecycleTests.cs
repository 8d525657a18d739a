using FluentAssertions;
using OmgServers.Service.Tests.Infrastructure;
using Xunit;

namespace OmgServers.Service.Tests.Lobbies;

/// <summary>
/// Inactivity, failures and lobby lifetime (contract 5.4, 5.7) with short intervals: a silent client is disconnected
/// with CLIENT_INACTIVITY; a lobby whose process dies or stops answering is replaced, and its players are disconnected
/// with INTERNAL_FAILURE; an empty lobby is removed after its minimum lifetime.
/// </summary>
public sealed class LobbyLifecycleTests(ShortIntervalsFixture fixture) : IClassFixture<ShortIntervalsFixture>
{
    private LobbyBackend B => fixture.Backend;

    /// <summary>Long enough for the server to notice a runtime's silence or exit, and to stop its process (10 s grace).</summary>
    private static readonly TimeSpan FailureDeadline = ShortIntervalsFixture.RuntimeInterval * 3 + TimeSpan.FromSeconds(15);

    [Fact]
    public async Task A_client_that_stops_polling_is_disconnected_for_inactivity_and_the_others_stay()
    {
        var game = await B.NewGameAsync();
        await using var silent = await B.NewPlayerAsync(game);
        await using var active = await B.NewPlayerAsync(game);
        var lobby = await silent.JoinLobbyAsync();
        active.KeepAlive();
        (await active.JoinLobbyAsync()).Should().Be(lobby);

        // Any call of the silent client would be its keep-alive, so nothing asks it anything until the lobby has
        // been told it left (the sample prints each DELETE_CLIENT to its output.log) or the deadline has passed.
        var deleteLine = $"DELETE_CLIENT client {silent.ClientId}";
        var logged = await Eventually.TrueAsync(() => B.RuntimeOutputContains(deleteLine), ShortIntervalsFixture.ClientInterval * 4, TimeSpan.FromMilliseconds(200));
        var reason = await silent.WaitForAsync("DISCONNECTION_REASON_MESSAGE", TimeSpan.FromSeconds(10));
        reason.Body.GetProperty("reason").GetString().Should().Be("CLIENT_INACTIVITY", $"(runtime log {(logged ? "showed" : "did not show")} {deleteLine})");

        // Receive-only afterwards; the active player is untouched and still plays.
        (await silent.SendAsync(new { echo = "too-late" })).Ok();
        (await active.SendAsync(new { echo = "still-here" })).Ok();
        await active.WaitForReplyAsync("echo", "still-here");
        await silent.PollAsync();
        silent.Received.Should().NotContain(m => m.IsReply("echo", "too-late"));
        active.Received.Should().NotContain(m => m.Qualifier == "DISCONNECTION_REASON_MESSAGE");
        active.CurrentRuntimeId().Should().Be(lobby);
    }

    [Fact]
    public async Task An_empty_lobby_is_removed_after_its_minimum_lifetime_and_the_next_player_gets_a_new_one()
    {
        var game = await B.NewGameAsync();
        await using var leaving = await B.NewPlayerAsync(game);
        var lobby = await leaving.JoinLobbyAsync();
        leaving.KeepAlive();
        (await leaving.SendAsync(new { echo = "leaving", kick = true })).Ok();
        await leaving.WaitForReplyAsync("echo", "leaving");

        // Empty and older than its minimum lifetime: removed, and its process stopped (contract 5.2, 5.4 [later]).
        (await Eventually.TrueAsync(() => ProcessTable.OfRuntime(lobby).Count == 0, ShortIntervalsFixture.LobbyMinLifetime + FailureDeadline))
            .Should().BeTrue($"the empty lobby is removed\n{B.Describe()}");
        leaving.Received.Should().NotContain(m => m.Qualifier == "DISCONNECTION_REASON_MESSAGE", "it had left before");

        await using var next = await B.NewPlayerAsync(game);
        next.KeepAlive();
        (await next.JoinLobbyAsync()).Should().NotBe(lobby);
        (await next.SendAsync(new { echo = "in-the-new-lobby" })).Ok();
        await next.WaitForReplyAsync("echo", "in-the-new-lobby");
    }

    [Fact]
    public async Task A_lobby_process_that_exits_is_replaced_and_its_players_are_disconnected()
    {
        var game = await B.NewGameAsync();
        await using var a = await B.NewPlayerAsync(game);
        await using var b = await B.NewPlayerAsync(game);
        var lobby = await a.JoinLobbyAsync();
        a.KeepAlive();
        (await b.JoinLobbyAsync()).Should().Be(lobby);
        b.KeepAlive();

        (await a.SendAsync(new { exit = true })).Ok();
        (await Eventually.TrueAsync(() => ProcessTable.OfRuntime(lobby).Count == 0, FailureDeadline)).Should().BeTrue("the sample exits with code 1");

        foreach (var player in new[] { a, b })
        {
            var reason = await player.WaitForAsync("DISCONNECTION_REASON_MESSAGE", FailureDeadline);
            reason.Body.GetProperty("reason").GetString().Should().Be("INTERNAL_FAILURE");
        }

        await using var c = await B.NewPlayerAsync(game);
        c.KeepAlive();
        var replacement = await c.JoinLobbyAsync();
        replacement.Should().NotBe(lobby, "a new lobby runtime replaces the dead one");
        (await c.SendAsync(new { echo = "after-crash" })).Ok();
        await c.WaitForReplyAsync("echo", "after-crash");
    }

    [Fact]
    public async Task A_lobby_that_stops_interchanging_is_replaced_its_process_stopped_and_its_players_disconnected()
    {
        var game = await B.NewGameAsync();
        await using var player = await B.NewPlayerAsync(game);
        var lobby = await player.JoinLobbyAsync();
        player.KeepAlive();
        var frozen = ProcessTable.OfRuntime(lobby);
        frozen.Should().NotBeEmpty();

        // SIGSTOP: the process lives on but never calls again, like a hung runtime.
        foreach (var process in frozen) ProcessTable.Signal(process.Pid, ProcessTable.SigStop);
        try
        {
            var reason = await player.WaitForAsync("DISCONNECTION_REASON_MESSAGE", FailureDeadline);
            reason.Body.GetProperty("reason").GetString().Should().Be("INTERNAL_FAILURE");
            (await Eventually.TrueAsync(() => ProcessTable.OfRuntime(lobby).Count == 0, FailureDeadline))
                .Should().BeTrue($"the server stops the inactive lobby's process (SIGTERM, then SIGKILL after the grace period)\n{B.Describe()}");

            await using var next = await B.NewPlayerAsync(game);
            next.KeepAlive();
            (await next.JoinLobbyAsync()).Should().NotBe(lobby);
            (await next.SendAsync(new { echo = "after-hang" })).Ok();
            await next.WaitForReplyAsync("echo", "after-hang");
        }
        finally
        {
            // What this test froze does not outlive it.
            foreach (var process in ProcessTable.OfRuntime(lobby)) ProcessTable.Signal(process.Pid, ProcessTable.SigKill);
        }
    }
}
