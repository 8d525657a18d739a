using System.Buffers;
using System.Buffers.Text;

namespace OmgServers.Security;

/// <summary>
/// base64url as JWS uses it (RFC 7515 2): no padding, no whitespace, and canonical (the unused low bits of the
/// last character are zero), so each byte string has exactly one accepted encoding.
/// </summary>
internal static class Base64UrlStrict
{
    private static readonly SearchValues<char> Alphabet =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");

    /// <summary>Decoded length of a segment of <paramref name="chars"/> characters, or -1 when no input has that length.</summary>
    public static int DecodedLength(int chars) => (chars % 4) switch
    {
        0 => chars / 4 * 3,
        2 => chars / 4 * 3 + 1,
        3 => chars / 4 * 3 + 2,
        _ => -1,
    };

    /// <summary>True when every character is in the base64url alphabet.</summary>
    public static bool IsAlphabet(ReadOnlySpan<char> text) => !text.ContainsAnyExcept(Alphabet);

    /// <summary>
    /// Decodes <paramref name="text"/> into <paramref name="destination"/> (which must have room for
    /// <see cref="DecodedLength"/> bytes); false for any non-canonical or invalid input.
    /// </summary>
    public static bool TryDecode(ReadOnlySpan<char> text, Span<byte> destination, out int written)
    {
        written = 0;
        int expected = DecodedLength(text.Length);
        if (expected < 0 || destination.Length < expected || !IsAlphabet(text))
            return false;
        if (text.Length % 4 != 0)
        {
            int last = Value(text[^1]);
            int unusedBits = text.Length % 4 == 2 ? 0x0F : 0x03;
            if ((last & unusedBits) != 0)
                return false;
        }
        return Base64Url.TryDecodeFromChars(text, destination, out written) && written == expected;
    }

    private static int Value(char c) => c switch
    {
        >= 'A' and <= 'Z' => c - 'A',
        >= 'a' and <= 'z' => c - 'a' + 26,
        >= '0' and <= '9' => c - '0' + 52,
        '-' => 62,
        _ => 63,
    };
}
