namespace Basis.Hocon.Parsing;

internal enum TokenKind
{
    End,
    Newline,
    Whitespace,
    Comma,
    Colon,
    Equals,
    PlusEquals,
    OpenBrace,
    CloseBrace,
    OpenBracket,
    CloseBracket,
    QuotedString,
    Unquoted,
    Substitution,
}

/// <summary>One token. For strings <see cref="Text"/> is the unescaped value; for substitutions the inner expression.</summary>
internal readonly record struct Token(TokenKind Kind, string Text, int Line, int Column, bool Optional = false)
{
    public string Describe() => Kind switch
    {
        TokenKind.End => "the end of the input",
        TokenKind.Newline => "a newline",
        TokenKind.Whitespace => "whitespace",
        TokenKind.Comma => "','",
        TokenKind.Colon => "':'",
        TokenKind.Equals => "'='",
        TokenKind.PlusEquals => "'+='",
        TokenKind.OpenBrace => "'{'",
        TokenKind.CloseBrace => "'}'",
        TokenKind.OpenBracket => "'['",
        TokenKind.CloseBracket => "']'",
        TokenKind.QuotedString => $"the string \"{Shorten(Text)}\"",
        TokenKind.Unquoted => $"'{Shorten(Text)}'",
        _ => $"${{{(Optional ? "?" : "")}{Shorten(Text)}}}",
    };

    private static string Shorten(string text) => text.Length <= 40 ? text : string.Concat(text.AsSpan(0, 37), "...");
}
