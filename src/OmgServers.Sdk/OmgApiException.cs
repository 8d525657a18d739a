using OmgServers.Contracts;

namespace OmgServers.Sdk;

/// <summary>
/// The server answered a call with an error status (contract 1.3). <see cref="Qualifier"/> is the body's
/// <c>qualifier</c>, or null when the body had none (framework 401/403 have empty bodies) or one this SDK does not know
/// (then <see cref="RawQualifier"/> has it).
/// </summary>
public sealed class OmgApiException(string operation, int status, Qualifier? qualifier, string? rawQualifier)
    : Exception($"{operation} answered {status} {rawQualifier ?? "(no qualifier)"}")
{
    /// <summary>The path called, e.g. <c>service/v1/entrypoint/player/request/interchange</c>.</summary>
    public string Operation { get; } = operation;

    public int Status { get; } = status;

    public Qualifier? Qualifier { get; } = qualifier;

    public string? RawQualifier { get; } = rawQualifier;
}

/// <summary>The runtime's environment is incomplete or malformed (the upstream SDKs exit with code 1 then).</summary>
public sealed class OmgConfigurationException(string message) : Exception(message);
