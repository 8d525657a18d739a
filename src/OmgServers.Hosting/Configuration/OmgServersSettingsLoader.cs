using System.Collections;

namespace OmgServers.Hosting.Configuration;

/// <summary>The settings and where they came from, for the startup log.</summary>
/// <param name="ConfigFile">The file read on top of the built-in defaults, or null.</param>
/// <param name="UsedVariables">OMGSERVERS_* environment variables that set a key.</param>
/// <param name="UnusedVariables">OMGSERVERS_* environment variables that match no key (typos, or upstream settings this server has no use for).</param>
public sealed record LoadedSettings(
    OmgServersSettings Settings,
    string? ConfigFile,
    IReadOnlyList<string> UsedVariables,
    IReadOnlyList<string> UnusedVariables);

/// <summary>
/// Loads <see cref="OmgServersSettings"/>: the built-in defaults (hocon/omgservers.conf, compiled in), then a config
/// file on top, then OMGSERVERS_* environment variables (<see cref="EnvironmentOverrides"/>). Unknown keys and bad
/// values fail with a <see cref="SettingsException"/> (or a <see cref="HoconParseException"/> for bad syntax).
/// </summary>
public static class OmgServersSettingsLoader
{
    public const string ConfigVariable = "OMGSERVERS_CONFIG";
    public const string ConfigArgument = "--config";
    public const string DefaultRelativePath = "hocon/omgservers.conf";
    private const string DefaultsResource = "omgservers.conf";

    /// <summary>
    /// Loads for a process: the file from <c>--config &lt;path&gt;</c> (or <c>--config=&lt;path&gt;</c>), else OMGSERVERS_CONFIG,
    /// else hocon/omgservers.conf under the app base directory or the current directory, else the built-in defaults alone.
    /// </summary>
    public static LoadedSettings Load(string[] args)
    {
        var environment = ProcessEnvironment();
        return Load(LocateConfigFile(args, environment, AppContext.BaseDirectory, Directory.GetCurrentDirectory()), environment);
    }

    public static LoadedSettings Load(string? configFile, IReadOnlyDictionary<string, string> environment)
    {
        var schema = ParseDefaults();
        var merged = ParseDefaults();
        var binder = new SettingsBinder(merged);
        if (configFile is not null)
        {
            if (!File.Exists(configFile))
            {
                throw new SettingsException([$"config file '{configFile}' does not exist"]);
            }

            var file = HoconParser.ParseFile(configFile);
            CheckKnownKeys(schema, file, [], binder);
            merged.MergeFrom(file);
        }

        var used = EnvironmentOverrides.Apply(schema, merged, environment);
        var settings = OmgServersSettings.Bind(binder);
        binder.ThrowIfInvalid();

        var unused = environment.Keys
            .Where(k => k.StartsWith(EnvironmentOverrides.Prefix, StringComparison.Ordinal)
                        && !used.Contains(k) && !EnvironmentOverrides.NotSettings.Contains(k))
            .Order(StringComparer.Ordinal)
            .ToList();
        return new LoadedSettings(settings, configFile, used.Order(StringComparer.Ordinal).ToList(), unused);
    }

    /// <summary>The built-in defaults, parsed (a fresh tree on every call).</summary>
    public static HoconObject ParseDefaults()
    {
        using var stream = typeof(OmgServersSettingsLoader).Assembly.GetManifestResourceStream(DefaultsResource)
                           ?? throw new InvalidOperationException($"Embedded resource '{DefaultsResource}' is missing from OmgServers.Hosting.");
        using var reader = new StreamReader(stream);
        return HoconParser.Parse(reader.ReadToEnd(), $"(built-in {DefaultRelativePath})");
    }

    public static string? LocateConfigFile(string[] args, IReadOnlyDictionary<string, string> environment, string baseDirectory, string currentDirectory)
    {
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == ConfigArgument)
            {
                return i + 1 < args.Length
                    ? Path.GetFullPath(args[i + 1], currentDirectory)
                    : throw new SettingsException([$"{ConfigArgument} needs a file path"]);
            }

            if (args[i].StartsWith(ConfigArgument + "=", StringComparison.Ordinal))
            {
                return Path.GetFullPath(args[i][(ConfigArgument.Length + 1)..], currentDirectory);
            }
        }

        if (environment.TryGetValue(ConfigVariable, out var fromEnvironment) && fromEnvironment.Trim().Length > 0)
        {
            return Path.GetFullPath(fromEnvironment.Trim(), currentDirectory);
        }

        return new[] { baseDirectory, currentDirectory }
            .Select(directory => Path.Combine(directory, DefaultRelativePath))
            .FirstOrDefault(File.Exists);
    }

    public static IReadOnlyDictionary<string, string> ProcessEnvironment() =>
        Environment.GetEnvironmentVariables()
            .Cast<DictionaryEntry>()
            .ToDictionary(e => (string)e.Key, e => (string?)e.Value ?? "", StringComparer.Ordinal);

    /// <summary>Every key of a config file must exist in the defaults, with the same kind (object or value).</summary>
    private static void CheckKnownKeys(HoconObject schema, HoconObject file, List<string> prefix, SettingsBinder binder)
    {
        foreach (var (key, value) in file.Fields)
        {
            var path = string.Join('.', prefix.Append(key));
            switch (schema[key], value)
            {
                case (null, _):
                    binder.Fail(path, $"unknown key ({value.Origin}); the known keys are documented in {DefaultRelativePath}");
                    break;
                case (HoconObject schemaChild, HoconObject fileChild):
                    CheckKnownKeys(schemaChild, fileChild, [.. prefix, key], binder);
                    break;
                case (HoconObject, _):
                    binder.Fail(path, $"expected an object {{ ... }} ({value.Origin})");
                    break;
                case (_, HoconObject):
                    binder.Fail(path, $"expected a value, not an object ({value.Origin})");
                    break;
            }
        }
    }
}
