using System.Text;

namespace Basis.Hocon.Parsing;

/// <summary>
/// Recursive-descent parser from HOCON text to the unresolved tree. Nesting is bounded by
/// <see cref="HoconLoadSettings.MaxDepth"/> so hostile input fails with a message instead of overflowing the stack.
/// </summary>
internal sealed class HoconParser
{
    private readonly HoconLexer _lexer;
    private readonly IncludeContext _includes;
    private readonly string[] _basePath;
    private readonly string? _directory;
    private int _depth;

    private HoconParser(string text, string source, string? directory, string[] basePath, IncludeContext includes, int depth)
    {
        _lexer = new HoconLexer(text, source);
        _directory = directory;
        _basePath = basePath;
        _includes = includes;
        _depth = depth;
    }

    /// <summary>Parses a document whose fields live at <paramref name="basePath"/> (empty for a top-level document).</summary>
    public static ObjectNode Parse(string text, string source, string? directory, string[] basePath, IncludeContext includes, int depth)
        => new HoconParser(text, source, directory, basePath, includes, depth).ParseDocument();

    private ObjectNode ParseDocument()
    {
        SkipWhitespaceAndNewlines();
        Token first = _lexer.Peek();
        var root = new ObjectNode(_lexer.OriginOf(first));
        if (first.Kind == TokenKind.OpenBrace)
        {
            _lexer.Next();
            Enter(first);
            ParseObjectBody(root, _basePath, first);
            _depth--;
            SkipWhitespaceAndNewlines();
            Token trailing = _lexer.Peek();
            if (trailing.Kind != TokenKind.End)
            {
                throw _lexer.Error(trailing, $"unexpected {trailing.Describe()} after the closing '}}' of the root object");
            }
        }
        else if (first.Kind == TokenKind.OpenBracket)
        {
            throw _lexer.Error(first, "the root of a HOCON document must be an object, not an array");
        }
        else
        {
            ParseObjectBody(root, _basePath, null);
        }

        return root;
    }

    private void ParseObjectBody(ObjectNode target, string[] path, Token? open)
    {
        while (true)
        {
            SkipWhitespaceAndNewlines();
            Token token = _lexer.Peek();
            switch (token.Kind)
            {
                case TokenKind.CloseBrace when open is not null:
                    _lexer.Next();
                    return;
                case TokenKind.CloseBrace:
                    throw _lexer.Error(token, "unexpected '}' with no matching '{'");
                case TokenKind.End when open is { } opened:
                    throw _lexer.Error(token, $"the input ended before the '}}' that closes the object opened at line {opened.Line}, column {opened.Column}");
                case TokenKind.End:
                    return;
                case TokenKind.Comma:
                    throw _lexer.Error(token, "unexpected ',': expected a key (two commas in a row, or a comma before the first field?)");
            }

            ParseFieldOrInclude(target, path);

            SkipWhitespace();
            Token after = _lexer.Peek();
            switch (after.Kind)
            {
                case TokenKind.Comma:
                case TokenKind.Newline:
                    _lexer.Next();
                    break;
                case TokenKind.CloseBrace:
                case TokenKind.End:
                    break;
                default:
                    throw _lexer.Error(after, $"expected ',', a newline or '}}' after a field, found {after.Describe()}");
            }
        }
    }

    private void ParseFieldOrInclude(ObjectNode target, string[] path)
    {
        Token first = _lexer.Next();
        string? pendingWhitespace = null;
        if (first.Kind == TokenKind.Unquoted && first.Text == "include" && _lexer.Peek().Kind == TokenKind.Whitespace)
        {
            pendingWhitespace = _lexer.Next().Text;
            Token next = _lexer.Peek();
            if (next.Kind == TokenKind.QuotedString || (next.Kind == TokenKind.Unquoted && next.Text.EndsWith('(')))
            {
                IncludeSpec spec = ParseIncludeSpec(first);
                _includes.Include(spec, _directory, target, path, _depth);
                return;
            }
        }

        if (first.Kind is not (TokenKind.Unquoted or TokenKind.QuotedString))
        {
            throw _lexer.Error(first, $"expected a key, found {first.Describe()}");
        }

        string[] key = ParseKey(first, pendingWhitespace);
        string[] fieldPath = [.. path, .. key];
        SkipWhitespaceAndNewlines();
        Token separator = _lexer.Peek();
        bool append = false;
        switch (separator.Kind)
        {
            case TokenKind.Colon:
            case TokenKind.Equals:
                _lexer.Next();
                SkipWhitespaceAndNewlines();
                break;
            case TokenKind.PlusEquals:
                _lexer.Next();
                SkipWhitespaceAndNewlines();
                append = true;
                break;
            case TokenKind.OpenBrace:
                break;
            default:
                throw _lexer.Error(separator, $"expected ':', '=' or '{{' after the key '{PathExpression.Render(key)}', found {separator.Describe()}");
        }

        Node value = ParseValue(fieldPath, PathExpression.Render(fieldPath));
        if (append)
        {
            // a += b means a = ${?a} [b]
            HoconOrigin origin = value.Origin;
            var self = new SubstitutionNode(PathExpression.Render(fieldPath), fieldPath, null, optional: true, origin);
            var array = new ArrayNode(origin);
            array.Items.Add(value);
            value = new ConcatenationNode([self, array], origin);
        }

        SetField(target, fieldPath, key, value);
    }

    private static void SetField(ObjectNode target, string[] fieldPath, string[] key, Node value)
    {
        value = MarkSelfReferences(value, fieldPath);
        value.FieldPath ??= PathExpression.Render(fieldPath);
        for (int i = key.Length - 1; i >= 1; i--)
        {
            var wrapper = new ObjectNode(value.Origin);
            wrapper.Fields[key[i]] = value;
            value = wrapper;
        }

        NodeMerger.Assign(target, key[0], value);
    }

    private static Node MarkSelfReferences(Node value, string[] fieldPath)
    {
        DefinitionNode? definition = null;
        if (value is SubstitutionNode single)
        {
            Mark(single);
        }
        else if (value is ConcatenationNode concatenation)
        {
            foreach (Node part in concatenation.Parts)
            {
                if (part is SubstitutionNode substitution)
                {
                    Mark(substitution);
                }
            }
        }

        return definition ?? value;

        void Mark(SubstitutionNode substitution)
        {
            if (substitution.Path.Length >= fieldPath.Length && substitution.Path.AsSpan(0, fieldPath.Length).SequenceEqual(fieldPath))
            {
                definition ??= new DefinitionNode(value, null) { FieldPath = PathExpression.Render(fieldPath) };
                substitution.SelfReferenceOwner = definition;
                substitution.SelfReferenceRemainder = substitution.Path[fieldPath.Length..];
            }
        }
    }

    private string[] ParseKey(Token first, string? pendingWhitespace)
    {
        var segments = new List<string>();
        var current = new StringBuilder();
        bool hasContent = false;
        Token token = first;
        if (pendingWhitespace is not null)
        {
            // "include" followed by something that is not an include: it is the start of a key.
            AddUnquoted(token.Text);
            if (_lexer.Peek().Kind is not (TokenKind.Unquoted or TokenKind.QuotedString))
            {
                return [current.ToString()];
            }

            current.Append(pendingWhitespace);
            token = _lexer.Next();
        }

        while (true)
        {
            if (token.Kind == TokenKind.QuotedString)
            {
                current.Append(token.Text);
                hasContent = true;
            }
            else
            {
                AddUnquoted(token.Text);
            }

            Token next = _lexer.Peek();
            string? whitespace = null;
            if (next.Kind == TokenKind.Whitespace)
            {
                whitespace = _lexer.Next().Text;
                next = _lexer.Peek();
            }

            if (next.Kind is not (TokenKind.Unquoted or TokenKind.QuotedString))
            {
                break;
            }

            current.Append(whitespace);
            token = _lexer.Next();
        }

        if (!hasContent)
        {
            throw _lexer.Error(first, "invalid key: it ends with '.' (quote the key if the dot is part of the name)");
        }

        segments.Add(current.ToString());
        return [.. segments];

        void AddUnquoted(string text)
        {
            foreach (char c in text)
            {
                if (c != '.')
                {
                    current.Append(c);
                    hasContent = true;
                    continue;
                }

                if (!hasContent)
                {
                    throw _lexer.Error(first, "invalid key: empty path element before '.' (quote the key if the dot is part of the name)");
                }

                segments.Add(current.ToString());
                current.Clear();
                hasContent = false;
            }
        }
    }

    private Node ParseValue(string[] fieldPath, string key)
    {
        List<Node>? parts = null;
        Node? single = null;
        WhitespaceNode? pendingWhitespace = null;
        while (true)
        {
            Token token = _lexer.Peek();
            Node part;
            switch (token.Kind)
            {
                case TokenKind.Whitespace:
                    _lexer.Next();
                    if (single is not null)
                    {
                        pendingWhitespace = new WhitespaceNode(token.Text, _lexer.OriginOf(token));
                    }

                    continue;
                case TokenKind.Newline:
                case TokenKind.Comma:
                case TokenKind.CloseBrace:
                case TokenKind.CloseBracket:
                case TokenKind.End:
                    if (single is null)
                    {
                        throw _lexer.Error(token, $"expected a value for '{key}', found {token.Describe()}");
                    }

                    return parts is null ? single : new ConcatenationNode(parts, single.Origin);
                case TokenKind.OpenBrace:
                    _lexer.Next();
                    Enter(token);
                    var obj = new ObjectNode(_lexer.OriginOf(token));
                    ParseObjectBody(obj, fieldPath, token);
                    _depth--;
                    part = obj;
                    break;
                case TokenKind.OpenBracket:
                    _lexer.Next();
                    Enter(token);
                    part = ParseArray(token, fieldPath, key);
                    _depth--;
                    break;
                case TokenKind.QuotedString:
                    _lexer.Next();
                    part = new ScalarNode(HoconValueKind.String, token.Text, _lexer.OriginOf(token));
                    break;
                case TokenKind.Unquoted:
                    _lexer.Next();
                    part = Classify(token);
                    break;
                case TokenKind.Substitution:
                    _lexer.Next();
                    part = CreateSubstitution(token);
                    break;
                default:
                    throw _lexer.Error(token, $"unexpected {token.Describe()} in the value of '{key}' (put strings that contain it in double quotes)");
            }

            if (single is null)
            {
                single = part;
                continue;
            }

            parts ??= [single];
            if (pendingWhitespace is not null)
            {
                parts.Add(pendingWhitespace);
                pendingWhitespace = null;
            }

            parts.Add(part);
        }
    }

    private ArrayNode ParseArray(Token open, string[] fieldPath, string key)
    {
        var array = new ArrayNode(_lexer.OriginOf(open));
        while (true)
        {
            SkipWhitespaceAndNewlines();
            Token token = _lexer.Peek();
            switch (token.Kind)
            {
                case TokenKind.CloseBracket:
                    _lexer.Next();
                    return array;
                case TokenKind.End:
                    throw _lexer.Error(token, $"the input ended before the ']' that closes the array opened at line {open.Line}, column {open.Column}");
                case TokenKind.Comma:
                    throw _lexer.Error(token, $"unexpected ',' in the array '{key}' (two commas in a row?)");
            }

            array.Items.Add(ParseValue(fieldPath, key));
            SkipWhitespace();
            Token after = _lexer.Peek();
            switch (after.Kind)
            {
                case TokenKind.Comma:
                case TokenKind.Newline:
                    _lexer.Next();
                    break;
                case TokenKind.CloseBracket:
                    break;
                case TokenKind.End:
                    throw _lexer.Error(after, $"the input ended before the ']' that closes the array opened at line {open.Line}, column {open.Column}");
                default:
                    throw _lexer.Error(after, $"expected ',' or ']' in the array '{key}', found {after.Describe()}");
            }
        }
    }

    private SubstitutionNode CreateSubstitution(Token token)
    {
        HoconOrigin origin = _lexer.OriginOf(token);
        string[] path = PathExpression.Parse(token.Text, origin);
        return _basePath.Length == 0
            ? new SubstitutionNode(token.Text, path, null, token.Optional, origin)
            : new SubstitutionNode(token.Text, [.. _basePath, .. path], path, token.Optional, origin);
    }

    private ScalarNode Classify(Token token)
    {
        HoconOrigin origin = _lexer.OriginOf(token);
        return token.Text switch
        {
            "true" or "false" => new ScalarNode(HoconValueKind.Boolean, token.Text, origin),
            "null" => new ScalarNode(HoconValueKind.Null, null, origin),
            _ when IsJsonNumber(token.Text) => new ScalarNode(HoconValueKind.Number, token.Text, origin),
            _ => new ScalarNode(HoconValueKind.String, token.Text, origin),
        };
    }

    internal static bool IsJsonNumber(ReadOnlySpan<char> text)
    {
        int i = 0;
        if (i < text.Length && text[i] == '-')
        {
            i++;
        }

        if (i >= text.Length || !char.IsAsciiDigit(text[i]))
        {
            return false;
        }

        if (text[i] == '0')
        {
            i++;
        }
        else
        {
            while (i < text.Length && char.IsAsciiDigit(text[i]))
            {
                i++;
            }
        }

        if (i < text.Length && text[i] == '.')
        {
            i++;
            int start = i;
            while (i < text.Length && char.IsAsciiDigit(text[i]))
            {
                i++;
            }

            if (i == start)
            {
                return false;
            }
        }

        if (i < text.Length && text[i] is 'e' or 'E')
        {
            i++;
            if (i < text.Length && text[i] is '+' or '-')
            {
                i++;
            }

            int start = i;
            while (i < text.Length && char.IsAsciiDigit(text[i]))
            {
                i++;
            }

            if (i == start)
            {
                return false;
            }
        }

        return i == text.Length;
    }

    private IncludeSpec ParseIncludeSpec(Token includeToken)
    {
        HoconOrigin origin = _lexer.OriginOf(includeToken);
        var functions = new List<string>();
        Token token = _lexer.Next();
        while (token.Kind is TokenKind.Unquoted or TokenKind.Whitespace)
        {
            if (token.Kind == TokenKind.Unquoted)
            {
                if (!token.Text.EndsWith('('))
                {
                    throw _lexer.Error(token, $"invalid include: expected file(\"...\"), required(...) or a quoted file name, found {token.Describe()}");
                }

                foreach (string function in token.Text[..^1].Split('('))
                {
                    string trimmed = function.Trim();
                    if (trimmed is not ("file" or "url" or "classpath" or "required"))
                    {
                        throw _lexer.Error(token, $"invalid include: unknown include kind '{trimmed}(' (expected file, url, classpath or required)");
                    }

                    functions.Add(trimmed);
                }
            }

            token = _lexer.Next();
        }

        if (token.Kind != TokenKind.QuotedString)
        {
            throw _lexer.Error(token, $"invalid include: expected a quoted file name, found {token.Describe()}");
        }

        string name = token.Text;
        int closing = 0;
        while (closing < functions.Count)
        {
            Token close = _lexer.Next();
            if (close.Kind == TokenKind.Whitespace)
            {
                continue;
            }

            if (close.Kind != TokenKind.Unquoted || close.Text.Any(c => c != ')') || closing + close.Text.Length > functions.Count)
            {
                throw _lexer.Error(close, $"invalid include: expected ')' to close '{functions[functions.Count - 1 - closing]}(', found {close.Describe()}");
            }

            closing += close.Text.Length;
        }

        return IncludeSpec.Create(functions, name, origin);
    }

    private void Enter(Token open)
    {
        if (++_depth > _includes.Settings.MaxDepth)
        {
            throw _lexer.Error(open, $"objects and arrays are nested more than {_includes.Settings.MaxDepth} levels deep");
        }
    }

    private void SkipWhitespace()
    {
        while (_lexer.Peek().Kind == TokenKind.Whitespace)
        {
            _lexer.Next();
        }
    }

    private void SkipWhitespaceAndNewlines()
    {
        while (_lexer.Peek().Kind is TokenKind.Whitespace or TokenKind.Newline)
        {
            _lexer.Next();
        }
    }
}
