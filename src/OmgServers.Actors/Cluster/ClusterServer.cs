using System.Net;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace OmgServers.Actors.Cluster;

/// <summary>The node's cluster port: a Kestrel listener (HTTP/2 without TLS) that serves the duplex frame stream.</summary>
internal sealed class ClusterServer : IAsyncDisposable
{
    private readonly ActorRuntime _runtime;
    private readonly WireSerializer _wire;
    private readonly ILogger _log;
    private WebApplication? _app;

    public ClusterServer(ActorRuntime runtime, WireSerializer wire, ILogger log)
    {
        _runtime = runtime;
        _wire = wire;
        _log = log;
    }

    public async Task StartAsync(string bindAddress, int port, CancellationToken ct)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.Http2.InitialConnectionWindowSize = 16 * 1024 * 1024;
            k.Limits.Http2.InitialStreamWindowSize = 8 * 1024 * 1024;
            k.Limits.Http2.MaxStreamsPerConnection = 1000;
            k.Limits.MinRequestBodyDataRate = null;
            k.Limits.MinResponseDataRate = null;
            k.Limits.MaxRequestBodySize = null;
            k.Listen(IPAddress.Parse(bindAddress), port, o => o.Protocols = HttpProtocols.Http2);
        });
        var app = builder.Build();
        app.MapPost(NodeTransport.Path, ServeAsync);
        await app.StartAsync(ct).ConfigureAwait(false);
        _app = app;
    }

    private async Task ServeAsync(HttpContext http)
    {
        var secret = _runtime.Options.ClusterSecret;
        if (secret.Length > 0 && http.Request.Headers[NodeTransport.SecretHeader] != secret)
        {
            http.Response.StatusCode = StatusCodes.Status401Unauthorized;
            return;
        }
        http.Response.ContentType = "application/octet-stream";
        await http.Response.StartAsync().ConfigureAwait(false);

        var replies = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true });
        var writer = FrameCodec.WriteAllAsync(replies.Reader, http.Response.Body);
        try
        {
            await FrameCodec.ReadAllAsync(http.Request.BodyReader, NodeTransport.MaxFrameBytes, frame => Dispatch(frame, replies.Writer), http.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or InvalidDataException)
        {
            _log.LogDebug("node stream from {Remote} ended: {Reason}", http.Connection.RemoteIpAddress, ex.Message);
        }
        finally
        {
            replies.Writer.TryComplete();
            await writer.ConfigureAwait(false);
        }
    }

    private void Dispatch(Frame frame, ChannelWriter<byte[]> replies)
    {
        var to = new EntityAddress(frame.Type, frame.Id);
        object? message;
        try
        {
            message = _wire.Deserialize(frame.Manifest, frame.Payload);
        }
        catch (Exception ex)
        {
            if (frame.Kind == FrameKind.Ask) replies.TryWrite(Error(frame, RemoteError.UnknownType, ex.Message, 0));
            return;
        }
        if (frame.Kind == FrameKind.Tell)
        {
            _runtime.TellLocal(to, message!);
            return;
        }
        _ = AnswerAsync(frame, to, message!, replies);
    }

    private async Task AnswerAsync(Frame frame, EntityAddress to, object message, ChannelWriter<byte[]> replies)
    {
        byte[] answer;
        try
        {
            var result = await _runtime.AskLocalAsync(to, message, TimeSpan.FromMilliseconds(frame.TimeoutMs)).ConfigureAwait(false);
            var (manifest, payload) = _wire.Serialize(result);
            answer = FrameCodec.Encode(new Frame(FrameKind.Reply, frame.Correlation, "", "", manifest, 0, payload, 0, ""));
        }
        catch (AskTimeoutException ex) { answer = Error(frame, RemoteError.Timeout, ex.Message, frame.TimeoutMs); }
        catch (MailboxFullException ex) { answer = Error(frame, RemoteError.MailboxFull, ex.Message, 0); }
        catch (ShardUnavailableException ex) { answer = Error(frame, RemoteError.ShardUnavailable, ex.Message, ex.Shard); }
        catch (EntityFailedException ex) { answer = Error(frame, RemoteError.EntityFailed, ex.InnerException?.Message ?? ex.Message, 0); }
        catch (UnknownEntityTypeException ex) { answer = Error(frame, RemoteError.UnknownType, ex.Message, 0); }
        catch (Exception ex) { answer = Error(frame, RemoteError.Internal, ex.Message, 0); }
        replies.TryWrite(answer);
    }

    private static byte[] Error(Frame frame, RemoteError error, string message, int detail) =>
        FrameCodec.Encode(new Frame(FrameKind.Error, frame.Correlation, frame.Type, frame.Id, "", detail, [], error, message));

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync().ConfigureAwait(false);
            await _app.DisposeAsync().ConfigureAwait(false);
        }
    }
}
