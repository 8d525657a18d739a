using System.Net;
using System.Text.Json;
using FluentAssertions;
using OmgServers.Service.Tests.Infrastructure;
using OmgServers.Service.Tests.Lobbies;
using Xunit;

namespace OmgServers.Service.Tests.Matchmaking;

/// <summary>A game mode of a version config (contract 2.5), with its groups.</summary>
public sealed record ModeSpec(string Name, int Min, int Max, params (string Name, int Min, int Max)[] Groups)
{
    public object ToJson() => new
    {
        name = Name,
        min_players = Min,
        max_players = Max,
        groups = Groups.Select(g => new { name = g.Name, min_players = g.Min, max_players = g.Max }).ToArray(),
    };
}

/// <summary>One row of get-matchmaker-details' <c>queues</c>: the clients waiting for a mode, and why it can never match (when so).</summary>
public sealed record QueueRow(string Mode, int Waiting, string? Unsatisfiable);

/// <summary>One row of get-matchmaker-details' <c>matches</c>.</summary>
public sealed record MatchRow(long Id, long RuntimeId, string Mode, string Status, int Players, IReadOnlyDictionary<string, int> Groups);

/// <summary>One row of get-matchmaker-details' <c>refused</c>.</summary>
public sealed record RefusalRow(long ClientId, string Mode, string Reason);

/// <summary>A matchmaker as the developer sees it (get-matchmaker-details), parsed, with the raw JSON for failure messages.</summary>
public sealed record MatchmakerDetails(long Id, long DeploymentId, IReadOnlyList<QueueRow> Queues, IReadOnlyList<MatchRow> Matches, IReadOnlyList<RefusalRow> Refused, string Raw)
{
    public int Waiting(string mode) => Queues.SingleOrDefault(q => q.Mode == mode)?.Waiting ?? 0;

    public IReadOnlyList<MatchRow> MatchesOf(string mode) => Matches.Where(m => m.Mode == mode).ToList();

    public MatchRow? Match(long runtimeId) => Matches.SingleOrDefault(m => m.RuntimeId == runtimeId);

    public static MatchmakerDetails Parse(JsonElement body)
    {
        var details = body.GetProperty("details");
        static long Id(JsonElement e, string name)
        {
            e.GetProperty(name).ValueKind.Should().Be(JsonValueKind.String, $"{name} is an id, written as a JSON string");
            return long.Parse(e.GetProperty(name).GetString()!);
        }
        return new MatchmakerDetails(
            Id(details, "id"),
            Id(details, "deployment_id"),
            details.GetProperty("queues").EnumerateArray().Select(q => new QueueRow(
                q.GetProperty("mode").GetString()!, q.GetProperty("waiting").GetInt32(),
                q.GetProperty("unsatisfiable").ValueKind == JsonValueKind.Null ? null : q.GetProperty("unsatisfiable").GetString())).ToList(),
            details.GetProperty("matches").EnumerateArray().Select(m => new MatchRow(
                Id(m, "id"), Id(m, "runtime_id"), m.GetProperty("mode").GetString()!, m.GetProperty("status").GetString()!, m.GetProperty("players").GetInt32(),
                m.GetProperty("groups").EnumerateObject().ToDictionary(g => g.Name, g => g.Value.GetInt32()))).ToList(),
            details.GetProperty("refused").EnumerateArray().Select(r => new RefusalRow(
                Id(r, "client_id"), r.GetProperty("mode").GetString()!, r.GetProperty("reason").GetString()!)).ToList(),
            body.GetRawText());
    }
}

/// <summary>A runtime assignment a player received (RUNTIME_ASSIGNMENT_MESSAGE, contract 5.3 and 5.5).</summary>
public sealed record Assignment(long MessageId, long RuntimeId, string Qualifier, long? MatchmakerId, long? MatchId)
{
    public static Assignment Of(Incoming message)
    {
        var body = message.Body;
        var config = body.GetProperty("runtime_config");
        var match = config.GetProperty("match_config");
        return new Assignment(message.Id, long.Parse(body.GetProperty("runtime_id").GetString()!), body.GetProperty("runtime_qualifier").GetString()!,
            match.ValueKind == JsonValueKind.Object ? long.Parse(match.GetProperty("matchmaker_id").GetString()!) : null,
            match.ValueKind == JsonValueKind.Object ? long.Parse(match.GetProperty("match_id").GetString()!) : null);
    }
}

/// <summary>What the matchmaking tests ask of a player: requests through its lobby or match, and the assignments that follow.</summary>
public static class MatchmakingPlayer
{
    /// <summary>The id of the latest message the player received (0 before any): later moves are the messages after it.</summary>
    public static long LastMessageId(this TestPlayer player) => player.Received.Select(m => m.Id).DefaultIfEmpty(0).Max();

    /// <summary>Asks its runtime for matchmaking in <paramref name="mode"/> (the sample sends REQUEST_MATCHMAKING).</summary>
    public static async Task RequestMatchAsync(this TestPlayer player, string mode) => (await player.SendAsync(new { matchmake = mode })).Ok();

    public static IReadOnlyList<Assignment> Assignments(this TestPlayer player) =>
        player.Received.Where(m => m.Qualifier == "RUNTIME_ASSIGNMENT_MESSAGE").Select(Assignment.Of).ToList();

    /// <summary>Waits for a RUNTIME_ASSIGNMENT_MESSAGE of <paramref name="qualifier"/> received after message <paramref name="after"/>.</summary>
    public static async Task<Assignment> WaitForAssignmentAsync(this TestPlayer player, string qualifier, long after, TimeSpan? timeout = null) =>
        Assignment.Of(await player.WaitForAsync(m => m.Id > after && m.Qualifier == "RUNTIME_ASSIGNMENT_MESSAGE"
                                                     && m.Body.GetProperty("runtime_qualifier").GetString() == qualifier,
            $"{qualifier} RUNTIME_ASSIGNMENT_MESSAGE after message {after}", timeout));

    /// <summary>A MATCH assignment after message <paramref name="after"/>, then the match's greeting (the sample answers ADD_MATCH_CLIENT with {"text":"match"}).</summary>
    public static async Task<Assignment> JoinMatchAsync(this TestPlayer player, long after, TimeSpan? timeout = null)
    {
        var assignment = await player.WaitForAssignmentAsync("MATCH", after, timeout);
        assignment.MatchId.Should().NotBeNull("a MATCH assignment carries match_config: {0}", player.Describe());
        await player.WaitForAsync(m => m.Id > assignment.MessageId && m.IsReply("text", "match"), "the match's greeting", timeout);
        return assignment;
    }

    /// <summary>A LOBBY assignment after message <paramref name="after"/>, then the lobby's greeting {"text":"welcome"} after it.</summary>
    public static async Task<Assignment> BackToLobbyAsync(this TestPlayer player, long after, TimeSpan? timeout = null)
    {
        var assignment = await player.WaitForAssignmentAsync("LOBBY", after, timeout);
        await player.WaitForAsync(m => m.Id > assignment.MessageId && m.IsReply("text", "welcome"), "the lobby's greeting after the LOBBY assignment", timeout);
        return assignment;
    }

    /// <summary>Asks its runtime who it is (the sample's {"whoami": true}); returns the group the runtime holds for it (null in a lobby).</summary>
    public static async Task<(string Runtime, string? Group)> WhoAmIAsync(this TestPlayer player)
    {
        var after = player.LastMessageId();
        (await player.SendAsync(new { whoami = true })).Ok();
        var reply = await player.WaitForAsync(m => m.Id > after && m.ServerMessage is { ValueKind: JsonValueKind.Object } x && x.TryGetProperty("whoami", out _), "the whoami reply");
        var whoami = reply.ServerMessage!.Value.GetProperty("whoami");
        var group = whoami.GetProperty("group");
        return (whoami.GetProperty("runtime").GetString()!, group.ValueKind == JsonValueKind.Null ? null : group.GetString());
    }
}

/// <summary>
/// One service for a test class (the real process on PostgreSQL, the sample as the process image) and one deployed
/// game whose version config holds every mode the class uses, each test with modes of its own, so that the class
/// shares one lobby process and its tests never meet in a match.
/// </summary>
public abstract class MatchmakingFixture(TestPostgres postgres) : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TestPlayer.DefaultTimeout;

    public LobbyBackend Backend { get; private set; } = null!;
    public Game Game { get; private set; } = null!;
    public long MatchmakerId { get; private set; }

    protected abstract IEnumerable<ModeSpec> Modes { get; }

    public async ValueTask InitializeAsync()
    {
        Backend = await LobbyBackend.StartAsync(postgres);
        var config = JsonSerializer.SerializeToElement(new { modes = Modes.Select(m => m.ToJson()).ToArray(), user_data = new { } });
        Game = await Backend.NewGameAsync(config);
        // Contract 9.1's harness waits for the deployment's matchmaker ref before making players.
        long matchmakerId = 0;
        (await Eventually.TrueAsync(async () =>
        {
            var details = (await Backend.DevAsync(Game.Developer, "get-deployment-details", new { tenant = Game.TenantId.ToString(), deployment_id = Game.DeploymentId })).Ok();
            var refs = details.Body.GetProperty("details").GetProperty("matchmaker_refs");
            if (refs.GetArrayLength() == 0) return false;
            matchmakerId = long.Parse(refs[0].GetProperty("matchmaker_id").GetString()!);
            return true;
        }, Deadline, TimeSpan.FromMilliseconds(100))).Should().BeTrue($"the deployment lists its matchmaker\n{Backend.Describe()}");
        MatchmakerId = matchmakerId;
    }

    /// <summary>The matchmaker's details (developer get-matchmaker-details); must answer 200.</summary>
    public async Task<MatchmakerDetails> DetailsAsync()
    {
        var response = await Backend.DevAsync(Game.Developer, "get-matchmaker-details", new { tenant = Game.TenantId.ToString(), matchmaker_id = MatchmakerId.ToString() });
        response.Status.Should().Be(HttpStatusCode.OK, response.Text);
        return MatchmakerDetails.Parse(response.Body);
    }

    /// <summary>Polls the details until <paramref name="condition"/> holds; fails with the last details and the server's output at the deadline.</summary>
    public async Task<MatchmakerDetails> WaitForDetailsAsync(Func<MatchmakerDetails, bool> condition, string what, TimeSpan? timeout = null)
    {
        MatchmakerDetails? last = null;
        var met = await Eventually.TrueAsync(async () => condition(last = await DetailsAsync()), timeout ?? Deadline, TimeSpan.FromMilliseconds(100));
        met.Should().BeTrue($"{what}; last details: {last?.Raw}\n{Backend.Describe()}");
        return last!;
    }

    /// <summary>Checks that <paramref name="condition"/> holds on every look at the details during <paramref name="window"/>.</summary>
    public async Task<MatchmakerDetails> HoldsAsync(Func<MatchmakerDetails, bool> condition, TimeSpan window, string what)
    {
        var until = DateTime.UtcNow + window;
        while (true)
        {
            var details = await DetailsAsync();
            condition(details).Should().BeTrue($"{what}; details: {details.Raw}");
            if (DateTime.UtcNow > until) return details;
            await Task.Delay(200, TestContext.Current.CancellationToken);
        }
    }

    /// <summary>Players of this fixture's game, each polling in the background until the party is disposed.</summary>
    public Party NewParty() => new(this);

    public async ValueTask DisposeAsync()
    {
        if (Backend is not null) await Backend.DisposeAsync();
    }
}

/// <summary>The players of one test: created on the fixture's game, kept alive while the test runs, stopped at its end.</summary>
public sealed class Party(MatchmakingFixture fixture) : IAsyncDisposable
{
    private readonly List<TestPlayer> _players = [];

    /// <summary><paramref name="count"/> new players, each assigned to a lobby and greeted by it.</summary>
    public async Task<TestPlayer[]> InLobbyAsync(int count)
    {
        var players = new TestPlayer[count];
        for (var i = 0; i < count; i++)
        {
            players[i] = await fixture.Backend.NewPlayerAsync(fixture.Game);
            _players.Add(players[i]);
            players[i].KeepAlive();
        }
        await Task.WhenAll(players.Select(p => p.JoinLobbyAsync()));
        return players;
    }

    public async Task<TestPlayer> InLobbyAsync() => (await InLobbyAsync(1))[0];

    public async ValueTask DisposeAsync()
    {
        foreach (var player in _players) await player.DisposeAsync();
    }
}
