namespace OmgServers.Hosting.Configuration;

/// <summary>A parsed HOCON value. <see cref="Origin"/> says where it came from (file:line or an environment variable).</summary>
public abstract class HoconValue
{
    protected HoconValue(string origin) => Origin = origin;

    public string Origin { get; }
}

/// <summary>A string, number, boolean or null, kept as its text; the settings binder gives it a type.</summary>
public sealed class HoconScalar(string text, bool quoted, string origin) : HoconValue(origin)
{
    public string Text { get; } = text;

    /// <summary>True for "quoted" text: never read as null.</summary>
    public bool Quoted { get; } = quoted;

    public bool IsNull => !Quoted && Text == "null";

    public override string ToString() => Quoted ? $"\"{Text}\"" : Text;
}

public sealed class HoconList(IReadOnlyList<HoconValue> items, string origin) : HoconValue(origin)
{
    public IReadOnlyList<HoconValue> Items { get; } = items;

    public override string ToString() => $"[{string.Join(", ", Items)}]";
}

/// <summary>An object: ordered fields. Setting a field that holds an object to another object merges them (HOCON rule).</summary>
public sealed class HoconObject(string origin) : HoconValue(origin)
{
    private readonly OrderedDictionary<string, HoconValue> _fields = new(StringComparer.Ordinal);

    public IEnumerable<KeyValuePair<string, HoconValue>> Fields => _fields;

    public HoconValue? this[string key] => _fields.GetValueOrDefault(key);

    /// <summary>The value at a dotted path (<c>omgservers.server.port</c>), or null.</summary>
    public HoconValue? Find(string path) => Find(SplitPath(path));

    public HoconValue? Find(IReadOnlyList<string> path)
    {
        HoconValue? current = this;
        foreach (var key in path)
        {
            if (current is not HoconObject obj || obj[key] is not { } next)
            {
                return null;
            }

            current = next;
        }

        return current;
    }

    /// <summary>Sets a value at a path, creating objects on the way; objects merge into objects, anything else replaces.</summary>
    public void Set(IReadOnlyList<string> path, HoconValue value)
    {
        ArgumentOutOfRangeException.ThrowIfZero(path.Count);
        var target = this;
        for (var i = 0; i < path.Count - 1; i++)
        {
            if (target[path[i]] is not HoconObject child)
            {
                child = new HoconObject(value.Origin);
                target._fields[path[i]] = child;
            }

            target = child;
        }

        var last = path[^1];
        if (value is HoconObject incoming && target[last] is HoconObject existing)
        {
            existing.MergeFrom(incoming);
        }
        else
        {
            target._fields[last] = value;
        }
    }

    /// <summary>Overlays <paramref name="other"/> onto this object (other's values win).</summary>
    public void MergeFrom(HoconObject other)
    {
        foreach (var (key, value) in other._fields)
        {
            Set([key], value);
        }
    }

    /// <summary>Every leaf (scalar or list) below this object, with its path.</summary>
    public IEnumerable<(IReadOnlyList<string> Path, HoconValue Value)> Leaves()
    {
        foreach (var (key, value) in _fields)
        {
            if (value is HoconObject child)
            {
                foreach (var (path, leaf) in child.Leaves())
                {
                    yield return ([key, .. path], leaf);
                }
            }
            else
            {
                yield return ([key], value);
            }
        }
    }

    public static IReadOnlyList<string> SplitPath(string path) => path.Split('.');

    public override string ToString() => "{" + string.Join(", ", _fields.Select(f => $"{f.Key} = {f.Value}")) + "}";
}
