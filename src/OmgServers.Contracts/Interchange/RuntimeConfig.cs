using System.Text.Json.Serialization;
using OmgServers.Contracts;

namespace OmgServers.Contracts.Interchange;

/// <summary>Kind of a runtime (contract 4.1, 7.1): a lobby or a match.</summary>
[JsonConverter(typeof(ExactEnumConverterFactory))]
public enum RuntimeQualifier { LOBBY, MATCH }

/// <summary>
/// What a runtime is for (contract 4.1): in <c>INIT_RUNTIME</c> and <c>RUNTIME_ASSIGNMENT_MESSAGE</c>. A lobby has
/// <see cref="LobbyConfig"/> and a null <see cref="MatchConfig"/>; a match the other way round.
/// <see cref="VersionConfig"/> is the whole configuration of the deployed version.
/// </summary>
public sealed record RuntimeConfig(LobbyConfig? LobbyConfig, MatchConfig? MatchConfig, VersionConfig? VersionConfig);

public sealed record LobbyConfig(long LobbyId);

public sealed record MatchConfig(long MatchmakerId, long MatchId);
