using System.Globalization;
using OmgServers.Actors;
using OmgServers.Contracts;
using OmgServers.Hosting.Configuration;
using OmgServers.Security;
using OmgServers.Service.Identity;

namespace OmgServers.Service.Api;

/// <summary>
/// Token, user and utility calls of every role (contract 2.1-2.6): player create-user/create-token/ping-service,
/// create-token of admin, support, developer and dispatcher, and the admin utilities (generate-id, bcrypt-hash,
/// calculate-shard, ping-docker-host) plus dispatcher calculate-shard.
/// </summary>
public static class IdentityApi
{
    private const string Base = "/service/v1/entrypoint";

    public static IEndpointRouteBuilder MapIdentityApi(this IEndpointRouteBuilder app)
    {
        var player = app.MapGroup(Base + "/player/request").WithTags("player");
        player.MapOmgPost<PingServiceRequest, PingServiceResponse>("/ping-service", null, (_, _, _) => Task.FromResult(new PingServiceResponse("pong")));
        player.MapOmgPost<EmptyRequest, CreateUserResponse>("/create-user", null, async (_, _, http) =>
        {
            var (userId, password) = await Service<Users>(http).CreateGeneratedAsync(OmgRoles.Player, http.RequestAborted);
            return new CreateUserResponse(userId, password);
        });
        player.MapOmgPost<CreateTokenByUserIdRequest, RawTokenResponse>("/create-token", null, (r, _, http) =>
            LoginByIdAsync(http, r, Service<OmgServersSettings>(http).Clients.TokenLifetime));

        foreach (var area in new[] { "admin", "support", "dispatcher" })
        {
            app.MapGroup($"{Base}/{area}/request").WithTags(area)
                .MapOmgPost<CreateTokenByUserRequest, RawTokenResponse>("/create-token", null, async (r, _, http) =>
                {
                    var users = Service<Users>(http);
                    var userId = await users.ResolveAsync(r.User!, http.RequestAborted);
                    return new RawTokenResponse(await users.LoginAsync(userId, r.Password!, OmgTokenLifetimes.Default, http.RequestAborted));
                });
        }
        app.MapGroup(Base + "/developer/request").WithTags("developer")
            .MapOmgPost<CreateTokenByUserIdRequest, RawTokenResponse>("/create-token", null, (r, _, http) => LoginByIdAsync(http, r, OmgTokenLifetimes.Default));

        var admin = app.MapGroup(Base + "/admin/request").WithTags("admin");
        admin.MapOmgPost<EmptyRequest, GenerateIdResponse>("/generate-id", OmgRoles.Admin, (_, _, http) =>
            Task.FromResult(new GenerateIdResponse(Service<SnowflakeIds>(http).Next())));
        admin.MapOmgPost<BcryptHashRequest, BcryptHashResponse>("/bcrypt-hash", OmgRoles.Admin, async (r, _, http) =>
            new BcryptHashResponse(await Task.Run(() => Bcrypt.Hash(r.Value!), http.RequestAborted)));
        admin.MapOmgPost<CalculateShardRequest, CalculateShardResponse>("/calculate-shard", OmgRoles.Admin, (r, _, http) =>
        {
            var (index, uri, _) = CalculateShard(Service<OmgServersSettings>(http), r.ShardKey!);
            return Task.FromResult(new CalculateShardResponse(index, uri));
        });
        admin.MapOmgPost<PingDockerHostRequest, PingDockerHostResponse>("/ping-docker-host", OmgRoles.Admin, async (r, _, http) =>
        {
            await DockerPing.PingAsync(r.DockerDaemonUri!, http.RequestAborted);
            return new PingDockerHostResponse(true, Service<OmgServersSettings>(http).Server.Uri.ToString().TrimEnd('/'));
        });

        app.MapGroup(Base + "/dispatcher/request").WithTags("dispatcher")
            .MapOmgPost<CalculateShardRequest, DispatcherCalculateShardResponse>("/calculate-shard", OmgRoles.Dispatcher, (r, _, http) =>
            {
                var (index, uri, foreign) = CalculateShard(Service<OmgServersSettings>(http), r.ShardKey!);
                return Task.FromResult(new DispatcherCalculateShardResponse(index, uri, foreign));
            });
        return app;
    }

    private static async Task<RawTokenResponse> LoginByIdAsync(HttpContext http, CreateTokenByUserIdRequest r, TimeSpan lifetime) =>
        new(await Service<Users>(http).LoginAsync(r.UserId!.Value, r.Password!, lifetime, http.RequestAborted));

    /// <summary>Contract 6.7: CRC-16/ARC of the key mod the index's shard count; server i of n owns shards i, i+n, ...</summary>
    public static (int Index, string Uri, bool Foreign) CalculateShard(OmgServersSettings settings, string shardKey)
    {
        var index = Crc16Arc.ShardOf(shardKey, settings.Server.ShardCount);
        var servers = settings.Initialization.ServerIndexServers;
        var self = settings.Server.Uri.ToString().TrimEnd('/');
        var owner = servers.Count == 0 ? self : servers[index % servers.Count].ToString().TrimEnd('/');
        return (index, owner, owner != self);
    }

    private static T Service<T>(HttpContext http) where T : notnull => http.RequestServices.GetRequiredService<T>();
}

/// <summary>Docker Engine `GET /_ping` over a unix socket or TCP (contract 2.3 ping-docker-host); failures are 500s upstream too.</summary>
public static class DockerPing
{
    public static async Task PingAsync(string daemonUri, CancellationToken ct)
    {
        if (!Uri.TryCreate(daemonUri, UriKind.Absolute, out var uri) || uri.Scheme is not ("unix" or "tcp" or "http" or "https"))
            throw ApiException.BadRequest(Qualifier.WRONG_ARGUMENT, "docker_daemon_uri must be unix://, tcp://, http:// or https://");
        using var handler = new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(5) };
        string baseAddress;
        if (uri.Scheme == "unix")
        {
            var path = uri.AbsolutePath;
            handler.ConnectCallback = async (_, token) =>
            {
                var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
                await socket.ConnectAsync(new System.Net.Sockets.UnixDomainSocketEndPoint(path), token);
                return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
            };
            baseAddress = "http://docker";
        }
        else
        {
            baseAddress = (uri.Scheme == "tcp" ? "http" : uri.Scheme) + "://" + uri.Authority;
        }
        using var client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(10) };
        using var response = await client.GetAsync(baseAddress + "/_ping", ct);
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"docker daemon {daemonUri} answered {(int)response.StatusCode} to _ping");
    }
}
