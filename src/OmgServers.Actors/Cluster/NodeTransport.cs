using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace OmgServers.Actors.Cluster;

/// <summary>The connection to a remote node failed while a reply was outstanding: the message may or may not have been handled.</summary>
public sealed class NodeUnreachableException(string address, string reason)
    : ActorRuntimeException($"node {address} unreachable: {reason}")
{
    public override bool Retryable => true;
}

/// <summary>
/// Node-to-node messaging: one long-lived HTTP/2 request per remote node carries frames both ways (a duplex stream,
/// as gRPC streaming does), so there is no connection or request per message, and under load many frames go out in
/// one write and one flush. Replies are matched to asks by correlation id.
/// </summary>
internal sealed class NodeTransport : IAsyncDisposable
{
    public const string Path = "/_actors/v1/stream";
    public const string SecretHeader = "x-omg-cluster-secret";
    internal const int MaxFrameBytes = 16 * 1024 * 1024;

    private readonly ConcurrentDictionary<string, NodeConnection> _connections = new(StringComparer.Ordinal);
    private readonly HttpClient _http;
    private readonly WireSerializer _wire;
    private readonly string _secret;
    private readonly ILogger _log;

    public NodeTransport(WireSerializer wire, string secret, ILogger log)
    {
        _wire = wire;
        _secret = secret;
        _log = log;
        _http = new HttpClient(new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = false,
            InitialHttp2StreamWindowSize = 8 * 1024 * 1024,
            KeepAlivePingDelay = TimeSpan.FromSeconds(5),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(5),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
            ConnectTimeout = TimeSpan.FromSeconds(3),
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
        })
        {
            Timeout = Timeout.InfiniteTimeSpan,
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
    }

    public Task<object?> AskAsync(string address, EntityAddress to, object message, TimeSpan timeout, CancellationToken ct) =>
        Connection(address).AskAsync(to, message, timeout, ct);

    public bool Tell(string address, EntityAddress to, object message) => Connection(address).Tell(to, message);

    private NodeConnection Connection(string address) =>
        _connections.GetOrAdd(address, a => new NodeConnection(a, _http, _wire, _secret, _log));

    public async ValueTask DisposeAsync()
    {
        foreach (var c in _connections.Values) await c.DisposeAsync().ConfigureAwait(false);
        _http.Dispose();
    }
}

internal sealed class NodeConnection : IAsyncDisposable
{
    private readonly string _address;
    private readonly HttpClient _http;
    private readonly WireSerializer _wire;
    private readonly string _secret;
    private readonly ILogger _log;
    private readonly ConcurrentDictionary<long, TaskCompletionSource<object?>> _pending = new();
    private readonly object _gate = new();
    private readonly CancellationTokenSource _disposed = new();
    private Channel<byte[]>? _outgoing;
    private long _nextCorrelation;
    private long _retryAfterMs;

    public NodeConnection(string address, HttpClient http, WireSerializer wire, string secret, ILogger log)
    {
        _address = address.TrimEnd('/');
        _http = http;
        _wire = wire;
        _secret = secret;
        _log = log;
    }

    public async Task<object?> AskAsync(EntityAddress to, object message, TimeSpan timeout, CancellationToken ct)
    {
        var correlation = Interlocked.Increment(ref _nextCorrelation);
        var reply = new TaskCompletionSource<object?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var (manifest, payload) = _wire.Serialize(message);
        var frame = FrameCodec.Encode(new Frame(FrameKind.Ask, correlation, to.Type, to.Id, manifest, (int)Math.Max(1, timeout.TotalMilliseconds), payload, 0, ""));
        _pending[correlation] = reply;
        if (!Outgoing().Writer.TryWrite(frame))
        {
            // Never sent: certainly not handled, so the caller may route again.
            _pending.TryRemove(correlation, out _);
            throw new ShardUnavailableException(-1, $"node {_address} is not reachable");
        }
        try
        {
            return await reply.Task.WaitAsync(timeout, ct).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new AskTimeoutException(to, timeout);
        }
        finally
        {
            _pending.TryRemove(correlation, out _);
        }
    }

    public bool Tell(EntityAddress to, object message)
    {
        var (manifest, payload) = _wire.Serialize(message);
        return Outgoing().Writer.TryWrite(FrameCodec.Encode(new Frame(FrameKind.Tell, 0, to.Type, to.Id, manifest, 0, payload, 0, "")));
    }

    /// <summary>The queue of the current stream, opening one if none is up (unless a recent attempt failed).</summary>
    private Channel<byte[]> Outgoing()
    {
        lock (_gate)
        {
            if (_outgoing is not null) return _outgoing;
            var channel = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(100_000) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
            if (Environment.TickCount64 < _retryAfterMs)
            {
                channel.Writer.TryComplete();
                return channel;
            }
            _outgoing = channel;
            _ = RunAsync(channel);
            return channel;
        }
    }

    private async Task RunAsync(Channel<byte[]> outgoing)
    {
        var content = new DuplexContent();
        using var request = new HttpRequestMessage(HttpMethod.Post, _address + NodeTransport.Path)
        {
            Content = content,
            Version = HttpVersion.Version20, // HTTP/2 prior knowledge: HttpClient's defaults do not apply to a request built here
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        if (_secret.Length > 0) request.Headers.Add(NodeTransport.SecretHeader, _secret);
        string reason = "stream ended";
        var established = false;
        try
        {
            var sending = _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, _disposed.Token);
            var body = await content.Stream.WaitAsync(TimeSpan.FromSeconds(5), _disposed.Token).ConfigureAwait(false);
            var writer = FrameCodec.WriteAllAsync(outgoing.Reader, body);
            using var response = await sending.WaitAsync(TimeSpan.FromSeconds(5), _disposed.Token).ConfigureAwait(false);
            if (response.StatusCode != HttpStatusCode.OK)
                throw new HttpRequestException($"node answered {(int)response.StatusCode}");
            established = true;
            await using var stream = await response.Content.ReadAsStreamAsync(_disposed.Token).ConfigureAwait(false);
            var reader = PipeReader.Create(stream);
            var readLoop = FrameCodec.ReadAllAsync(reader, NodeTransport.MaxFrameBytes, OnReply, _disposed.Token);
            await Task.WhenAny(readLoop, writer).ConfigureAwait(false);
            await readLoop.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            reason = ex.Message;
            if (!_disposed.IsCancellationRequested)
                _log.LogWarning("connection to node {Address} failed: {Reason}", _address, ex.Message);
        }
        finally
        {
            lock (_gate)
            {
                if (ReferenceEquals(_outgoing, outgoing)) _outgoing = null;
                _retryAfterMs = Environment.TickCount64 + 200;
            }
            outgoing.Writer.TryComplete();
            content.Complete();
            // Before the stream was up nothing reached the node (it answers nothing before its response headers):
            // those asks were not handled and may be routed again. After that, the outcome is unknown.
            foreach (var (correlation, pending) in _pending)
                if (_pending.TryRemove(correlation, out _))
                    pending.TrySetException(established
                        ? new NodeUnreachableException(_address, reason)
                        : new ShardUnavailableException(-1, $"node {_address} is not reachable: {reason}"));
        }
    }

    private void OnReply(Frame frame)
    {
        if (!_pending.TryRemove(frame.Correlation, out var reply)) return; // the Ask gave up already
        if (frame.Kind == FrameKind.Reply)
        {
            try
            {
                reply.TrySetResult(_wire.Deserialize(frame.Manifest, frame.Payload));
            }
            catch (Exception ex)
            {
                reply.TrySetException(ex);
            }
            return;
        }
        var to = new EntityAddress(frame.Type, frame.Id);
        reply.TrySetException(frame.Error switch
        {
            RemoteError.Timeout => new AskTimeoutException(to, TimeSpan.FromMilliseconds(frame.TimeoutMs)),
            RemoteError.MailboxFull => new MailboxFullException(to, frame.TimeoutMs),
            RemoteError.ShardUnavailable => new ShardUnavailableException(frame.TimeoutMs, frame.ErrorMessage),
            RemoteError.EntityFailed => new EntityFailedException(to, frame.ErrorMessage, null),
            RemoteError.UnknownType => new UnknownEntityTypeException(frame.ErrorMessage),
            _ => new NodeUnreachableException(_address, frame.ErrorMessage),
        });
    }

    public ValueTask DisposeAsync()
    {
        _disposed.Cancel();
        lock (_gate) _outgoing?.Writer.TryComplete();
        return ValueTask.CompletedTask;
    }

    /// <summary>A request body that stays open: its stream is handed out and written to until <see cref="Complete"/>.</summary>
    private sealed class DuplexContent : HttpContent
    {
        private readonly TaskCompletionSource<Stream> _stream = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<Stream> Stream => _stream.Task;

        public void Complete() => _done.TrySetResult();

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            _stream.TrySetResult(stream);
            return _done.Task;
        }

        protected override bool TryComputeLength(out long length)
        {
            length = -1;
            return false;
        }
    }
}
