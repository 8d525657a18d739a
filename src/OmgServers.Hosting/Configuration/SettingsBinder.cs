using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;

namespace OmgServers.Hosting.Configuration;

/// <summary>Invalid settings: every problem found, each naming its key and where the value came from.</summary>
public sealed class SettingsException(IReadOnlyList<string> errors)
    : Exception("Invalid configuration:\n" + string.Join('\n', errors.Select(e => "  - " + e)))
{
    public IReadOnlyList<string> Errors { get; } = errors;
}

/// <summary>
/// Reads typed values from a merged <see cref="HoconObject"/>. Problems are collected (not thrown one at a time) so
/// that one start reports every bad key; <see cref="ThrowIfInvalid"/> throws them together.
/// </summary>
public sealed partial class SettingsBinder(HoconObject root)
{
    private readonly List<string> _errors = [];

    public IReadOnlyList<string> Errors => _errors;

    public void ThrowIfInvalid()
    {
        if (_errors.Count > 0)
        {
            throw new SettingsException(_errors);
        }
    }

    public void Fail(string path, string problem) => _errors.Add($"{path}: {problem}");

    public string String(string path, bool allowEmpty = true)
    {
        if (Scalar(path) is not { } scalar)
        {
            return "";
        }

        if (scalar.IsNull || (!allowEmpty && scalar.Text.Length == 0))
        {
            Report(path, scalar, "must not be empty");
            return "";
        }

        return scalar.Text;
    }

    public int Int(string path, int min, int max) => (int)Long(path, min, max);

    public long Long(string path, long min, long max)
    {
        if (Scalar(path) is not { } scalar)
        {
            return min;
        }

        if (!long.TryParse(scalar.Text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            Report(path, scalar, "expected a whole number");
            return min;
        }

        if (value < min || value > max)
        {
            Report(path, scalar, $"must be between {min} and {max}");
            return min;
        }

        return value;
    }

    public bool Bool(string path)
    {
        if (Scalar(path) is not { } scalar)
        {
            return false;
        }

        switch (scalar.Text.ToLowerInvariant())
        {
            case "true" or "yes" or "on" or "1":
                return true;
            case "false" or "no" or "off" or "0":
                return false;
            default:
                Report(path, scalar, "expected true or false");
                return false;
        }
    }

    public TimeSpan Duration(string path, TimeSpan? min = null)
    {
        if (Scalar(path) is not { } scalar)
        {
            return TimeSpan.Zero;
        }

        if (!TryParseDuration(scalar.Text, out var value))
        {
            Report(path, scalar, "expected a duration such as 500ms, 10s, 2m, 1h or a number of seconds");
            return TimeSpan.Zero;
        }

        var lowest = min ?? TimeSpan.FromMilliseconds(1);
        if (value < lowest)
        {
            Report(path, scalar, $"must be at least {FormatDuration(lowest)}");
        }

        return value;
    }

    public Uri AbsoluteHttpUri(string path)
    {
        var fallback = new Uri("http://localhost/");
        if (Scalar(path) is not { } scalar)
        {
            return fallback;
        }

        if (!Uri.TryCreate(scalar.Text, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            Report(path, scalar, "expected an absolute http:// or https:// URI");
            return fallback;
        }

        return uri;
    }

    public LogLevel LogLevel(string path)
    {
        if (Scalar(path) is not { } scalar)
        {
            return Microsoft.Extensions.Logging.LogLevel.Information;
        }

        if (!TryParseLogLevel(scalar.Text, out var level))
        {
            Report(path, scalar, "expected one of TRACE, DEBUG, INFO, WARN, ERROR, FATAL, OFF");
        }

        return level;
    }

    public T OneOf<T>(string path, IReadOnlyDictionary<string, T> choices)
    {
        var scalar = Scalar(path);
        if (scalar is not null && choices.TryGetValue(scalar.Text.ToLowerInvariant(), out var value))
        {
            return value;
        }

        if (scalar is not null)
        {
            Report(path, scalar, $"expected one of {string.Join(", ", choices.Keys)}");
        }

        return choices.Values.First();
    }

    public IReadOnlyList<string> StringList(string path)
    {
        // A scalar is a comma-separated list (how a list field of an object arrives from the environment).
        if (root.Find(path) is HoconScalar joined)
            return joined.Text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (List(path) is not { } list)
        {
            return [];
        }

        var result = new List<string>();
        foreach (var item in list.Items)
        {
            if (item is HoconScalar scalar)
            {
                result.Add(scalar.Text);
            }
            else
            {
                Report(path, item, "expected a list of strings");
            }
        }

        return result;
    }

    /// <summary>A list of objects, each read by <paramref name="read"/> with a binder rooted at the element (paths like <c>path[0].field</c> in errors).</summary>
    public IReadOnlyList<T> ObjectList<T>(string path, Func<ElementBinder, T> read)
    {
        if (List(path) is not { } list)
        {
            return [];
        }

        var result = new List<T>();
        for (var i = 0; i < list.Items.Count; i++)
        {
            if (list.Items[i] is HoconObject element)
            {
                result.Add(read(new ElementBinder(this, $"{path}[{i}]", element)));
            }
            else
            {
                Report($"{path}[{i}]", list.Items[i], "expected an object");
            }
        }

        return result;
    }

    /// <summary>Reads the fields of one list element through the parent's rules.</summary>
    public sealed class ElementBinder(SettingsBinder parent, string path, HoconObject element)
    {
        private readonly SettingsBinder _inner = new(Wrap(path, element));

        public string String(string field, bool allowEmpty = true) => Collect(b => b.String(Path(field), allowEmpty));

        public int Int(string field, int min, int max) => Collect(b => b.Int(Path(field), min, max));

        /// <summary>A string; a missing field is <paramref name="fallback"/>.</summary>
        public string OptionalString(string field, string fallback = "") => element.Find(field) is null ? fallback : String(field);

        /// <summary>A list of strings; a missing field is an empty list.</summary>
        public IReadOnlyList<string> StringList(string field) => element.Find(field) is null ? [] : Collect(b => b.StringList(Path(field)));

        private string Path(string field) => $"{path}.{field}";

        private T Collect<T>(Func<SettingsBinder, T> read)
        {
            var before = _inner._errors.Count;
            var value = read(_inner);
            parent._errors.AddRange(_inner._errors.Skip(before));
            return value;
        }

        private static HoconObject Wrap(string path, HoconObject element)
        {
            var root = new HoconObject(element.Origin);
            root.Set(HoconObject.SplitPath(path), element);
            return root;
        }
    }

    public static bool TryParseDuration(string text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        var match = DurationPattern().Match(text.Trim());
        if (!match.Success
            || !double.TryParse(match.Groups["number"].Value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
        {
            return false;
        }

        var unit = match.Groups["unit"].Value.ToLowerInvariant();
        double? milliseconds = unit switch
        {
            "ms" or "milli" or "millis" or "millisecond" or "milliseconds" => number,
            "" or "s" or "second" or "seconds" => number * 1_000,
            "m" or "minute" or "minutes" => number * 60_000,
            "h" or "hour" or "hours" => number * 3_600_000,
            "d" or "day" or "days" => number * 86_400_000,
            _ => null,
        };
        if (milliseconds is null || milliseconds > TimeSpan.MaxValue.TotalMilliseconds)
        {
            return false;
        }

        value = TimeSpan.FromMilliseconds(milliseconds.Value);
        return true;
    }

    public static string FormatDuration(TimeSpan value) =>
        value.TotalMilliseconds % 1000 != 0 ? $"{value.TotalMilliseconds:0.###}ms" : $"{value.TotalSeconds:0}s";

    public static bool TryParseLogLevel(string text, out LogLevel level)
    {
        (var ok, level) = text.Trim().ToUpperInvariant() switch
        {
            "TRACE" or "ALL" or "FINEST" or "FINER" => (true, Microsoft.Extensions.Logging.LogLevel.Trace),
            "DEBUG" or "FINE" => (true, Microsoft.Extensions.Logging.LogLevel.Debug),
            "INFO" or "INFORMATION" or "CONFIG" => (true, Microsoft.Extensions.Logging.LogLevel.Information),
            "WARN" or "WARNING" => (true, Microsoft.Extensions.Logging.LogLevel.Warning),
            "ERROR" or "SEVERE" => (true, Microsoft.Extensions.Logging.LogLevel.Error),
            "FATAL" or "CRITICAL" => (true, Microsoft.Extensions.Logging.LogLevel.Critical),
            "OFF" or "NONE" => (true, Microsoft.Extensions.Logging.LogLevel.None),
            _ => (false, Microsoft.Extensions.Logging.LogLevel.Information),
        };
        return ok;
    }

    private HoconScalar? Scalar(string path)
    {
        switch (root.Find(path))
        {
            case null:
                _errors.Add($"{path}: missing");
                return null;
            case HoconScalar scalar:
                return scalar;
            case var other:
                Report(path, other, "expected a single value, not an object or a list");
                return null;
        }
    }

    private HoconList? List(string path)
    {
        switch (root.Find(path))
        {
            case null:
                _errors.Add($"{path}: missing");
                return null;
            case HoconList list:
                return list;
            case var other:
                Report(path, other, "expected a list [...]");
                return null;
        }
    }

    private void Report(string path, HoconValue value, string problem)
    {
        var shown = value is HoconScalar scalar ? $" = \"{scalar.Text}\"" : "";
        _errors.Add($"{path}{shown} ({value.Origin}): {problem}");
    }

    [GeneratedRegex(@"^(?<number>\d+(\.\d+)?)\s*(?<unit>[a-zA-Z]*)$")]
    private static partial Regex DurationPattern();
}
