using System.Globalization;
using OmgServers.Actors;
using OmgServers.Contracts;
using OmgServers.Domain.Aliases;
using OmgServers.Domain.Tenants;
using OmgServers.Hosting.Configuration;
using OmgServers.Security;
using OmgServers.Service.Identity;

namespace OmgServers.Service.ControlPlane;

/// <summary>
/// The control plane's edge helper: resolves `tenant` / `project` / `stage` request strings, asks the tenant entity
/// and turns its rejections into the contract's errors, and runs the alias flows. Ids come from here (SnowflakeIds)
/// and travel in the commands, so the entity's decisions are deterministic.
/// </summary>
public sealed class Tenants(ActorRuntime runtime, SnowflakeIds ids, Users users, OmgServersSettings settings)
{
    public long NextId() => ids.Next();

    public IReadOnlyList<long> NextIds(int count)
    {
        var result = new long[count];
        for (var i = 0; i < count; i++) result[i] = ids.Next();
        return result;
    }

    /// <summary>Asks the tenant; a <see cref="TenantRejected"/> reply becomes its ApiException.</summary>
    public async Task<T> AskAsync<T>(long tenantId, object message, CancellationToken ct) where T : class
    {
        var reply = await runtime.AskAsync<object?>(TenantEntity.Address(tenantId), message, ct: ct);
        return reply switch
        {
            T typed => typed,
            TenantRejected rejected => throw ToApiException(rejected),
            _ => throw new InvalidOperationException($"tenant {tenantId} replied {reply?.GetType().Name ?? "null"} to {message.GetType().Name}, expected {typeof(T).Name}"),
        };
    }

    public static ApiException ToApiException(TenantRejected rejected) => rejected.Kind switch
    {
        RejectionKind.NotFound => ApiException.NotFound(rejected.Qualifier),
        RejectionKind.Forbidden => ApiException.Forbidden(rejected.Qualifier),
        RejectionKind.Conflict => ApiException.Conflict(rejected.Qualifier),
        _ => throw new ArgumentOutOfRangeException(nameof(rejected), rejected.Kind, "unknown rejection kind"),
    };

    // ------------------------------------------------------------------ resolving request strings (contract 6.4)

    /// <summary>A number is a tenant id (never an alias); anything else a TENANT alias. Unknown alias: 404.</summary>
    public Task<long> ResolveTenantAsync(string tenant, CancellationToken ct) => ResolveAsync(AliasQualifier.TENANT, 0, 0, tenant, ct);

    /// <summary>A project id, or a PROJECT alias of the tenant.</summary>
    public Task<long> ResolveProjectAsync(long tenantId, string project, CancellationToken ct) => ResolveAsync(AliasQualifier.PROJECT, tenantId, 0, project, ct);

    /// <summary>A stage id, or a STAGE alias of the project.</summary>
    public Task<long> ResolveStageAsync(long tenantId, long projectId, string stage, CancellationToken ct) => ResolveAsync(AliasQualifier.STAGE, tenantId, projectId, stage, ct);

    public async Task<(long TenantId, long ProjectId)> ResolveAsync(string tenant, string project, CancellationToken ct)
    {
        var tenantId = await ResolveTenantAsync(tenant, ct);
        return (tenantId, await ResolveProjectAsync(tenantId, project, ct));
    }

    public async Task<(long TenantId, long ProjectId, long StageId)> ResolveAsync(string tenant, string project, string stage, CancellationToken ct)
    {
        var (tenantId, projectId) = await ResolveAsync(tenant, project, ct);
        return (tenantId, projectId, await ResolveStageAsync(tenantId, projectId, stage, ct));
    }

    private async Task<long> ResolveAsync(AliasQualifier qualifier, long tenantId, long projectId, string value, CancellationToken ct)
    {
        if (long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var id)) return id;
        var ns = AliasNamespace.Of(qualifier, tenantId, projectId);
        var alias = await runtime.AskAsync<AliasView>(AliasEntity.Address(qualifier, ns.ShardKey, ns.UniquenessGroup, value), new AliasCommands.Resolve(), ct: ct);
        return alias.EntityId ?? throw ApiException.NotFound();
    }

    // ------------------------------------------------------------------ aliases

    /// <summary>
    /// create-tenant-alias, create-project-alias, create-stage-alias: the tenant checks that the target exists and
    /// that the developer may name it, the alias entity takes the claim (held by another entity: 400
    /// DB_CONSTRAINT_VIOLATED), then the tenant records it. Each step is idempotent, so repeating a request that broke
    /// between the claim and the record repairs it.
    /// </summary>
    public async Task CreateAliasAsync(long tenantId, AliasQualifier qualifier, long entityId, string value, long? developer, CancellationToken ct)
    {
        var ns = await AskAsync<AliasNamespace>(tenantId, new TenantCommands.CheckAliasTarget(qualifier, entityId, developer), ct);
        var claim = await runtime.AskAsync<AliasView>(AliasEntity.Address(qualifier, ns.ShardKey, ns.UniquenessGroup, value),
            new AliasCommands.Claim(ids.Next(), entityId, Users.Now()), ct: ct);
        if (!claim.Claimed) throw ApiException.BadRequest(Qualifier.DB_CONSTRAINT_VIOLATED, $"the {qualifier} alias '{value}' is taken");
        await AskAsync<TenantAck>(tenantId, new TenantCommands.RecordAlias(qualifier, entityId, claim.AliasId, value, claim.Created, developer), ct);
    }

    // ------------------------------------------------------------------ projects

    /// <summary>
    /// Creates a project with its first stage. The builder and service users (found by their bootstrap aliases;
    /// skipped if they do not exist) get VERSION_MANAGER on it (contract 6.5); a developer caller gets the grants of 2.5.
    /// </summary>
    public async Task<CreateProjectResponse> CreateProjectAsync(long tenantId, long? developer, CancellationToken ct)
    {
        var versionManagers = await VersionManagersAsync(ct);
        var command = new TenantCommands.CreateProject(ids.Next(), ids.Next(), developer, versionManagers, NextIds(4 + versionManagers.Count), Users.Now());
        return await AskAsync<CreateProjectResponse>(tenantId, command, ct);
    }

    private async Task<IReadOnlyList<long>> VersionManagersAsync(CancellationToken ct)
    {
        var found = new List<long>(2);
        foreach (var alias in new[] { settings.Bootstrap.BuilderUser.Alias, settings.Bootstrap.ServiceUser.Alias })
        {
            long userId;
            try
            {
                userId = await users.ResolveAsync(alias, ct);
            }
            catch (ApiException ex) when (ex.Status == 404)
            {
                continue;
            }
            var user = await users.GetAsync(userId, ct);
            if (user.Exists && !user.Deleted && !found.Contains(userId)) found.Add(userId);
        }
        return found;
    }
}
