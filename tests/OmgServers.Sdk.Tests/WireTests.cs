using System.Text.Json;
using FluentAssertions;
using OmgServers.Contracts;
using OmgServers.Contracts.Interchange;

namespace OmgServers.Sdk.Tests;

/// <summary>The interchange DTOs read and write the contract's JSON (1.2, 4.1, 4.2) with WireJson.</summary>
public sealed class WireTests
{
    private static T Read<T>(string json) => JsonSerializer.Deserialize<T>(json, WireJson.Options)!;

    private static string Write<T>(T value) => JsonSerializer.Serialize(value, WireJson.Options);

    [Fact]
    public void Player_interchange_request_has_snake_case_names_and_ids_as_strings()
    {
        var request = new PlayerInterchangeRequest(226870983437451264,
            [PlayerMessage.Create(1, new ClientOutgoingMessageBody(Payload.From(new { text = "hi" })))], [226870990000000001]);

        Write(request).Should().Be(
            """{"client_id":"226870983437451264","outgoing_messages":[{"id":"1","qualifier":"CLIENT_OUTGOING_MESSAGE","body":{"data":{"text":"hi"}}}],"consumed_messages":["226870990000000001"]}""");
    }

    [Fact]
    public void Runtime_assignment_message_reads_with_a_null_match_config_and_ids_as_numbers_or_strings()
    {
        var response = Read<PlayerInterchangeResponse>("""
            {"incoming_messages":[{"id":"5","qualifier":"RUNTIME_ASSIGNMENT_MESSAGE","body":{
              "runtime_id":"226870983437451264","runtime_qualifier":"LOBBY",
              "runtime_config":{"lobby_config":{"lobby_id":7},"match_config":null,
                "version_config":{"modes":[{"name":"death-match","min_players":2,"max_players":8,
                  "groups":[{"name":"players","min_players":2,"max_players":8}]}],"user_data":{"any":"json"}}}},
              "unknown":"ignored"}]}
            """);

        var message = response.IncomingMessages.Should().ContainSingle().Subject;
        message.Id.Should().Be(5);
        var body = message.BodyAs<RuntimeAssignmentMessageBody>();
        body.RuntimeId.Should().Be(226870983437451264);
        body.RuntimeQualifier.Should().Be(RuntimeQualifier.LOBBY);
        body.RuntimeConfig.LobbyConfig.Should().Be(new LobbyConfig(7));
        body.RuntimeConfig.MatchConfig.Should().BeNull();
        body.RuntimeConfig.VersionConfig!.Modes![0]!.Groups![0]!.MaxPlayers.Should().Be(8);
        var wrongType = () => message.BodyAs<ServerOutgoingMessageBody>();
        wrongType.Should().Throw<InvalidOperationException>();
    }

    [Fact]
    public void Every_server_message_body_round_trips()
    {
        var created = DateTimeOffset.Parse("2025-01-22T18:03:11.482Z");
        Write(new ServerWelcomeMessageBody(1, 2, created)).Should().Be("""{"tenant_id":"1","version_id":"2","version_created":"2025-01-22T18:03:11.482Z"}""");
        Write(new MatchmakerAssignmentMessageBody(3)).Should().Be("""{"matchmaker_id":"3"}""");
        Write(new ConnectionUpgradeMessageBody(4, UpgradeProtocol.DISPATCHER, new WebSocketConfig("jwt")))
            .Should().Be("""{"client_id":"4","protocol":"DISPATCHER","web_socket_config":{"ws_token":"jwt"}}""");
        Write(new DisconnectionReasonMessageBody(DisconnectionReason.INTERNAL_FAILURE)).Should().Be("""{"reason":"INTERNAL_FAILURE"}""");
        Write(new ServerOutgoingMessageBody(Payload.Parse("[1,\"a\",null]"))).Should().Be("""{"message":[1,"a",null]}""");
        Write(new RuntimeConfig(null, new MatchConfig(5, 6), new VersionConfig([], null)))
            .Should().Be("""{"lobby_config":null,"match_config":{"matchmaker_id":"5","match_id":"6"},"version_config":{"modes":[],"user_data":null}}""");
    }

    [Fact]
    public void Runtime_commands_are_read_as_full_records()
    {
        var response = Read<RuntimeInterchangeResponse>("""
            {"incoming_commands":[
              {"id":"10","idempotency_key":"evt/1","runtime_id":"99","created":"2025-01-22T18:03:11Z","modified":"2025-01-22T18:03:11.400Z",
               "qualifier":"ADD_MATCH_CLIENT","body":{"user_id":"1","client_id":"2","group_name":"players","profile":{}},"deleted":false},
              {"id":"11","idempotency_key":"evt/2","runtime_id":"99","created":"2025-01-22T18:03:12Z","modified":"2025-01-22T18:03:12Z",
               "qualifier":"HANDLE_MESSAGE","body":{"client_id":2,"message":"text"},"deleted":false}]}
            """);

        var (add, handle) = (response.IncomingCommands[0], response.IncomingCommands[1]);
        add.RuntimeId.Should().Be(99);
        add.Modified.Should().Be(DateTimeOffset.Parse("2025-01-22T18:03:11.400Z"));
        add.BodyAs<AddMatchClientBody>().Should().BeEquivalentTo(new { UserId = 1L, ClientId = 2L, GroupName = "players" });
        handle.BodyAs<HandleMessageBody>().ClientId.Should().Be(2);
        handle.BodyAs<HandleMessageBody>().Message.GetString().Should().Be("text");
    }

    [Fact]
    public void Unknown_qualifiers_are_refused_by_exact_name()
    {
        var lowerCase = () => Read<OutgoingCommand>("""{"qualifier":"respond_client","body":{}}""");
        lowerCase.Should().Throw<JsonException>();
        var unknown = () => Read<PlayerMessage>("""{"id":"1","qualifier":"CLIENT_GREETED","body":{}}""");
        unknown.Should().Throw<JsonException>();
    }

    [Fact]
    public void Outgoing_command_bodies_follow_the_contract()
    {
        Write(OutgoingCommand.Create(new StopMatchmakingBody())).Should().Be("""{"qualifier":"STOP_MATCHMAKING","body":{}}""");
        Write(OutgoingCommand.Create(new MulticastMessageBody([1, 2], Payload.From("x"))))
            .Should().Be("""{"qualifier":"MULTICAST_MESSAGE","body":{"clients":["1","2"],"message":"x"}}""");
        var request = new RuntimeInterchangeRequest([], []);
        Write(request).Should().Be("""{"outgoing_commands":[],"consumed_commands":[]}""");
        RequestValidator.FirstViolation(new RuntimeInterchangeRequest(null, [])).Should().NotBeNull("both lists are required");
    }

    [Fact]
    public void Payloads_keep_json_values_and_snake_case_objects()
    {
        Payload.From(null).ValueKind.Should().Be(JsonValueKind.Null);
        Payload.From(default(JsonElement)).ValueKind.Should().Be(JsonValueKind.Null);
        Payload.From(System.Text.Json.Nodes.JsonNode.Parse("""{"KeepMe":1}""")).GetRawText().Should().Be("""{"KeepMe":1}""");
        Payload.From(new { PlayerName = "a", Score = 3 }).GetRawText().Should().Be("""{"player_name":"a","score":3}""");
        Payload.From(new Dictionary<string, int> { ["KeepMe"] = 1 }).GetRawText().Should().Be("""{"KeepMe":1}""");
    }
}
