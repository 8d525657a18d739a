namespace OmgServers.Actors;

/// <summary>The address of an entity: its registered type name and its id. Entities are never referenced any other way.</summary>
public readonly record struct EntityAddress(string Type, string Id)
{
    public override string ToString() => $"{Type}/{Id}";
}

/// <summary>CRC-16/ARC (reflected polynomial 0xA001, initial value 0, no final XOR): the shard function of contract.md 6.7.</summary>
public static class Crc16Arc
{
    private static readonly ushort[] Table = BuildTable();

    private static ushort[] BuildTable()
    {
        var table = new ushort[256];
        for (var i = 0; i < 256; i++)
        {
            var crc = (ushort)i;
            for (var bit = 0; bit < 8; bit++)
                crc = (crc & 1) != 0 ? (ushort)((crc >> 1) ^ 0xA001) : (ushort)(crc >> 1);
            table[i] = crc;
        }
        return table;
    }

    public static ushort Compute(ReadOnlySpan<byte> data)
    {
        ushort crc = 0;
        foreach (var b in data)
            crc = (ushort)((crc >> 8) ^ Table[(crc ^ b) & 0xFF]);
        return crc;
    }

    public static ushort Compute(string text)
    {
        Span<byte> buffer = text.Length <= 128 ? stackalloc byte[System.Text.Encoding.UTF8.GetMaxByteCount(text.Length)] : new byte[System.Text.Encoding.UTF8.GetMaxByteCount(text.Length)];
        var n = System.Text.Encoding.UTF8.GetBytes(text, buffer);
        return Compute(buffer[..n]);
    }

    /// <summary>shard = CRC16(utf8(shardKey)) mod shardCount.</summary>
    public static int ShardOf(string shardKey, int shardCount) => Compute(shardKey) % shardCount;
}
