using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;

namespace OmgServers.Benchmarks;

/// <summary>
/// Makes another .NET process run a full blocking garbage collection, from outside, the way dotnet-gcdump does: an
/// EventPipe session over the runtime's diagnostics socket with the runtime provider's GCHeapCollect keyword makes the
/// runtime induce a gen-2 collection. The session is stopped at once; its trace is read and discarded.
/// Diagnostics IPC protocol: github.com/dotnet/diagnostics, documentation/design-docs/ipc-protocol.md.
/// </summary>
internal static class InducedGc
{
    private const byte EventPipeCommandSet = 0x02;
    private const byte StopTracing = 0x01;
    private const byte CollectTracing = 0x02;
    private const ulong GcKeyword = 0x1;
    private const ulong GcHeapCollectKeyword = 0x800000;

    /// <summary>True when the request was accepted (the collection then runs in the target).</summary>
    public static async Task<bool> CollectAsync(int pid, TimeSpan wait)
    {
        var socketPath = Directory.GetFiles(Path.GetTempPath(), $"dotnet-diagnostic-{pid}-*-socket").FirstOrDefault();
        if (socketPath is null) return false;

        using var session = await ConnectAsync(socketPath);
        var payload = new List<byte>();
        Append32(payload, 16); // circular buffer, MB
        Append32(payload, 1); // format: NetTrace
        Append32(payload, 1); // one provider
        Append64(payload, GcKeyword | GcHeapCollectKeyword);
        Append32(payload, 4); // level: informational
        AppendString(payload, "Microsoft-Windows-DotNETRuntime");
        AppendString(payload, null);
        await SendAsync(session, CollectTracing, payload.ToArray());
        var sessionId = BinaryPrimitives.ReadUInt64LittleEndian(await ReadResponseAsync(session));

        // Drain the trace while the collection runs, then stop the session.
        using var drainStop = new CancellationTokenSource();
        var drain = Task.Run(async () =>
        {
            var buffer = new byte[64 * 1024];
            try { while (await session.ReceiveAsync(buffer, drainStop.Token) > 0) { } }
            catch (Exception) { }
        });
        await Task.Delay(wait);
        using (var stop = await ConnectAsync(socketPath))
        {
            var id = new List<byte>();
            Append64(id, sessionId);
            await SendAsync(stop, StopTracing, id.ToArray());
            await ReadResponseAsync(stop);
        }
        drainStop.CancelAfter(TimeSpan.FromSeconds(5));
        await drain;
        return true;
    }

    private static async Task<Socket> ConnectAsync(string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(path));
        return socket;
    }

    private static async Task SendAsync(Socket socket, byte command, byte[] payload)
    {
        var message = new byte[20 + payload.Length];
        Encoding.ASCII.GetBytes("DOTNET_IPC_V1").CopyTo(message, 0); // 14 bytes with the terminating zero
        BinaryPrimitives.WriteUInt16LittleEndian(message.AsSpan(14), (ushort)message.Length);
        message[16] = EventPipeCommandSet;
        message[17] = command;
        payload.CopyTo(message, 20);
        await socket.SendAsync(message);
    }

    /// <summary>Reads one response header and its payload; throws on an error response.</summary>
    private static async Task<byte[]> ReadResponseAsync(Socket socket)
    {
        var header = await ReadExactlyAsync(socket, 20);
        var size = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(14));
        var payload = await ReadExactlyAsync(socket, size - 20);
        if (header[17] != 0x00) throw new InvalidOperationException($"diagnostics IPC error 0x{(payload.Length >= 4 ? BinaryPrimitives.ReadUInt32LittleEndian(payload) : 0):x8}");
        return payload;
    }

    private static async Task<byte[]> ReadExactlyAsync(Socket socket, int count)
    {
        var buffer = new byte[count];
        var read = 0;
        while (read < count)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(read));
            if (n == 0) throw new IOException("diagnostics socket closed");
            read += n;
        }
        return buffer;
    }

    private static void Append32(List<byte> to, uint value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        to.AddRange(b.ToArray());
    }

    private static void Append64(List<byte> to, ulong value)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, value);
        to.AddRange(b.ToArray());
    }

    /// <summary>Length in UTF-16 code units including the terminating zero, then the characters; null is length 0.</summary>
    private static void AppendString(List<byte> to, string? value)
    {
        if (value is null)
        {
            Append32(to, 0);
            return;
        }
        Append32(to, (uint)value.Length + 1);
        to.AddRange(Encoding.Unicode.GetBytes(value + "\0"));
    }
}
