using System.Collections.Frozen;
using Microsoft.Extensions.DependencyInjection;

namespace OmgServers.Actors;

/// <summary>
/// Stable names of the types that are written to the journal or cross a node boundary. A persisted name must never
/// change: renaming a C# type is fine, renaming its registered name breaks replay.
/// </summary>
public sealed class TypeNames
{
    private readonly Dictionary<string, Type> _byName = new(StringComparer.Ordinal);
    private readonly Dictionary<Type, string> _byType = new();

    public void Register(Type type, string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (_byName.TryGetValue(name, out var existing) && existing != type)
            throw new ArgumentException($"type name '{name}' is already registered for {existing.FullName}");
        if (_byType.TryGetValue(type, out var existingName) && existingName != name)
            throw new ArgumentException($"{type.FullName} is already registered as '{existingName}'");
        _byName[name] = type;
        _byType[type] = name;
    }

    public string NameOf(Type type) => _byType.TryGetValue(type, out var name)
        ? name
        : throw new InvalidOperationException($"{type.FullName} has no registered type name; register it with Event<T>(\"name\") or Message<T>(\"name\")");

    public Type TypeOf(string name) => _byName.TryGetValue(name, out var type)
        ? type
        : throw new InvalidOperationException($"no type is registered under the name '{name}'");

    public bool TryGetType(string name, out Type type) => _byName.TryGetValue(name, out type!);

    public bool TryGetName(Type type, out string name) => _byType.TryGetValue(type, out name!);
}

/// <summary>Everything the runtime knows about one entity type.</summary>
public sealed class EntityType
{
    internal EntityType(string name, Type clrType, Func<IServiceProvider, Entity> factory)
    {
        Name = name;
        ClrType = clrType;
        Factory = factory;
        PersistenceIdPrefix = name;
    }

    public string Name { get; }
    public Type ClrType { get; }
    internal Func<IServiceProvider, Entity> Factory { get; }
    internal Func<string, string> ShardKeyOf { get; set; } = id => id;
    public string PersistenceIdPrefix { get; internal set; }
    public TimeSpan? PassivateAfter { get; internal set; }
    public int? SnapshotEvery { get; internal set; }
    public int? MailboxCapacity { get; internal set; }

    /// <summary>The persistence id of an entity of this type: "&lt;prefix&gt;-&lt;id&gt;". Never changes.</summary>
    public string PersistenceIdOf(string id) => PersistenceIdPrefix + "-" + id;

    public string ShardKey(string id) => ShardKeyOf(id);
}

/// <summary>Fluent settings of one entity type; see <see cref="EntityRegistryBuilder.Entity{T}"/>.</summary>
public sealed class EntityTypeBuilder<T> where T : Entity
{
    private readonly EntityType _type;
    private readonly EntityRegistryBuilder _registry;

    internal EntityTypeBuilder(EntityType type, EntityRegistryBuilder registry)
    {
        _type = type;
        _registry = registry;
    }

    /// <summary>How an id maps to the shard key (default: the id itself). Entities sharing a key share a shard.</summary>
    public EntityTypeBuilder<T> ShardKey(Func<string, string> shardKeyOf) { _type.ShardKeyOf = shardKeyOf; return this; }

    /// <summary>Prefix of the persistence ids (default: the type name). Never change it once data exists.</summary>
    public EntityTypeBuilder<T> PersistenceIdPrefix(string prefix) { ArgumentException.ThrowIfNullOrWhiteSpace(prefix); _type.PersistenceIdPrefix = prefix; return this; }

    public EntityTypeBuilder<T> PassivateAfter(TimeSpan idle) { _type.PassivateAfter = idle; return this; }
    public EntityTypeBuilder<T> SnapshotEvery(int events) { _type.SnapshotEvery = events; return this; }
    public EntityTypeBuilder<T> MailboxCapacity(int messages) { _type.MailboxCapacity = messages; return this; }

    /// <summary>Registers the stable journal name of an event or state type this entity writes.</summary>
    public EntityTypeBuilder<T> Event<TEvent>(string name) { _registry.Types.Register(typeof(TEvent), name); return this; }

    /// <summary>Registers the stable wire name of a message type (needed for reliable delivery and node-to-node hops).</summary>
    public EntityTypeBuilder<T> Message<TMessage>(string name) { _registry.Types.Register(typeof(TMessage), name); return this; }
}

/// <summary>The one place where entity types are registered; the same registration serves production, cluster and tests.</summary>
public sealed class EntityRegistryBuilder
{
    private readonly Dictionary<string, EntityType> _types = new(StringComparer.Ordinal);

    public TypeNames Types { get; } = new();

    public EntityRegistryBuilder()
    {
        Types.Register(typeof(ReminderFired), "omg.actors.reminder-fired");
        Types.Register(typeof(InboxMarked), "omg.actors.inbox-marked");
        Types.Register(typeof(OutboxEnqueued), "omg.actors.outbox-enqueued");
        Types.Register(typeof(OutboxConfirmed), "omg.actors.outbox-confirmed");
        Types.Register(typeof(ReliableDelivery), "omg.actors.reliable-delivery");
        Types.Register(typeof(DeliveryConfirmed), "omg.actors.delivery-confirmed");
    }

    /// <summary>Registers an entity type. The instance is created through DI (constructor injection) unless a factory is given.</summary>
    public EntityTypeBuilder<T> Entity<T>(string typeName, Func<IServiceProvider, T>? factory = null) where T : Entity
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(typeName);
        if (typeName.Contains('/') || typeName.Contains('-'))
            throw new ArgumentException($"entity type name '{typeName}' must not contain '/' or '-'");
        if (_types.ContainsKey(typeName)) throw new ArgumentException($"entity type '{typeName}' is registered twice");
        Func<IServiceProvider, Entity> create = factory is null
            ? sp => ActivatorUtilities.CreateInstance<T>(sp)
            : sp => factory(sp);
        var type = new EntityType(typeName, typeof(T), create);
        _types.Add(typeName, type);
        return new EntityTypeBuilder<T>(type, this);
    }

    internal EntityRegistry Build() => new(_types.ToFrozenDictionary(StringComparer.Ordinal), Types);
}

public sealed class EntityRegistry
{
    private readonly FrozenDictionary<string, EntityType> _types;

    internal EntityRegistry(FrozenDictionary<string, EntityType> types, TypeNames names)
    {
        _types = types;
        Names = names;
    }

    public TypeNames Names { get; }
    public IEnumerable<EntityType> All => _types.Values;

    public EntityType Get(string typeName) => _types.TryGetValue(typeName, out var type) ? type : throw new UnknownEntityTypeException(typeName);
}
