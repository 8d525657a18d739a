using System.Globalization;
using System.Text;

namespace OmgServers.Hosting.Configuration;

/// <summary>A HOCON syntax error, with the source and line.</summary>
public sealed class HoconParseException(string message) : FormatException(message);

/// <summary>
/// Reads the HOCON subset our configuration files use:
/// <list type="bullet">
/// <item>a root object with or without braces; <c>key = value</c>, <c>key : value</c>, <c>key { ... }</c>;</item>
/// <item>dotted keys (<c>a.b.c = 1</c>), keys of letters, digits, <c>-</c> and <c>_</c>, or "quoted";</item>
/// <item>fields separated by newlines or commas; repeated keys: the last wins, objects merge;</item>
/// <item>"quoted strings" with JSON escapes, unquoted strings (to the end of the line, a comma, <c>}</c>, <c>]</c> or a comment);</item>
/// <item>lists <c>[a, b]</c> (also across lines); comments <c>#</c> and <c>//</c>.</item>
/// </list>
/// <c>include</c>, <c>${...}</c> substitutions, <c>+=</c> and triple-quoted strings are rejected with a clear error.
/// </summary>
public sealed class HoconParser
{
    private readonly string _text;
    private readonly string _source;
    private readonly List<int> _lineStarts = [0];
    private int _pos;

    private HoconParser(string text, string source)
    {
        _text = text;
        _source = source;
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '\n')
            {
                _lineStarts.Add(i + 1);
            }
        }
    }

    public static HoconObject Parse(string text, string source = "<string>")
    {
        var parser = new HoconParser(text, source);
        return parser.ParseRoot();
    }

    public static HoconObject ParseFile(string path) => Parse(File.ReadAllText(path), path);

    private bool AtEnd => _pos >= _text.Length;

    private char Peek => AtEnd ? '\0' : _text[_pos];

    private HoconObject ParseRoot()
    {
        SkipBlank();
        var root = new HoconObject(Origin());
        if (Peek == '{')
        {
            _pos++;
            ParseFields(root, '}');
            SkipBlank();
            if (!AtEnd)
            {
                throw Error("unexpected text after the closing '}' of the root object");
            }
        }
        else
        {
            ParseFields(root, null);
        }

        return root;
    }

    private void ParseFields(HoconObject target, char? terminator)
    {
        while (true)
        {
            SkipBlankAndCommas();
            if (AtEnd)
            {
                if (terminator is not null)
                {
                    throw Error($"missing '{terminator}'");
                }

                return;
            }

            if (Peek == terminator)
            {
                _pos++;
                return;
            }

            if (Peek is '}' or ']')
            {
                throw Error($"unexpected '{Peek}'");
            }

            var fieldOrigin = Origin();
            var path = ParsePath();
            SkipInlineSpace();
            HoconValue value;
            if (Peek == '{')
            {
                value = ParseValue();
            }
            else if (Peek is '=' or ':')
            {
                _pos++;
                SkipInlineSpace();
                value = ParseValue();
            }
            else if (Peek == '+' && _pos + 1 < _text.Length && _text[_pos + 1] == '=')
            {
                throw Error("'+=' is not supported");
            }
            else
            {
                throw Error($"expected '=', ':' or '{{' after the key '{string.Join('.', path)}'");
            }

            if (string.Join('.', path) == "include")
            {
                throw new HoconParseException($"{fieldOrigin}: 'include' is not supported");
            }

            target.Set(path, value);
            EndOfField(terminator);
        }
    }

    /// <summary>After a value: only spaces and a comment, then a newline, a comma, the terminator or the end.</summary>
    private void EndOfField(char? terminator)
    {
        SkipInlineSpace();
        SkipComment();
        if (AtEnd || Peek is '\n' or '\r' or ',' || Peek == terminator)
        {
            return;
        }

        throw Error($"unexpected '{Peek}' after a value (separate fields with a newline or a comma)");
    }

    private List<string> ParsePath()
    {
        var keys = new List<string>();
        while (true)
        {
            if (Peek == '"')
            {
                keys.Add(ParseQuoted());
            }
            else
            {
                var start = _pos;
                while (!AtEnd && (char.IsAsciiLetterOrDigit(Peek) || Peek is '-' or '_'))
                {
                    _pos++;
                }

                if (_pos == start)
                {
                    throw AtEnd ? Error("expected a key") : Error($"unexpected '{Peek}' where a key was expected");
                }

                keys.Add(_text[start.._pos]);
            }

            if (Peek != '.')
            {
                return keys;
            }

            _pos++;
        }
    }

    private HoconValue ParseValue()
    {
        var origin = Origin();
        switch (Peek)
        {
            case '{':
            {
                _pos++;
                var obj = new HoconObject(origin);
                ParseFields(obj, '}');
                return obj;
            }

            case '[':
                return ParseList(origin);
            case '"':
                if (_text.AsSpan(_pos).StartsWith("\"\"\""))
                {
                    throw Error("triple-quoted strings are not supported");
                }

                return new HoconScalar(ParseQuoted(), quoted: true, origin);
            case '$' when _pos + 1 < _text.Length && _text[_pos + 1] == '{':
                throw Error("${...} substitutions are not supported; override settings with OMGSERVERS_* environment variables");
            default:
                return ParseUnquoted(origin);
        }
    }

    private HoconList ParseList(string origin)
    {
        _pos++; // [
        var items = new List<HoconValue>();
        while (true)
        {
            SkipBlankAndCommas();
            if (AtEnd)
            {
                throw Error("missing ']'");
            }

            if (Peek == ']')
            {
                _pos++;
                return new HoconList(items, origin);
            }

            items.Add(ParseValue());
            EndOfField(']');
        }
    }

    private HoconScalar ParseUnquoted(string origin)
    {
        var start = _pos;
        while (!AtEnd && Peek is not ('\n' or '\r' or ',' or '}' or ']' or '#' or '{' or '[' or '"')
               && !IsAt("//"))
        {
            if (IsAt("${"))
            {
                throw Error("${...} substitutions are not supported; override settings with OMGSERVERS_* environment variables");
            }

            _pos++;
        }

        var text = _text[start.._pos].TrimEnd();
        if (text.Length == 0)
        {
            throw Error("missing value");
        }

        return new HoconScalar(text, quoted: false, origin);
    }

    private string ParseQuoted()
    {
        _pos++; // opening quote
        var builder = new StringBuilder();
        while (true)
        {
            if (AtEnd || Peek is '\n' or '\r')
            {
                throw Error("unterminated string");
            }

            var c = _text[_pos++];
            if (c == '"')
            {
                return builder.ToString();
            }

            if (c != '\\')
            {
                builder.Append(c);
                continue;
            }

            if (AtEnd)
            {
                throw Error("unterminated string");
            }

            var escape = _text[_pos++];
            switch (escape)
            {
                case '"': builder.Append('"'); break;
                case '\\': builder.Append('\\'); break;
                case '/': builder.Append('/'); break;
                case 'b': builder.Append('\b'); break;
                case 'f': builder.Append('\f'); break;
                case 'n': builder.Append('\n'); break;
                case 'r': builder.Append('\r'); break;
                case 't': builder.Append('\t'); break;
                case 'u' when _pos + 4 <= _text.Length
                              && int.TryParse(_text.AsSpan(_pos, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var code):
                    builder.Append((char)code);
                    _pos += 4;
                    break;
                default:
                    _pos--;
                    throw Error($"invalid escape '\\{escape}' in a string");
            }
        }
    }

    private bool IsAt(string token) => _text.AsSpan(_pos).StartsWith(token, StringComparison.Ordinal);

    private void SkipInlineSpace()
    {
        while (!AtEnd && Peek is ' ' or '\t' or '\uFEFF')
        {
            _pos++;
        }
    }

    private void SkipComment()
    {
        if (Peek == '#' || IsAt("//"))
        {
            while (!AtEnd && Peek != '\n')
            {
                _pos++;
            }
        }
    }

    private void SkipBlank()
    {
        while (true)
        {
            SkipInlineSpace();
            SkipComment();
            if (!AtEnd && Peek is '\n' or '\r')
            {
                _pos++;
                continue;
            }

            return;
        }
    }

    private void SkipBlankAndCommas()
    {
        while (true)
        {
            SkipBlank();
            if (Peek == ',')
            {
                _pos++;
                continue;
            }

            return;
        }
    }

    private string Origin()
    {
        var index = _lineStarts.BinarySearch(_pos);
        var line = index >= 0 ? index + 1 : ~index;
        return $"{_source}:{line}";
    }

    private HoconParseException Error(string message) => new($"{Origin()}: {message}");
}
