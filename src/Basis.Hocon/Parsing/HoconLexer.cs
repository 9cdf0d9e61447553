using System.Globalization;
using System.Text;

namespace Basis.Hocon.Parsing;

/// <summary>Turns HOCON text into tokens on demand. Comments are dropped; the newline that ends them is kept.</summary>
internal sealed class HoconLexer
{
    private readonly string _text;
    private readonly string _source;
    private readonly StringBuilder _buffer = new();
    private int _position;
    private int _line = 1;
    private int _lineStart;
    private Token? _peeked;

    public HoconLexer(string text, string source)
    {
        _text = text;
        _source = source;
        if (_text.Length > 0 && _text[0] == '\uFEFF')
        {
            _position = 1;
            _lineStart = 1;
        }
    }

    public Token Peek() => _peeked ??= Read();

    public Token Next()
    {
        if (_peeked is { } token)
        {
            _peeked = null;
            return token;
        }

        return Read();
    }

    public HoconOrigin OriginOf(Token token) => new(_source, token.Line, token.Column);

    public HoconException Error(Token token, string reason) => new(OriginOf(token), reason);

    private HoconException ErrorHere(int line, int column, string reason) => new(new HoconOrigin(_source, line, column), reason);

    private int Column => _position - _lineStart + 1;

    private Token Read()
    {
        while (true)
        {
            if (_position >= _text.Length)
            {
                return new Token(TokenKind.End, "", _line, Column);
            }

            int line = _line;
            int column = Column;
            char c = _text[_position];
            switch (c)
            {
                case '\n':
                    _position++;
                    _line++;
                    _lineStart = _position;
                    return new Token(TokenKind.Newline, "\n", line, column);
                case '#':
                    SkipComment();
                    continue;
                case '/' when CharAt(1) == '/':
                    SkipComment();
                    continue;
                case ',':
                    _position++;
                    return new Token(TokenKind.Comma, ",", line, column);
                case ':':
                    _position++;
                    return new Token(TokenKind.Colon, ":", line, column);
                case '=':
                    _position++;
                    return new Token(TokenKind.Equals, "=", line, column);
                case '{':
                    _position++;
                    return new Token(TokenKind.OpenBrace, "{", line, column);
                case '}':
                    _position++;
                    return new Token(TokenKind.CloseBrace, "}", line, column);
                case '[':
                    _position++;
                    return new Token(TokenKind.OpenBracket, "[", line, column);
                case ']':
                    _position++;
                    return new Token(TokenKind.CloseBracket, "]", line, column);
                case '+':
                    if (CharAt(1) == '=')
                    {
                        _position += 2;
                        return new Token(TokenKind.PlusEquals, "+=", line, column);
                    }

                    throw ErrorHere(line, column, "'+' is only allowed as part of '+='; put strings that contain '+' in double quotes");
                case '"':
                    return CharAt(1) == '"' && CharAt(2) == '"' ? ReadTripleQuoted(line, column) : ReadQuoted(line, column);
                case '$':
                    if (CharAt(1) == '{')
                    {
                        return ReadSubstitution(line, column);
                    }

                    throw ErrorHere(line, column, "'$' is reserved for substitutions like ${a.b}; put strings that contain '$' in double quotes");
            }

            if (IsWhitespace(c))
            {
                int start = _position;
                while (_position < _text.Length && _text[_position] != '\n' && IsWhitespace(_text[_position]))
                {
                    _position++;
                }

                return new Token(TokenKind.Whitespace, _text[start.._position], line, column);
            }

            if (IsForbidden(c))
            {
                throw ErrorHere(line, column, $"the character '{c}' is reserved in HOCON; put strings that contain it in double quotes");
            }

            if (char.IsControl(c))
            {
                throw ErrorHere(line, column, $"unexpected control character U+{(int)c:X4} (is this a binary file?)");
            }

            return ReadUnquoted(line, column);
        }
    }

    private char CharAt(int offset)
    {
        int index = _position + offset;
        return index < _text.Length ? _text[index] : '\0';
    }

    private void SkipComment()
    {
        while (_position < _text.Length && _text[_position] != '\n')
        {
            _position++;
        }
    }

    private Token ReadUnquoted(int line, int column)
    {
        int start = _position;
        bool numeric = _text[start] == '-' || char.IsAsciiDigit(_text[start]);
        while (_position < _text.Length)
        {
            char c = _text[_position];
            if (c == '+' && numeric && _position > start && (_text[_position - 1] is 'e' or 'E'))
            {
                // The exponent sign of a number such as 1e+5.
                _position++;
                continue;
            }

            if (c == '\n' || IsWhitespace(c) || IsForbidden(c) || c is '$' or '"' or '{' or '}' or '[' or ']' or ':' or '=' or ',' or '+' or '#'
                || (c == '/' && CharAt(1) == '/'))
            {
                break;
            }

            if (char.IsControl(c))
            {
                throw ErrorHere(_line, Column, $"unexpected control character U+{(int)c:X4} (is this a binary file?)");
            }

            _position++;
        }

        return new Token(TokenKind.Unquoted, _text[start.._position], line, column);
    }

    private Token ReadQuoted(int line, int column)
    {
        _position++;
        _buffer.Clear();
        while (true)
        {
            if (_position >= _text.Length)
            {
                throw ErrorHere(line, column, "unterminated quoted string: the input ended before the closing '\"'");
            }

            char c = _text[_position];
            if (c == '"')
            {
                _position++;
                return new Token(TokenKind.QuotedString, _buffer.ToString(), line, column);
            }

            if (c == '\n')
            {
                throw ErrorHere(line, column, "unterminated quoted string: a newline before the closing '\"' (use \"\"\"triple quotes\"\"\" for multi-line strings)");
            }

            if (c == '\\')
            {
                ReadEscape();
                continue;
            }

            if (char.IsControl(c) && c != '\t')
            {
                throw ErrorHere(_line, Column, $"unexpected control character U+{(int)c:X4} in a quoted string (is this a binary file?)");
            }

            _buffer.Append(c);
            _position++;
        }
    }

    private void ReadEscape()
    {
        int line = _line;
        int column = Column;
        char e = CharAt(1);
        _position += 2;
        switch (e)
        {
            case '"': _buffer.Append('"'); break;
            case '\\': _buffer.Append('\\'); break;
            case '/': _buffer.Append('/'); break;
            case 'b': _buffer.Append('\b'); break;
            case 'f': _buffer.Append('\f'); break;
            case 'n': _buffer.Append('\n'); break;
            case 'r': _buffer.Append('\r'); break;
            case 't': _buffer.Append('\t'); break;
            case 'u':
                if (_position + 4 <= _text.Length
                    && int.TryParse(_text.AsSpan(_position, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int code))
                {
                    _buffer.Append((char)code);
                    _position += 4;
                    break;
                }

                throw ErrorHere(line, column, "invalid \\u escape: expected four hexadecimal digits");
            default:
                throw ErrorHere(line, column, e == '\0'
                    ? "unterminated quoted string: the input ended inside an escape"
                    : $"invalid escape '\\{e}' in a quoted string (allowed: \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)");
        }
    }

    private Token ReadTripleQuoted(int line, int column)
    {
        _position += 3;
        int start = _position;
        while (_position < _text.Length)
        {
            char c = _text[_position];
            if (c == '"' && CharAt(1) == '"' && CharAt(2) == '"')
            {
                // The string ends at the last three quotes of a run; any quotes before them belong to the string.
                int run = 3;
                while (CharAt(run) == '"')
                {
                    run++;
                }

                string value = _text.Substring(start, _position - start + run - 3);
                _position += run;
                return new Token(TokenKind.QuotedString, value, line, column);
            }

            if (c == '\n')
            {
                _line++;
                _lineStart = _position + 1;
            }

            _position++;
        }

        throw ErrorHere(line, column, "unterminated triple-quoted string: the input ended before the closing '\"\"\"'");
    }

    private Token ReadSubstitution(int line, int column)
    {
        _position += 2;
        bool optional = false;
        if (CharAt(0) == '?')
        {
            optional = true;
            _position++;
        }

        int start = _position;
        bool quoted = false;
        while (_position < _text.Length)
        {
            char c = _text[_position];
            if (c == '\n')
            {
                break;
            }

            if (quoted)
            {
                if (c == '\\')
                {
                    _position++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
            }
            else if (c == '"')
            {
                quoted = true;
            }
            else if (c == '}')
            {
                string expression = _text[start.._position];
                _position++;
                return new Token(TokenKind.Substitution, expression, line, column, optional);
            }

            _position++;
        }

        throw ErrorHere(line, column, "unterminated substitution: expected '}' to close '${' on the same line");
    }

    internal static bool IsWhitespace(char c) => c is ' ' or '\t' || c == '\uFEFF' || (c != '\n' && char.IsWhiteSpace(c));

    private static bool IsForbidden(char c) => c is '`' or '^' or '?' or '!' or '@' or '*' or '&' or '\\';
}
