using System.Globalization;
using System.Text;

namespace Basis.Tasks.Verification;

internal enum MathParseStatus
{
    Ok,
    TooLarge,
}

/// <summary>
/// A normalised math answer: its canonical text (for non-numeric answers) and, where it is numeric, its
/// value or the values of a tuple/interval together with the brackets around them.
/// </summary>
internal sealed class MathAnswer
{
    private MathAnswer(string text, double[]? numbers, char open, char close, string units = "")
    {
        Units = units;
        Text = text;
        Numbers = numbers;
        Open = open;
        Close = close;
    }

    /// <summary>The normalised answer with all whitespace removed; compared when either side is not numeric.</summary>
    public string Text { get; }

    /// <summary>The scalar (one element, no brackets) or the tuple/interval/list elements; null when not numeric.</summary>
    public double[]? Numbers { get; }

    /// <summary>'(' or '[' around a tuple or interval, '\0' for a scalar or a bare comma list.</summary>
    public char Open { get; }

    public char Close { get; }

    /// <summary>Unit words after a scalar ("cm" in "12 cm"), whitespace removed; empty when there are none.</summary>
    public string Units { get; }

    public bool IsEquivalentTo(MathAnswer other, double relativeTolerance)
    {
        if (Numbers is not null && other.Numbers is not null)
        {
            // Units are optional, but when both sides name one they must agree: "5 x" is not "5 y".
            if (Numbers.Length != other.Numbers.Length || Open != other.Open || Close != other.Close
                || (Units.Length > 0 && other.Units.Length > 0 && Units != other.Units))
            {
                return false;
            }

            for (int i = 0; i < Numbers.Length; i++)
            {
                if (!NumbersClose(Numbers[i], other.Numbers[i], relativeTolerance))
                {
                    return false;
                }
            }

            return true;
        }

        return string.Equals(Text, other.Text, StringComparison.Ordinal);
    }

    internal static bool NumbersClose(double a, double b, double relativeTolerance)
    {
        if (double.IsInfinity(a) || double.IsInfinity(b))
        {
            return a == b;
        }

        return Math.Abs(a - b) <= relativeTolerance * Math.Max(Math.Abs(a), Math.Abs(b));
    }

    /// <summary>Normalises and parses <paramref name="raw"/> (the content of a box, or a gold answer).</summary>
    public static MathParseStatus Parse(string raw, VerifierOptions options, ref Deadline deadline, out MathAnswer answer)
    {
        answer = new MathAnswer(string.Empty, null, '\0', '\0');
        if (!MathNormalizer.TryNormalize(raw, options.MaxNestingDepth, ref deadline, out string normalized))
        {
            return MathParseStatus.TooLarge;
        }

        normalized = WithoutVariableAssignment(normalized);
        string text = RemoveWhitespace(normalized);
        deadline.Check();
        var parser = new MathParser(normalized, options, ref deadline);
        double[]? numbers = null;
        char open = '\0';
        char close = '\0';
        if (normalized.Length == 0)
        {
            answer = new MathAnswer(text, null, open, close);
            return MathParseStatus.Ok;
        }

        int closing = normalized[0] is '(' or '[' ? parser.ClosingBracket(0) : -1;
        if (parser.TooLarge)
        {
            return MathParseStatus.TooLarge;
        }

        if (closing == normalized.Length - 1 && normalized[closing] is ')' or ']')
        {
            // A tuple "(1, 2)" or an interval "(0, 1]": compared element-wise, brackets included.
            open = normalized[0];
            close = normalized[closing];
            numbers = parser.ParseElements(1, closing);
            if (numbers is { Length: 1 } && open == '(' && close == ')')
            {
                // "(5)" is just 5.
                open = close = '\0';
            }
            else if (numbers is { Length: 1 })
            {
                numbers = null;
            }
        }
        else
        {
            numbers = parser.TryParseScalar(0, normalized.Length, allowUnits: true, out double value) ? [value] : null;
            if (numbers is null && !parser.TooLarge && normalized.Contains(','))
            {
                numbers = parser.ParseElements(0, normalized.Length);
            }
        }

        if (parser.TooLarge)
        {
            return MathParseStatus.TooLarge;
        }

        answer = new MathAnswer(text, numbers, open, close, open == '\0' && numbers is { Length: 1 } ? RemoveWhitespace(parser.Units) : string.Empty);
        return MathParseStatus.Ok;
    }

    // "x = 5" and "k=-2" answer with the value: a single-letter variable and '=' are dropped.
    private static string WithoutVariableAssignment(string text)
    {
        int equals = text.IndexOf('=');
        if (equals <= 0 || text.IndexOf('=', equals + 1) >= 0)
        {
            return text;
        }

        ReadOnlySpan<char> left = text.AsSpan(0, equals).Trim();
        return left.Length == 1 && char.IsAsciiLetter(left[0]) ? text[(equals + 1)..].Trim() : text;
    }

    private static string RemoveWhitespace(string text)
    {
        if (!text.AsSpan().ContainsAny(" \t\r\n"))
        {
            return text;
        }

        var builder = new StringBuilder(text.Length);
        foreach (char c in text)
        {
            if (!char.IsWhiteSpace(c))
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }
}

/// <summary>Text-level clean-up of a LaTeX answer before it is parsed.</summary>
internal static class MathNormalizer
{
    private static readonly string[] s_textCommands = [@"\text", @"\textbf", @"\textnormal", @"\mathrm", @"\mathbf", @"\mbox"];

    // Removed outright: sizing, spacing, currency, percent and degree marks.
    private static readonly string[] s_removed =
    [
        @"\displaystyle", @"\left", @"\right", @"\!", @"\,", @"\;", @"\:", @"^{\circ}", @"^\circ", @"\circ", "°",
        @"\$", "$", @"\%", "%",
    ];

    public static bool TryNormalize(string raw, int maxDepth, ref Deadline deadline, out string normalized)
    {
        string s = raw.Replace(@"\dfrac", @"\frac", StringComparison.Ordinal)
            .Replace(@"\tfrac", @"\frac", StringComparison.Ordinal);
        normalized = s;
        if (!TryUnwrapTextCommands(ref s, maxDepth, ref deadline))
        {
            return false;
        }

        foreach (string token in s_removed)
        {
            s = s.Replace(token, string.Empty, StringComparison.Ordinal);
        }

        s = s.Replace("{,}", ",", StringComparison.Ordinal)
            .Replace(@"\ ", " ", StringComparison.Ordinal)
            .Replace('~', ' ')
            .Replace('\u2212', '-');
        deadline.Check();
        normalized = s.Trim().TrimEnd('.', ';', '!', ',', ' ');
        return true;
    }

    // "\text{ cm}" becomes " cm " so that units read as trailing words. One pass, so that a completion made
    // of thousands of text commands costs linear time.
    private static bool TryUnwrapTextCommands(ref string s, int maxDepth, ref Deadline deadline)
    {
        if (!s.Contains(@"\m", StringComparison.Ordinal) && !s.Contains(@"\t", StringComparison.Ordinal))
        {
            return true;
        }

        var builder = new StringBuilder(s.Length);
        var groupIsText = new Stack<bool>();
        for (int i = 0; i < s.Length; i++)
        {
            deadline.Tick();
            char c = s[i];
            if (c == '\\')
            {
                string? command = TextCommandAt(s, i);
                if (command is not null)
                {
                    if (groupIsText.Count >= maxDepth)
                    {
                        return false;
                    }

                    groupIsText.Push(true);
                    builder.Append(' ');
                    i += command.Length;
                    continue;
                }

                // Keep an escape pair such as "\{" together so its brace is not taken for a group.
                builder.Append(c);
                if (i + 1 < s.Length)
                {
                    builder.Append(s[++i]);
                }

                continue;
            }

            if (c == '{')
            {
                if (groupIsText.Count >= maxDepth)
                {
                    return false;
                }

                groupIsText.Push(false);
            }
            else if (c == '}' && groupIsText.Count > 0 && groupIsText.Pop())
            {
                builder.Append(' ');
                continue;
            }

            builder.Append(c);
        }

        s = builder.ToString();
        return true;
    }

    // The text command (without its '{') starting at i when it is followed by '{'.
    private static string? TextCommandAt(string s, int i)
    {
        foreach (string command in s_textCommands)
        {
            if (string.CompareOrdinal(s, i, command, 0, command.Length) == 0
                && i + command.Length < s.Length && s[i + command.Length] == '{')
            {
                return command;
            }
        }

        return null;
    }
}

/// <summary>
/// Recursive-descent reader for numeric answers: signs, decimals, thousands separators, scientific notation
/// (1.5e3, 1.5\times10^{3}), \frac{a}{b} and \frac12, a/b, mixed numbers (3\frac{1}{2}, 3 1/2), \infty,
/// braces, and trailing unit words.
/// </summary>
internal ref struct MathParser
{
    private readonly string _s;
    private readonly int _maxDepth;
    private readonly int _maxNumberChars;
    private readonly ref Deadline _deadline;
    private int _end;
    private int _pos;
    private int _depth;

    public MathParser(string text, VerifierOptions options, ref Deadline deadline)
    {
        _s = text;
        _maxDepth = options.MaxNestingDepth;
        _maxNumberChars = options.MaxNumberChars;
        _deadline = ref deadline;
    }

    public bool TooLarge { get; private set; }

    /// <summary>The unit words accepted by the last <see cref="TryParseScalar"/>.</summary>
    public string Units { get; private set; } = string.Empty;

    /// <summary>The index of the bracket closing the one at <paramref name="start"/>, or -1 if it never closes.</summary>
    public int ClosingBracket(int start)
    {
        int depth = 0;
        for (int i = start; i < _s.Length; i++)
        {
            _deadline.Tick();
            switch (_s[i])
            {
                case '(' or '[' or '{':
                    if (++depth > _maxDepth)
                    {
                        TooLarge = true;
                        return -1;
                    }

                    break;
                case ')' or ']' or '}':
                    if (--depth == 0)
                    {
                        return i;
                    }

                    break;
            }
        }

        return -1;
    }

    /// <summary>Parses a comma-separated list of scalars in [from, to); null if any element is not numeric.</summary>
    public double[]? ParseElements(int from, int to)
    {
        var values = new List<double>();
        int depth = 0;
        int elementStart = from;
        for (int i = from; i <= to; i++)
        {
            _deadline.Tick();
            char c = i < to ? _s[i] : ',';
            if (c is '(' or '[' or '{')
            {
                depth++;
            }
            else if (c is ')' or ']' or '}')
            {
                depth--;
            }
            else if (c == ',' && depth == 0)
            {
                if (!TryParseScalar(elementStart, i, allowUnits: false, out double value))
                {
                    return null;
                }

                values.Add(value);
                elementStart = i + 1;
            }
        }

        return [.. values];
    }

    /// <summary>Parses [from, to) as one signed scalar, optionally followed by unit words.</summary>
    public bool TryParseScalar(int from, int to, bool allowUnits, out double value)
    {
        _pos = from;
        _end = to;
        _depth = 0;
        Units = string.Empty;
        if (!TryParseSigned(out value))
        {
            return false;
        }

        int beforeSpace = _pos;
        SkipSpaces();
        if (_pos == _end)
        {
            return true;
        }

        if (!allowUnits || _pos == beforeSpace || !IsUnitText(_pos, _end))
        {
            return false;
        }

        Units = _s[_pos.._end];
        return true;
    }

    private bool TryParseSigned(out double value)
    {
        value = 0;
        SkipSpaces();
        bool negative = false;
        if (_pos < _end && _s[_pos] is '-' or '+')
        {
            negative = _s[_pos] == '-';
            _pos++;
            SkipSpaces();
        }

        if (!TryParseUnsigned(out value))
        {
            return false;
        }

        value = negative ? -value : value;
        return true;
    }

    private bool TryParseUnsigned(out double value)
    {
        value = 0;
        if (_pos >= _end)
        {
            return false;
        }

        if (Match(@"\infty") || Match("\u221E"))
        {
            value = double.PositiveInfinity;
            return true;
        }

        if (Match(@"\frac"))
        {
            return TryParseFraction(out value) && TryParseScientificSuffix(ref value);
        }

        if (_s[_pos] == '{')
        {
            return TryParseBraced(out value) && TryParseScientificSuffix(ref value);
        }

        if (!TryParseLiteral(out value, out bool isInteger))
        {
            return false;
        }

        int afterLiteral = _pos;
        SkipSpaces();
        bool spaced = _pos > afterLiteral;
        if (isInteger && Match(@"\frac"))
        {
            // Mixed number: 3\frac{1}{2} is 3.5, and so is -3\frac12 (the sign applies to the whole).
            if (!TryParseFraction(out double fraction) || fraction < 0)
            {
                return false;
            }

            value += fraction;
            return true;
        }

        if (isInteger && spaced && _pos < _end && char.IsAsciiDigit(_s[_pos]))
        {
            // Mixed number "3 1/2".
            if (!TryParseLiteral(out double numerator, out bool numeratorIsInteger) || !numeratorIsInteger
                || !Match("/") || !TryParseLiteral(out double denominator, out bool denominatorIsInteger)
                || !denominatorIsInteger || denominator == 0)
            {
                return false;
            }

            value += numerator / denominator;
            return true;
        }

        if (_pos < _end && _s[_pos] == '/')
        {
            _pos++;
            SkipSpaces();
            double denominator;
            bool ok = _pos < _end && _s[_pos] == '{' ? TryParseBraced(out denominator) : TryParseLiteral(out denominator, out _);
            if (!ok || denominator == 0)
            {
                return false;
            }

            value /= denominator;
            return true;
        }

        _pos = afterLiteral;
        return TryParseScientificSuffix(ref value);
    }

    private bool TryParseFraction(out double value)
    {
        value = 0;
        if (!TryParseFractionArgument(out double numerator) || !TryParseFractionArgument(out double denominator) || denominator == 0)
        {
            return false;
        }

        value = numerator / denominator;
        return double.IsFinite(value);
    }

    // "{-3}" or a single digit as in \frac12.
    private bool TryParseFractionArgument(out double value)
    {
        value = 0;
        SkipSpaces();
        if (_pos < _end && _s[_pos] == '{')
        {
            return TryParseBraced(out value);
        }

        if (_pos < _end && char.IsAsciiDigit(_s[_pos]))
        {
            value = _s[_pos++] - '0';
            return true;
        }

        return false;
    }

    private bool TryParseBraced(out double value)
    {
        value = 0;
        if (++_depth > _maxDepth)
        {
            TooLarge = true;
            return false;
        }

        _pos++;
        if (!TryParseSigned(out value))
        {
            return false;
        }

        SkipSpaces();
        if (_pos >= _end || _s[_pos] != '}')
        {
            return false;
        }

        _pos++;
        _depth--;
        return true;
    }

    // "e3" is read by the literal; here: "\times 10^{3}", "\cdot10^3", "×10^-3".
    private bool TryParseScientificSuffix(ref double value)
    {
        int start = _pos;
        SkipSpaces();
        if (!(Match(@"\times") || Match(@"\cdot") || Match("\u00D7")))
        {
            _pos = start;
            return true;
        }

        SkipSpaces();
        if (!Match("10") || !Match("^"))
        {
            return false;
        }

        bool braced = Match("{");
        bool negative = Match("-");
        int digitsStart = _pos;
        while (_pos < _end && char.IsAsciiDigit(_s[_pos]) && _pos - digitsStart < 4)
        {
            _pos++;
        }

        int digitsEnd = _pos;
        if (digitsEnd == digitsStart || (braced && !Match("}")))
        {
            return false;
        }

        int exponent = int.Parse(_s.AsSpan(digitsStart, digitsEnd - digitsStart), CultureInfo.InvariantCulture);
        value *= Math.Pow(10, negative ? -exponent : exponent);
        return double.IsFinite(value);
    }

    // Digits with optional thousands groups ("1,234,567"), optional fraction, optional exponent ("1.5e-3").
    private bool TryParseLiteral(out double value, out bool isInteger)
    {
        value = 0;
        isInteger = true;
        int start = _pos;
        int leading = 0;
        while (_pos < _end && char.IsAsciiDigit(_s[_pos]))
        {
            _deadline.Tick();
            _pos++;
            leading++;
        }

        while (leading is > 0 and <= 3 && IsThousandsGroup(_pos))
        {
            _pos += 4;
        }

        if (_pos + 1 < _end && _s[_pos] == '.' && char.IsAsciiDigit(_s[_pos + 1]))
        {
            isInteger = false;
            _pos++;
            while (_pos < _end && char.IsAsciiDigit(_s[_pos]))
            {
                _deadline.Tick();
                _pos++;
            }
        }
        else if (leading == 0)
        {
            return false;
        }

        if (_pos < _end && _s[_pos] is 'e' or 'E')
        {
            int exponentStart = _pos + 1 < _end && _s[_pos + 1] is '-' or '+' ? _pos + 2 : _pos + 1;
            if (exponentStart < _end && char.IsAsciiDigit(_s[exponentStart]))
            {
                isInteger = false;
                _pos = exponentStart;
                while (_pos < _end && char.IsAsciiDigit(_s[_pos]))
                {
                    _pos++;
                }
            }
        }

        int length = _pos - start;
        if (length > _maxNumberChars)
        {
            TooLarge = true;
            return false;
        }

        Span<char> buffer = stackalloc char[length];
        int used = 0;
        foreach (char c in _s.AsSpan(start, length))
        {
            if (c != ',')
            {
                buffer[used++] = c;
            }
        }

        return double.TryParse(buffer[..used], NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);
    }

    private readonly bool IsThousandsGroup(int at) =>
        at + 3 < _end && _s[at] == ','
        && char.IsAsciiDigit(_s[at + 1]) && char.IsAsciiDigit(_s[at + 2]) && char.IsAsciiDigit(_s[at + 3])
        && (at + 4 >= _end || !char.IsAsciiDigit(_s[at + 4]));

    // Unit words after the number: "cm", "square meters", "m/s", "m^2".
    private readonly bool IsUnitText(int from, int to)
    {
        if (!char.IsLetter(_s[from]))
        {
            return false;
        }

        foreach (char c in _s.AsSpan(from, to - from))
        {
            if (!char.IsLetterOrDigit(c) && c is not (' ' or '.' or '/' or '^'))
            {
                return false;
            }
        }

        return true;
    }

    private bool Match(string token)
    {
        if (_s.AsSpan(_pos, _end - _pos).StartsWith(token, StringComparison.Ordinal))
        {
            _pos += token.Length;
            return true;
        }

        return false;
    }

    private void SkipSpaces()
    {
        while (_pos < _end && char.IsWhiteSpace(_s[_pos]))
        {
            _pos++;
        }
    }
}
