using OmgServers.Contracts.Interchange;
using OmgServers.Security;

namespace OmgServers.Domain;

/// <summary>The rules of the game side of the backend (clients, lobbies, runtimes); the host fills them from its settings.</summary>
public sealed class GameOptions
{
    /// <summary>A client that has not interchanged for this long is disconnected (contract 5.7).</summary>
    public TimeSpan ClientInactiveInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>A runtime that has not interchanged for this long is treated as dead (contract 5.7).</summary>
    public TimeSpan RuntimeInactiveInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>An empty lobby is removed only after it has lived this long.</summary>
    public TimeSpan LobbyMinLifetime { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Players in one lobby; a full lobby makes the deployment start another.</summary>
    public int MaxClientsPerLobby { get; init; } = 1000;

    /// <summary>Commands a runtime may leave unacknowledged before players' messages to it are refused.</summary>
    public int MaxUnconsumedCommands { get; init; } = 10_000;

    /// <summary>Unacknowledged messages a client may have; beyond it new SERVER_OUTGOING_MESSAGEs are dropped (the player is not reading).</summary>
    public int MaxUnconsumedMessages { get; init; } = 1000;

    public static readonly GameOptions Default = new();

    /// <summary>Clients and runtimes stay in memory this long after their last message: longer than any inactivity interval.</summary>
    public static readonly TimeSpan MinPassivation = TimeSpan.FromMinutes(10);

    /// <summary>The longest inactivity interval the entities support (half of <see cref="MinPassivation"/>).</summary>
    public static readonly TimeSpan MaxInactiveInterval = TimeSpan.FromMinutes(5);
}

/// <summary>Where runtimes are started and stopped (the host's supervisor); the entities never wait on it in their mailbox.</summary>
public interface IRuntimeLauncher
{
    /// <summary>Starts the runtime's process or container, idempotent per runtime id.</summary>
    Task StartAsync(RuntimeStart start, CancellationToken ct);

    /// <summary>Stops it if it runs on this node; false when nothing ran here under that id.</summary>
    Task<bool> StopAsync(long runtimeId, CancellationToken ct);
}

/// <summary>What a launcher needs; the password goes to the runtime only.</summary>
public sealed record RuntimeStart(long RuntimeId, RuntimeQualifier Qualifier, string ImageId, string Password, IReadOnlyDictionary<string, string> Labels)
{
    public override string ToString() => $"RuntimeStart {{ RuntimeId = {RuntimeId}, Qualifier = {Qualifier}, ImageId = {ImageId}, Password = *** }}";
}

/// <summary>A launcher that runs nothing (hosts without runtime hosting, tests of the entities alone).</summary>
public sealed class NoRuntimeLauncher : IRuntimeLauncher
{
    public static readonly NoRuntimeLauncher Instance = new();
    public Task StartAsync(RuntimeStart start, CancellationToken ct) => Task.CompletedTask;
    public Task<bool> StopAsync(long runtimeId, CancellationToken ct) => Task.FromResult(false);
}

/// <summary>Ids an entity numbers its own records with: increasing per entity and in the snowflake id space (time first).</summary>
public static class LocalIds
{
    public static long Next(long last, DateTimeOffset now)
    {
        var fromClock = (now.ToUnixTimeMilliseconds() - SnowflakeIds.EpochUnixMilliseconds) << SnowflakeIds.TimestampShift;
        return Math.Max(last + 1, fromClock);
    }
}

/// <summary>What the game entities take from the host's services, with defaults for hosts that register none.</summary>
public static class GameServices
{
    public static GameOptions Options(IServiceProvider sp) => sp.GetService(typeof(GameOptions)) as GameOptions ?? GameOptions.Default;

    public static IRuntimeLauncher Launcher(IServiceProvider sp) => sp.GetService(typeof(IRuntimeLauncher)) as IRuntimeLauncher ?? NoRuntimeLauncher.Instance;

    public static SnowflakeIds Ids(IServiceProvider sp) => sp.GetService(typeof(SnowflakeIds)) as SnowflakeIds ?? Fallback.Value;

    private static readonly Lazy<SnowflakeIds> Fallback = new(() => new SnowflakeIds(0));
}
