using System.Collections;
using System.Collections.Concurrent;
using System.Reflection;

namespace OmgServers.Contracts;

/// <summary>The field must be present (not null).</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter)]
public sealed class RequiredAttribute : Attribute;

/// <summary>A string that is not null, empty or whitespace (bean validation @NotBlank).</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter)]
public sealed class NotBlankAttribute : Attribute;

/// <summary>A collection or string that is not null and not empty (@NotEmpty).</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter)]
public sealed class NotEmptyAttribute : Attribute;

/// <summary>At most this many characters (strings) or elements (collections) (@Size(max)).</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter)]
public sealed class MaxSizeAttribute(int max) : Attribute
{
    public int Max { get; } = max;
}

/// <summary>Checks the top-level request object against its attributes (contract 1.4: nested objects are not validated).</summary>
public static class RequestValidator
{
    private static readonly ConcurrentDictionary<Type, Func<object, string?>[]> Rules = new();

    /// <summary>Null when valid, else the name of the first offending field.</summary>
    public static string? FirstViolation(object request)
    {
        foreach (var rule in Rules.GetOrAdd(request.GetType(), Build))
            if (rule(request) is { } violation) return violation;
        return null;
    }

    private static Func<object, string?>[] Build(Type type)
    {
        var rules = new List<Func<object, string?>>();
        var ctorParameters = type.GetConstructors().SelectMany(c => c.GetParameters()).ToList();
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            // Attributes on a positional record land on the constructor parameter.
            var parameter = ctorParameters.FirstOrDefault(p => string.Equals(p.Name, property.Name, StringComparison.OrdinalIgnoreCase));
            bool Has<T>() where T : Attribute => property.GetCustomAttribute<T>() is not null || parameter?.GetCustomAttribute<T>() is not null;
            var max = property.GetCustomAttribute<MaxSizeAttribute>() ?? parameter?.GetCustomAttribute<MaxSizeAttribute>();
            var name = property.Name;
            Func<object, object?> getter = property.GetValue;
            if (Has<RequiredAttribute>()) rules.Add(o => getter(o) is null ? name : null);
            if (Has<NotBlankAttribute>()) rules.Add(o => getter(o) is string s && !string.IsNullOrWhiteSpace(s) ? null : name);
            if (Has<NotEmptyAttribute>()) rules.Add(o => getter(o) switch { string s when s.Length > 0 => null, ICollection { Count: > 0 } => null, _ => name });
            if (max is not null)
                rules.Add(o => getter(o) switch { string s when s.Length > max.Max => name, ICollection c when c.Count > max.Max => name, _ => null });
        }
        return rules.ToArray();
    }
}
