namespace OmgServers.Hosting.Configuration;

/// <summary>
/// Maps settings keys to environment variables and applies them. The rule: <c>OMGSERVERS_</c> + the key path after
/// <c>omgservers.</c>, upper-cased, <c>.</c> and <c>-</c> turned into <c>_</c>
/// (<c>omgservers.actors.ask-timeout</c> ← <c>OMGSERVERS_ACTORS_ASK_TIMEOUT</c>), plus the aliases in <see cref="Aliases"/>.
/// Lists take <c>VAR=a,b</c>, <c>VAR_0</c>, <c>VAR_1</c>, ..., or for lists of objects <c>VAR_0__FIELD</c>.
/// </summary>
public static class EnvironmentOverrides
{
    public const string Prefix = "OMGSERVERS_";

    /// <summary>Extra variable names of a key, besides the rule's one.</summary>
    public static readonly IReadOnlyDictionary<string, string[]> Aliases = new Dictionary<string, string[]>
    {
        ["omgservers.server.data-dir"] = ["OMGSERVERS_DATA_DIR"],
    };

    /// <summary>OMGSERVERS_* variables that are not settings (read elsewhere), so they are not reported as unused.</summary>
    public static readonly IReadOnlySet<string> NotSettings = new HashSet<string>(StringComparer.Ordinal)
    {
        "OMGSERVERS_CONFIG",
        "OMGSERVERS_TEST_DATABASE_URL",
        PostgresBinaries.BinDirectoryVariable,
    };

    /// <summary>The variable the rule gives a key path (<c>omgservers.server.port</c> → <c>OMGSERVERS_SERVER_PORT</c>).</summary>
    public static string VariableFor(IReadOnlyList<string> path) =>
        Prefix + string.Join('_', path.Skip(1).Select(k => k.ToUpperInvariant().Replace('-', '_')));

    public static IEnumerable<string> VariablesFor(IReadOnlyList<string> path)
    {
        yield return VariableFor(path);
        if (Aliases.TryGetValue(string.Join('.', path), out var aliases))
        {
            foreach (var alias in aliases)
            {
                yield return alias;
            }
        }
    }

    /// <summary>
    /// For every leaf key of <paramref name="schema"/> (the defaults) whose variable is set, sets that key in
    /// <paramref name="target"/>. Returns the variables used.
    /// </summary>
    public static ISet<string> Apply(HoconObject schema, HoconObject target, IReadOnlyDictionary<string, string> environment)
    {
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (path, defaultValue) in schema.Leaves())
        {
            foreach (var variable in VariablesFor(path))
            {
                var value = defaultValue is HoconList
                    ? ReadList(variable, environment, used)
                    : ReadScalar(variable, environment, used);
                if (value is not null)
                {
                    target.Set(path, value);
                }
            }
        }

        return used;
    }

    private static HoconValue? ReadScalar(string variable, IReadOnlyDictionary<string, string> environment, ISet<string> used)
    {
        if (!environment.TryGetValue(variable, out var text))
        {
            return null;
        }

        used.Add(variable);
        return new HoconScalar(text.Trim(), quoted: true, Origin(variable));
    }

    private static HoconList? ReadList(string variable, IReadOnlyDictionary<string, string> environment, ISet<string> used)
    {
        if (environment.TryGetValue(variable, out var joined))
        {
            used.Add(variable);
            var items = joined.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(item => (HoconValue)new HoconScalar(item, quoted: true, Origin(variable)))
                .ToList();
            return new HoconList(items, Origin(variable));
        }

        // VAR_<index> (scalars) and VAR_<index>__<FIELD> (objects), in index order.
        var elements = new SortedDictionary<int, HoconValue>();
        var prefix = variable + "_";
        foreach (var (name, text) in environment)
        {
            if (!name.StartsWith(prefix, StringComparison.Ordinal))
            {
                continue;
            }

            var rest = name[prefix.Length..];
            var separator = rest.IndexOf("__", StringComparison.Ordinal);
            var indexText = separator < 0 ? rest : rest[..separator];
            if (!int.TryParse(indexText, out var index) || index < 0)
            {
                continue;
            }

            used.Add(name);
            if (separator < 0)
            {
                elements[index] = new HoconScalar(text.Trim(), quoted: true, Origin(name));
                continue;
            }

            if (!elements.TryGetValue(index, out var element) || element is not HoconObject obj)
            {
                obj = new HoconObject(Origin(name));
                elements[index] = obj;
            }

            var field = rest[(separator + 2)..].ToLowerInvariant().Replace('_', '-');
            obj.Set([field], new HoconScalar(text.Trim(), quoted: true, Origin(name)));
        }

        return elements.Count == 0 ? null : new HoconList(elements.Values.ToList(), Origin(prefix + "<index>"));
    }

    private static string Origin(string variable) => $"environment variable {variable}";
}
