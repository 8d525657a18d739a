using System.Buffers;
using System.Buffers.Binary;
using System.Reflection;
using System.Text;
using System.Text.Json;

namespace OmgServers.Actors.Cluster;

internal enum FrameKind : byte { Ask = 1, Tell = 2, Reply = 3, Error = 4 }

internal enum RemoteError : byte { Timeout = 1, MailboxFull = 2, ShardUnavailable = 3, EntityFailed = 4, UnknownType = 5, Internal = 6 }

internal readonly record struct Frame(
    FrameKind Kind, long Correlation, string Type, string Id, string Manifest, int TimeoutMs, byte[] Payload, RemoteError Error, string ErrorMessage);

/// <summary>
/// Serializes messages for the node-to-node hop: a registered name (or, for types of the registered assemblies, a
/// "clr:" type name) plus UTF-8 JSON. <see cref="ReliableDelivery"/> carries its inner message with its own name.
/// </summary>
internal sealed class WireSerializer
{
    private const string ClrPrefix = "clr:";
    private const string ReliableManifest = "omg.actors.reliable-delivery";
    private readonly TypeNames _names;
    private readonly JsonSerializerOptions _json;
    private readonly HashSet<Assembly> _allowed;

    public WireSerializer(EntityRegistry registry, JsonSerializerOptions json)
    {
        _names = registry.Names;
        _json = json;
        _allowed = registry.All.Select(t => t.ClrType.Assembly).Append(typeof(object).Assembly).Append(typeof(WireSerializer).Assembly).ToHashSet();
    }

    public (string Manifest, byte[] Payload) Serialize(object? message)
    {
        switch (message)
        {
            case null:
                return ("", []);
            case ReliableDelivery delivery:
                var (innerManifest, innerPayload) = Serialize(delivery.Message);
                var buffer = new ArrayBufferWriter<byte>();
                using (var w = new Utf8JsonWriter(buffer))
                {
                    w.WriteStartObject();
                    w.WriteString("sender", delivery.SenderKey);
                    w.WriteNumber("seq", delivery.Seq);
                    w.WriteString("manifest", innerManifest);
                    w.WritePropertyName("message");
                    w.WriteRawValue(innerPayload.Length == 0 ? "null"u8 : innerPayload, skipInputValidation: true);
                    w.WriteEndObject();
                }
                return (ReliableManifest, buffer.WrittenSpan.ToArray());
            default:
                var type = message.GetType();
                var manifest = _names.TryGetName(type, out var name) ? name : ClrPrefix + type.FullName + ", " + type.Assembly.GetName().Name;
                return (manifest, JsonSerializer.SerializeToUtf8Bytes(message, type, _json));
        }
    }

    public object? Deserialize(string manifest, ReadOnlySpan<byte> payload)
    {
        if (manifest.Length == 0) return null;
        if (manifest == ReliableManifest)
        {
            using var doc = JsonDocument.Parse(payload.ToArray());
            var root = doc.RootElement;
            var inner = Deserialize(root.GetProperty("manifest").GetString()!, Encoding.UTF8.GetBytes(root.GetProperty("message").GetRawText()));
            return new ReliableDelivery(root.GetProperty("sender").GetString()!, root.GetProperty("seq").GetInt64(), inner!);
        }
        return JsonSerializer.Deserialize(payload, Resolve(manifest), _json);
    }

    private Type Resolve(string manifest)
    {
        if (_names.TryGetType(manifest, out var registered)) return registered;
        if (manifest.StartsWith(ClrPrefix, StringComparison.Ordinal))
        {
            var type = Type.GetType(manifest[ClrPrefix.Length..], throwOnError: false);
            if (type is not null && _allowed.Contains(type.Assembly)) return type;
        }
        throw new UnknownEntityTypeException($"message type '{manifest}'");
    }
}

/// <summary>Length-prefixed binary frames: [int32 length][kind][correlation][fields...].</summary>
internal static class FrameCodec
{
    public static byte[] Encode(in Frame f)
    {
        var size = 1 + 8 + Str(f.Type) + Str(f.Id) + Str(f.Manifest) + 4 + 4 + f.Payload.Length + 1 + Str(f.ErrorMessage);
        var buffer = new byte[4 + size];
        var span = buffer.AsSpan();
        BinaryPrimitives.WriteInt32LittleEndian(span, size);
        var o = 4;
        span[o++] = (byte)f.Kind;
        BinaryPrimitives.WriteInt64LittleEndian(span[o..], f.Correlation); o += 8;
        o = WriteStr(span, o, f.Type);
        o = WriteStr(span, o, f.Id);
        o = WriteStr(span, o, f.Manifest);
        BinaryPrimitives.WriteInt32LittleEndian(span[o..], f.TimeoutMs); o += 4;
        BinaryPrimitives.WriteInt32LittleEndian(span[o..], f.Payload.Length); o += 4;
        f.Payload.CopyTo(span[o..]); o += f.Payload.Length;
        span[o++] = (byte)f.Error;
        WriteStr(span, o, f.ErrorMessage);
        return buffer;
    }

    /// <summary>Decodes one frame body (without its length prefix).</summary>
    public static Frame Decode(ReadOnlySpan<byte> span)
    {
        var o = 0;
        var kind = (FrameKind)span[o++];
        var correlation = BinaryPrimitives.ReadInt64LittleEndian(span[o..]); o += 8;
        var type = ReadStr(span, ref o);
        var id = ReadStr(span, ref o);
        var manifest = ReadStr(span, ref o);
        var timeout = BinaryPrimitives.ReadInt32LittleEndian(span[o..]); o += 4;
        var length = BinaryPrimitives.ReadInt32LittleEndian(span[o..]); o += 4;
        var payload = span.Slice(o, length).ToArray(); o += length;
        var error = (RemoteError)span[o++];
        var message = ReadStr(span, ref o);
        return new Frame(kind, correlation, type, id, manifest, timeout, payload, error, message);
    }

    private static int Str(string s) => 4 + Encoding.UTF8.GetByteCount(s);

    private static int WriteStr(Span<byte> span, int o, string s)
    {
        var n = Encoding.UTF8.GetBytes(s, span[(o + 4)..]);
        BinaryPrimitives.WriteInt32LittleEndian(span[o..], n);
        return o + 4 + n;
    }

    private static string ReadStr(ReadOnlySpan<byte> span, ref int o)
    {
        var n = BinaryPrimitives.ReadInt32LittleEndian(span[o..]);
        var s = Encoding.UTF8.GetString(span.Slice(o + 4, n));
        o += 4 + n;
        return s;
    }

    /// <summary>Writes queued frames to a stream, one flush per burst: under load many frames share a write and a flush.
    /// Ends when the queue completes or the stream fails (the reading side reports the failure).</summary>
    public static async Task WriteAllAsync(System.Threading.Channels.ChannelReader<byte[]> frames, Stream body)
    {
        try
        {
            while (await frames.WaitToReadAsync().ConfigureAwait(false))
            {
                while (frames.TryRead(out var frame))
                    await body.WriteAsync(frame).ConfigureAwait(false);
                await body.FlushAsync().ConfigureAwait(false);
            }
        }
        catch (Exception)
        {
            // The peer went away; the read side and the pending asks report it.
        }
    }

    /// <summary>Reads frames from a pipe until it ends; at most <paramref name="maxFrame"/> bytes each.</summary>
    public static async Task ReadAllAsync(System.IO.Pipelines.PipeReader reader, int maxFrame, Action<Frame> onFrame, CancellationToken ct)
    {
        while (true)
        {
            var result = await reader.ReadAsync(ct).ConfigureAwait(false);
            var buffer = result.Buffer;
            while (TryReadFrame(ref buffer, maxFrame, out var frame))
                onFrame(frame);
            reader.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted || result.IsCanceled) return;
        }
    }

    private static bool TryReadFrame(ref ReadOnlySequence<byte> buffer, int maxFrame, out Frame frame)
    {
        frame = default;
        if (buffer.Length < 4) return false;
        Span<byte> header = stackalloc byte[4];
        buffer.Slice(0, 4).CopyTo(header);
        var size = BinaryPrimitives.ReadInt32LittleEndian(header);
        if (size <= 0 || size > maxFrame) throw new InvalidDataException($"node-to-node frame of {size} bytes (limit {maxFrame})");
        if (buffer.Length < 4 + size) return false;
        var body = buffer.Slice(4, size);
        frame = body.IsSingleSegment ? Decode(body.FirstSpan) : Decode(body.ToArray());
        buffer = buffer.Slice(4 + size);
        return true;
    }
}
