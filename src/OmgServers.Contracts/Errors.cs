using System.Text.Json.Serialization;

namespace OmgServers.Contracts;

/// <summary>ExceptionQualifierEnum of the contract (1.3), exact names.</summary>
[JsonConverter(typeof(ExactEnumConverterFactory))]
public enum Qualifier
{
    WRONG_REQUEST, WRONG_MEDIA_TYPE, WRONG_ARGUMENT, WRONG_OBJECT, WRONG_WEBSOCKET_MESSAGE, WRONG_MESSAGE_QUALIFIER,
    WRONG_CLIENT_ID, WRONG_RUNTIME_ID, WRONG_STAGE_SECRET, WRONG_VERSION_ZIP, WRONG_CREDENTIALS, WRONG_CONFIGURATION,
    WRONG_SHARD, WRONG_WS_TOKEN, WRONG_CLIENT_MESSAGE_BODY_TYPE, WRONG_COMMAND_BODY_TYPE, WRONG_VERSION_STATE,
    WRONG_ROOM_STATE, CONFIG_JSON_NOT_FOUND, VERSION_ZIP_NOT_FOUND, COMMAND_EXECUTOR_NOT_FOUND, OBJECT_NOT_FOUND,
    PARENT_NOT_FOUND, PERMISSION_NOT_FOUND, USER_NOT_FOUND, CLIENT_NOT_FOUND, LOBBY_NOT_FOUND, RUNTIME_NOT_FOUND,
    VERSION_NOT_FOUND, DEPLOYMENT_NOT_FOUND, SERVER_NOT_FOUND, MATCHMAKER_NOT_FOUND, IMAGE_NOT_FOUND, ROOM_NOT_FOUND,
    DB_CONSTRAINT_VIOLATED, DB_EXCEPTION_UNHANDLED, DB_DATA_CORRUPTED, IDEMPOTENCY_VIOLATED, SHARD_LOCKED,
    BOOTSTRAP_FAILED, ID_GENERATOR_FAILED, JENKINS_REQUEST_FAILED, JENKINS_JOB_UNFINISHED, JENKINS_JOB_FAILED,
    VALIDATION_CONSTRAINT_VIOLATED, INTERNAL_EXCEPTION_OCCURRED, FEATURE_DISABLED,
    /// <summary>Ours: a limit (request size, rate) was exceeded; 413/429.</summary>
    LIMIT_EXCEEDED,
    /// <summary>Ours: the server is starting, moving shards or overloaded; retry (503).</summary>
    SERVICE_UNAVAILABLE,
}

/// <summary>The error body: exactly {"qualifier": "..."}.</summary>
public sealed record ErrorBody(Qualifier Qualifier);

/// <summary>An expected failure with its contract qualifier and HTTP status (1.3).</summary>
public sealed class ApiException(Qualifier qualifier, int status, string? detail = null)
    : Exception(detail ?? qualifier.ToString())
{
    public Qualifier Qualifier { get; } = qualifier;
    public int Status { get; } = status;

    public static ApiException BadRequest(Qualifier q, string? detail = null) => new(q, 400, detail);
    public static ApiException Unauthorized(Qualifier q = Qualifier.WRONG_CREDENTIALS) => new(q, 401);
    public static ApiException Forbidden(Qualifier q = Qualifier.PERMISSION_NOT_FOUND) => new(q, 403);
    public static ApiException NotFound(Qualifier q = Qualifier.OBJECT_NOT_FOUND) => new(q, 404);
    public static ApiException Conflict(Qualifier q) => new(q, 409);
    public static ApiException Unavailable(string? detail = null) => new(Qualifier.SERVICE_UNAVAILABLE, 503, detail);
}
