using OmgServers.Actors;
using OmgServers.Domain.Aliases;
using OmgServers.Domain.Users;

namespace OmgServers.Domain;

/// <summary>The one place every entity type of the backend is registered (service, cluster nodes and tests alike).</summary>
public static class DomainEntities
{
    public static EntityRegistryBuilder AddDomainEntities(this EntityRegistryBuilder r)
    {
        UserEntity.Register(r);
        AliasEntity.Register(r);
        Clients.ClientEntity.Register(r);
        Tenants.TenantEntity.Register(r);
        Deployments.DeploymentEntity.Register(r);
        Lobbies.LobbyEntity.Register(r);
        Runtimes.RuntimeEntity.Register(r);
        Players.PlayerEntity.Register(r);
        Matchmaking.MatchmakerEntity.Register(r);
        return r;
    }
}
