namespace OmgServers.Contracts;

// Contract 2.1-2.6: token and user calls of every role, and the admin utilities.

public sealed record CreateTokenByUserRequest([NotBlank, MaxSize(64)] string? User, [NotBlank, MaxSize(64)] string? Password);

public sealed record CreateTokenByUserIdRequest([Required] long? UserId, [NotBlank, MaxSize(64)] string? Password);

public sealed record RawTokenResponse(string RawToken);

public sealed record EmptyRequest;

public sealed record EmptyResponse;

public sealed record CreateUserResponse(long UserId, string Password);

public sealed record PingServiceRequest([NotBlank, MaxSize(64)] string? Message);

public sealed record PingServiceResponse(string Message);

public sealed record GenerateIdResponse(long Id);

public sealed record BcryptHashRequest([NotBlank, MaxSize(64)] string? Value);

public sealed record BcryptHashResponse(string Hash);

public sealed record CalculateShardRequest([Required, MaxSize(1024)] string? ShardKey);

public sealed record CalculateShardResponse(int ShardIndex, string ServerUri);

public sealed record DispatcherCalculateShardResponse(int ShardIndex, string ServerUri, bool Foreign);

public sealed record PingDockerHostRequest([NotBlank, MaxSize(1024)] string? DockerDaemonUri);

public sealed record PingDockerHostResponse(bool Successful, string FromServer);
