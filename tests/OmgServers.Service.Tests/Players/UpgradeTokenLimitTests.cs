using FluentAssertions;
using OmgServers.Contracts.Interchange;
using OmgServers.Service.Api;
using Xunit;

namespace OmgServers.Service.Tests.Players;

/// <summary>The limit on player WS tokens signed per runtime interchange (each is an RS256 signature).</summary>
public sealed class UpgradeTokenLimitTests
{
    private static OutgoingCommand Upgrade(long clientId) => OutgoingCommand.Create(new UpgradeConnectionBody(clientId, UpgradeProtocol.DISPATCHER));

    [Fact]
    public void At_most_100_clients_get_a_token_per_call_and_a_client_upgraded_twice_is_signed_once()
    {
        var signed = new List<long>();
        var commands = Enumerable.Range(1, RuntimeApi.MaxUpgradesPerCall + 20).Select(i => Upgrade(i)).ToList();
        commands.Insert(5, Upgrade(1));
        commands.Add(OutgoingCommand.Create(new RespondClientBody(999, Payload.From("hi"))));

        var tokens = RuntimeApi.UpgradeTokens(commands, clientId => { signed.Add(clientId); return $"token-{clientId}"; });

        tokens.Should().HaveCount(RuntimeApi.MaxUpgradesPerCall);
        tokens.Keys.Should().BeEquivalentTo(Enumerable.Range(1, RuntimeApi.MaxUpgradesPerCall).Select(i => (long)i), "the first 100 clients, in order");
        signed.Should().OnlyHaveUniqueItems("a client upgraded twice in one call costs one signature");
        tokens[7].Should().Be("token-7");
        tokens.Should().NotContainKey(999, "only UPGRADE_CONNECTION needs a token");
    }

    [Fact]
    public void A_malformed_upgrade_gets_no_token()
    {
        var bad = new OutgoingCommand(OutgoingCommandQualifier.UPGRADE_CONNECTION, Payload.Parse("""{"client_id":"not a number"}"""));
        RuntimeApi.UpgradeTokens([bad, Upgrade(3)], id => "t").Keys.Should().Equal(3);
    }
}
