using System.Globalization;
using OmgServers.Contracts.Interchange;

namespace OmgServers.Sdk;

/// <summary>
/// What a runtime container is started with (contract 7.1): its id, its password, whether it is a lobby or a match,
/// and the server's URL.
/// </summary>
public sealed record OmgRuntimeSettings(Uri ServiceUrl, long RuntimeId, string Password, RuntimeQualifier Qualifier)
{
    public const string RuntimeIdVariable = "OMGSERVERS_RUNTIME_ID";
    public const string PasswordVariable = "OMGSERVERS_PASSWORD";
    public const string QualifierVariable = "OMGSERVERS_RUNTIME_QUALIFIER";
    public const string ServiceUrlVariable = "OMGSERVERS_SERVICE_URL";

    /// <summary>From this process's environment; throws <see cref="OmgConfigurationException"/> naming every problem.</summary>
    public static OmgRuntimeSettings FromEnvironment() => FromVariables(Environment.GetEnvironmentVariable);

    public static OmgRuntimeSettings FromVariables(IReadOnlyDictionary<string, string> variables) =>
        FromVariables(name => variables.TryGetValue(name, out var value) ? value : null);

    public static OmgRuntimeSettings FromVariables(Func<string, string?> variable)
    {
        var problems = new List<string>();
        string? Read(string name)
        {
            var value = variable(name);
            if (string.IsNullOrWhiteSpace(value)) problems.Add($"{name} is not set");
            return string.IsNullOrWhiteSpace(value) ? null : value.Trim();
        }

        var id = Read(RuntimeIdVariable);
        var password = variable(PasswordVariable); // not trimmed: a generated password is used as is
        if (string.IsNullOrEmpty(password)) problems.Add($"{PasswordVariable} is not set");
        var qualifier = Read(QualifierVariable);
        var url = Read(ServiceUrlVariable);

        long runtimeId = 0;
        if (id is not null && !long.TryParse(id, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out runtimeId))
            problems.Add($"{RuntimeIdVariable} is not a 64-bit integer");
        RuntimeQualifier kind = default;
        if (qualifier is not null)
        {
            if (Enum.GetNames<RuntimeQualifier>().Contains(qualifier)) kind = Enum.Parse<RuntimeQualifier>(qualifier);
            else problems.Add($"{QualifierVariable} must be LOBBY or MATCH");
        }
        Uri? serviceUrl = null;
        if (url is not null && (!Uri.TryCreate(url, UriKind.Absolute, out serviceUrl) || serviceUrl.Scheme is not ("http" or "https")))
            problems.Add($"{ServiceUrlVariable} must be an absolute http or https URL");

        if (problems.Count > 0) throw new OmgConfigurationException("runtime environment: " + string.Join("; ", problems));
        return new OmgRuntimeSettings(serviceUrl!, runtimeId, password!, kind);
    }

    /// <summary>Without the password.</summary>
    public override string ToString() => $"runtime {RuntimeId} ({Qualifier}) at {ServiceUrl}";
}
