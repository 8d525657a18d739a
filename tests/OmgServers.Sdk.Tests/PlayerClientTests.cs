using System.Collections.Concurrent;
using System.Text.Json;
using FluentAssertions;
using OmgServers.Contracts;
using OmgServers.Contracts.Interchange;

namespace OmgServers.Sdk.Tests;

/// <summary>The player client against the stand-in: delivery, acknowledgement, order, cadence, tokens, failures.</summary>
public sealed class PlayerClientTests : IAsyncLifetime
{
    private StandIn _server = null!;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private readonly ConcurrentQueue<string> _log = new();

    public async ValueTask InitializeAsync() => _server = await StandIn.StartAsync();

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _server.DisposeAsync();
    }

    private OmgClientOptions Options(int maxAttempts = 8) => new()
    {
        MaxAttempts = maxAttempts,
        RetryInitialDelay = TimeSpan.FromMilliseconds(20),
        RetryMaxDelay = TimeSpan.FromMilliseconds(100),
        Log = (level, message, _) => _log.Enqueue($"{level}: {message}"),
    };

    private async Task<(OmgPlayerClient Player, long ClientId)> SignedInAsync(OmgClientOptions? options = null)
    {
        var player = new OmgPlayerClient(_server.Url, _http, options ?? Options());
        var user = await player.CreateUserAsync();
        await player.CreateTokenAsync(user.UserId, user.Password);
        var clientId = await player.CreateClientAsync("tenant", "project", "stage");
        return (player, clientId);
    }

    private static RuntimeConfig LobbyConfig(long lobbyId) => new(new LobbyConfig(lobbyId), null, new VersionConfig([], null));

    private static async Task StopAsync(CancellationTokenSource stop, Task loop)
    {
        await stop.CancelAsync();
        var ended = async () => await loop;
        await ended.Should().ThrowAsync<OperationCanceledException>();
    }

    [Fact]
    public async Task Welcome_sequence_is_handled_once_in_id_order_raises_events_and_is_acknowledged()
    {
        var (player, clientId) = await SignedInAsync();
        var welcome = _server.AddMessage(clientId, new ServerWelcomeMessageBody(11, 12, DateTimeOffset.Parse("2025-01-22T18:03:11.482Z")));
        var matchmaker = _server.AddMessage(clientId, new MatchmakerAssignmentMessageBody(13));
        var assignment = _server.AddMessage(clientId, new RuntimeAssignmentMessageBody(14, RuntimeQualifier.LOBBY, LobbyConfig(15)));
        var handled = new ConcurrentQueue<PlayerMessage>();
        RuntimeAssignmentMessageBody? assigned = null;
        player.RuntimeAssigned += body => assigned = body;
        ServerWelcomeMessageBody? welcomed = null;
        player.Welcomed += body => welcomed = body;

        using var stop = new CancellationTokenSource();
        var loop = player.RunAsync((message, _) => { handled.Enqueue(message); return ValueTask.CompletedTask; }, stop.Token);
        await Eventually.WaitAsync(() => new[] { welcome, matchmaker, assignment }.All(_server.IsConsumed), "the three messages are acknowledged");
        // A few more calls: nothing is handled twice.
        var calls = _server.CallsTo(ApiPaths.PlayerInterchange).Count;
        await Eventually.WaitAsync(() => _server.CallsTo(ApiPaths.PlayerInterchange).Count >= calls + 2, "two more interchanges");
        await StopAsync(stop, loop);

        handled.Select(m => m.Id).Should().Equal(welcome, matchmaker, assignment);
        handled.Select(m => m.Qualifier).Should().Equal(
            MessageQualifier.SERVER_WELCOME_MESSAGE, MessageQualifier.MATCHMAKER_ASSIGNMENT_MESSAGE, MessageQualifier.RUNTIME_ASSIGNMENT_MESSAGE);
        welcomed.Should().Be(new ServerWelcomeMessageBody(11, 12, DateTimeOffset.Parse("2025-01-22T18:03:11.482Z")));
        assigned!.RuntimeId.Should().Be(14);
        assigned.RuntimeConfig.LobbyConfig!.LobbyId.Should().Be(15);
        player.Runtime.Should().Be(assigned);
        player.MatchmakerId.Should().Be(13);
        // Acknowledged in the call after the one that delivered them, and each id only until the server consumed it.
        var interchanges = _server.CallsTo(ApiPaths.PlayerInterchange);
        var delivered = interchanges.FindIndex(c => c.Returned.Contains(welcome));
        interchanges[delivered + 1].Acknowledged.Should().BeEquivalentTo([welcome, matchmaker, assignment]);
        interchanges.Skip(delivered + 2).Should().OnlyContain(c => c.Acknowledged.Count == 0 && c.Returned.Count == 0);
    }

    [Fact]
    public async Task A_message_whose_acknowledgement_is_lost_comes_back_and_is_handled_once()
    {
        var (player, clientId) = await SignedInAsync();
        var id = _server.AddMessage(clientId, new ServerOutgoingMessageBody(Payload.From(new { text = "once" })));
        _server.LoseNextAckOf(id);
        var handled = new ConcurrentQueue<long>();

        using var stop = new CancellationTokenSource();
        var loop = player.RunAsync((message, _) => { handled.Enqueue(message.Id); return ValueTask.CompletedTask; }, stop.Token);
        await Eventually.WaitAsync(() => _server.IsConsumed(id), "the message is finally consumed");
        await StopAsync(stop, loop);

        var interchanges = _server.CallsTo(ApiPaths.PlayerInterchange);
        interchanges.Count(c => c.Returned.Contains(id)).Should().BeGreaterThanOrEqualTo(2, "the first acknowledgement was lost, so the server returned it again");
        interchanges.Count(c => c.Acknowledged.Contains(id)).Should().BeGreaterThanOrEqualTo(2, "the redelivered message is acknowledged again");
        handled.Should().Equal(id);
    }

    [Fact]
    public async Task Outgoing_messages_arrive_in_order_and_incoming_ones_are_handled_in_id_order()
    {
        var (player, clientId) = await SignedInAsync();
        var handled = new ConcurrentQueue<long>();
        using var stop = new CancellationTokenSource();
        var loop = player.RunAsync((message, _) => { handled.Enqueue(message.Id); return ValueTask.CompletedTask; }, stop.Token);

        var added = new List<long>();
        for (var batch = 0; batch < 5; batch++)
        {
            for (var i = 0; i < 10; i++)
            {
                added.Add(_server.AddMessage(clientId, new ServerOutgoingMessageBody(Payload.From(new { n = batch * 10 + i }))));
                await player.SendAsync(new { n = batch * 10 + i }, TestContext.Current.CancellationToken);
            }
            await Eventually.WaitAsync(() => handled.Count == added.Count, $"batch {batch} handled");
        }
        await Eventually.WaitAsync(() => _server.ReceivedFrom(clientId).Count == 50, "all 50 outgoing messages received");
        await Eventually.WaitAsync(() => added.All(_server.IsConsumed), "all 50 incoming messages consumed");
        await StopAsync(stop, loop);

        handled.Should().Equal(added);
        var received = _server.ReceivedFrom(clientId);
        received.Select(m => m.BodyAs<ClientOutgoingMessageBody>().Data.GetProperty("n").GetInt32()).Should().Equal(Enumerable.Range(0, 50));
        received.Select(m => m.Id).Should().BeInAscendingOrder().And.OnlyHaveUniqueItems();
    }

    [Fact]
    public async Task Idle_interval_grows_to_the_maximum_and_resets_on_traffic()
    {
        var (player, clientId) = await SignedInAsync();
        using var stop = new CancellationTokenSource();
        var loop = player.RunAsync(stop.Token);
        // Idle from the start: waits of 100, 200, 400, 800, 1000, 1000 ms.
        await Eventually.WaitAsync(() => _server.CallsTo(ApiPaths.PlayerInterchange).Count >= 7, "seven idle interchanges");
        var idle = Gaps(_server.CallsTo(ApiPaths.PlayerInterchange).Take(7).ToList());
        // Compared with each other, not with the clock alone: a loaded machine adds its own delay to every gap.
        idle[0].Should().BeLessThan(idle[4] * 0.6, "the first wait is the minimum, far below the maximum");
        idle[2].Should().BeGreaterThan(TimeSpan.FromMilliseconds(300), "it doubles per idle call");
        foreach (var atMax in idle.Skip(4))
        {
            atMax.Should().BeGreaterThan(TimeSpan.FromMilliseconds(850), "it reaches the maximum");
            atMax.Should().BeLessThan(TimeSpan.FromMilliseconds(1700), "and stops there");
        }
        for (var i = 1; i < idle.Count; i++) idle[i].Should().BeGreaterThan(idle[i - 1] * 0.7, "it never shrinks while idle");

        var id = _server.AddMessage(clientId, new ServerOutgoingMessageBody(Payload.From(new { wake = true })));
        await Eventually.WaitAsync(() => _server.IsConsumed(id), "the message is handled and acknowledged");
        await Eventually.WaitAsync(() => _server.CallsTo(ApiPaths.PlayerInterchange).SkipWhile(c => !c.Returned.Contains(id)).Count() >= 4, "calls after the traffic");
        await StopAsync(stop, loop);

        var after = _server.CallsTo(ApiPaths.PlayerInterchange).SkipWhile(c => !c.Returned.Contains(id)).Take(4).ToList();
        var reset = Gaps(after);
        reset[0].Should().BeLessThan(idle[4] * 0.6, "traffic resets the wait to the minimum");
        reset[2].Should().BeGreaterThan(reset[0], "and it grows again when idle");
    }

    [Fact]
    public async Task Token_is_renewed_before_it_expires()
    {
        _server.TokenLifetime = TimeSpan.FromSeconds(2);
        var (player, _) = await SignedInAsync();
        var first = player.Token;
        using var stop = new CancellationTokenSource();
        var loop = player.RunAsync(stop.Token);
        await Eventually.WaitAsync(() => _server.TokensIssued(ApiPaths.PlayerCreateToken) >= 4, "three renewals", TimeSpan.FromSeconds(15));
        await StopAsync(stop, loop);

        player.Token.Should().NotBe(first);
        _server.CallsTo(ApiPaths.PlayerInterchange).Should().OnlyContain(c => c.Status == 200, "renewed ahead of expiry, no call was refused");
    }

    [Fact]
    public async Task A_refused_token_is_renewed_once_and_the_call_repeated()
    {
        var (player, clientId) = await SignedInAsync();
        var handled = new ConcurrentQueue<long>();
        using var stop = new CancellationTokenSource();
        var loop = player.RunAsync((message, _) => { handled.Enqueue(message.Id); return ValueTask.CompletedTask; }, stop.Token);
        await Eventually.WaitAsync(() => _server.CallsTo(ApiPaths.PlayerInterchange).Count >= 2, "the loop runs");

        _server.RevokeAllTokens();
        var id = _server.AddMessage(clientId, new ServerOutgoingMessageBody(Payload.From("after revocation")));
        await Eventually.WaitAsync(() => _server.IsConsumed(id), "handled with a new token");
        await StopAsync(stop, loop);

        _server.TokensIssued(ApiPaths.PlayerCreateToken).Should().Be(2);
        _server.CallsTo(ApiPaths.PlayerInterchange).Count(c => c.Status == 401).Should().Be(1);
        handled.Should().Equal(id);
    }

    [Fact]
    public async Task A_token_refused_again_after_renewal_surfaces_as_401()
    {
        var (player, _) = await SignedInAsync();
        _server.RejectAllTokens = true;

        var create = async () => await player.CreateClientAsync("tenant", "project", "stage");
        var error = (await create.Should().ThrowAsync<OmgApiException>()).Which;

        error.Status.Should().Be(401);
        error.Qualifier.Should().BeNull("the framework's 401 has no body");
        error.Operation.Should().Be(ApiPaths.PlayerCreateClient);
        _server.TokensIssued(ApiPaths.PlayerCreateToken).Should().Be(2, "one renewal, not more");
    }

    [Fact]
    public async Task Service_unavailable_and_lost_connections_are_retried()
    {
        var (player, clientId) = await SignedInAsync();
        _server.FailNext(ApiPaths.PlayerInterchange, StandIn.Fault.Unavailable, 2);
        _server.FailNext(ApiPaths.PlayerInterchange, StandIn.Fault.Abort, 1);
        var id = _server.AddMessage(clientId, new ServerOutgoingMessageBody(Payload.From(1)));
        await player.SendAsync("sent while failing", TestContext.Current.CancellationToken);
        var handled = new ConcurrentQueue<long>();

        using var stop = new CancellationTokenSource();
        var loop = player.RunAsync((message, _) => { handled.Enqueue(message.Id); return ValueTask.CompletedTask; }, stop.Token);
        await Eventually.WaitAsync(() => _server.IsConsumed(id), "handled after the failures");
        await StopAsync(stop, loop);

        _server.CallsTo(ApiPaths.PlayerInterchange).Take(4).Select(c => c.Status).Should().Equal(503, 503, 0, 200);
        handled.Should().Equal(id);
        _server.ReceivedFrom(clientId).Should().ContainSingle().Which.BodyAs<ClientOutgoingMessageBody>().Data.GetString().Should().Be("sent while failing");
        _log.Count(line => line.StartsWith("Warning") && line.Contains("503")).Should().Be(2);
        _log.Should().ContainSingle(line => line.StartsWith("Warning") && line.Contains("attempt 3"), "the lost connection is retried by the SDK");
    }

    [Fact]
    public async Task Errors_carry_the_qualifier_and_status_and_503_gives_up_after_the_attempts()
    {
        var player = new OmgPlayerClient(_server.Url, _http, Options(maxAttempts: 3));
        var user = await player.CreateUserAsync(TestContext.Current.CancellationToken);
        await player.CreateTokenAsync(user.UserId, user.Password, TestContext.Current.CancellationToken);

        var missing = async () => await player.CreateClientAsync("missing", "project", "stage");
        var notFound = (await missing.Should().ThrowAsync<OmgApiException>()).Which;
        notFound.Status.Should().Be(404);
        notFound.Qualifier.Should().Be(Qualifier.OBJECT_NOT_FOUND);

        _server.FailNext(ApiPaths.PlayerCreateClient, StandIn.Fault.Unavailable, 10);
        var unavailable = (await ((Func<Task>)(() => player.CreateClientAsync("tenant", "project", "stage"))).Should().ThrowAsync<OmgApiException>()).Which;
        unavailable.Status.Should().Be(503);
        unavailable.Qualifier.Should().Be(Qualifier.SERVICE_UNAVAILABLE);
        _server.CallsTo(ApiPaths.PlayerCreateClient).Count(c => c.Status == 503).Should().Be(3);

        var wrongPassword = async () => await player.CreateTokenAsync(user.UserId, "not the password");
        (await wrongPassword.Should().ThrowAsync<OmgApiException>()).Which.Status.Should().Be(401);
    }

    [Fact]
    public async Task Disconnection_ends_the_loop_once_acknowledged()
    {
        var (player, clientId) = await SignedInAsync();
        var id = _server.AddMessage(clientId, new DisconnectionReasonMessageBody(DisconnectionReason.CLIENT_INACTIVITY));
        DisconnectionReason? reason = null;
        player.Disconnected += body => reason = body.Reason;

        await player.RunAsync(TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);

        reason.Should().Be(DisconnectionReason.CLIENT_INACTIVITY);
        player.Disconnection.Should().Be(DisconnectionReason.CLIENT_INACTIVITY);
        _server.IsConsumed(id).Should().BeTrue();
    }

    [Fact]
    public async Task The_loop_needs_a_token_and_a_client()
    {
        var player = new OmgPlayerClient(_server.Url, _http, Options());
        var run = async () => await player.RunAsync(CancellationToken.None);
        await run.Should().ThrowAsync<InvalidOperationException>();
    }

    [Fact]
    public async Task The_outgoing_queue_is_bounded_and_kept_until_sent()
    {
        var (player, clientId) = await SignedInAsync(new OmgClientOptions { MaxQueuedOutgoing = 2 });
        await player.SendAsync(1, TestContext.Current.CancellationToken);
        await player.SendAsync(2, TestContext.Current.CancellationToken);
        var third = async () => await player.SendAsync(3, TestContext.Current.CancellationToken);
        (await third.Should().ThrowAsync<OmgQueueFullException>()).Which.Limit.Should().Be(2);

        using var stop = new CancellationTokenSource();
        var loop = player.RunAsync(stop.Token);
        await Eventually.WaitAsync(() => _server.ReceivedFrom(clientId).Count == 2, "the queued messages are sent");
        await player.SendAsync(3, TestContext.Current.CancellationToken);
        await Eventually.WaitAsync(() => _server.ReceivedFrom(clientId).Count == 3, "room again once sent");
        await StopAsync(stop, loop);

        _server.ReceivedFrom(clientId).Select(m => m.BodyAs<ClientOutgoingMessageBody>().Data.GetInt32()).Should().Equal(1, 2, 3);
        player.QueuedMessages.Should().Be(0);
    }

    private static List<TimeSpan> Gaps(IReadOnlyList<StandIn.Call> calls) =>
        calls.Zip(calls.Skip(1), (a, b) => b.At - a.At).ToList();
}
