using System.Globalization;

namespace Basis.Tasks.Verification;

/// <summary>
/// A decimal number as it appears in plain text: optional sign, optional '$', digits with optional
/// thousands separators ("1,234,567"), optional fraction. Compared exactly where decimal can hold it.
/// </summary>
internal readonly record struct PlainNumber(decimal Exact, double Approximate, bool IsExact)
{
    public bool NumericallyEquals(PlainNumber other) =>
        IsExact && other.IsExact ? Exact == other.Exact : Approximate == other.Approximate;

    /// <summary>
    /// Parses <paramref name="body"/> (no sign, '$' already skipped) after removing thousands separators.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<char> body, bool negative, out PlainNumber number)
    {
        Span<char> buffer = stackalloc char[body.Length + 1];
        int length = 0;
        if (negative)
        {
            buffer[length++] = '-';
        }

        foreach (char c in body)
        {
            if (c != ',')
            {
                buffer[length++] = c;
            }
        }

        ReadOnlySpan<char> text = buffer[..length];
        const NumberStyles Styles = NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint;
        if (decimal.TryParse(text, Styles, CultureInfo.InvariantCulture, out decimal exact))
        {
            number = new PlainNumber(exact, (double)exact, IsExact: true);
            return true;
        }

        if (double.TryParse(text, Styles, CultureInfo.InvariantCulture, out double approximate) && double.IsFinite(approximate))
        {
            number = new PlainNumber(0m, approximate, IsExact: false);
            return true;
        }

        number = default;
        return false;
    }
}

/// <summary>Where a number sits in a text, and whether it is negative.</summary>
internal readonly record struct NumberToken(int Start, int Length, bool Negative)
{
    public int End => Start + Length;
}

/// <summary>Finds plain-text number tokens without regular expressions (hot path of the GSM8K verifier).</summary>
internal static class NumberScanner
{
    /// <summary>Finds the first number token in <paramref name="text"/> at or after <paramref name="from"/>.</summary>
    public static bool TryFindFirst(ReadOnlySpan<char> text, int from, ref Deadline deadline, out NumberToken token)
    {
        int i = from;
        while (i < text.Length)
        {
            deadline.Tick();
            if (TryReadAt(text, i, out token))
            {
                return true;
            }

            i++;
        }

        token = default;
        return false;
    }

    /// <summary>Finds the last number token in <paramref name="text"/>.</summary>
    public static bool TryFindLast(ReadOnlySpan<char> text, ref Deadline deadline, out NumberToken token)
    {
        bool found = false;
        token = default;
        int i = 0;
        while (i < text.Length)
        {
            deadline.Tick();
            if (TryReadAt(text, i, out NumberToken candidate))
            {
                token = candidate;
                found = true;
                i = candidate.End;
            }
            else
            {
                i++;
            }
        }

        return found;
    }

    /// <summary>The token body without sign and currency sign, e.g. "1,234.5".</summary>
    public static ReadOnlySpan<char> Body(ReadOnlySpan<char> text, NumberToken token) => text.Slice(token.Start, token.Length);

    // A token starts at a digit (or '.' then digit) that does not continue a previous number or word.
    private static bool TryReadAt(ReadOnlySpan<char> text, int i, out NumberToken token)
    {
        token = default;
        char c = text[i];
        bool startsWithPoint = c == '.' && i + 1 < text.Length && char.IsAsciiDigit(text[i + 1]);
        if (!char.IsAsciiDigit(c) && !startsWithPoint)
        {
            return false;
        }

        if (i > 0 && (char.IsAsciiDigit(text[i - 1]) || text[i - 1] == '.' || text[i - 1] == ','))
        {
            return false;
        }

        int j = i;
        if (!startsWithPoint)
        {
            while (j < text.Length && char.IsAsciiDigit(text[j]))
            {
                j++;
            }

            // Thousands groups: ",ddd" not followed by another digit.
            while (j < text.Length && text[j] == ',' && IsGroup(text, j + 1))
            {
                j += 4;
            }
        }

        if (j + 1 < text.Length && text[j] == '.' && char.IsAsciiDigit(text[j + 1]))
        {
            j++;
            while (j < text.Length && char.IsAsciiDigit(text[j]))
            {
                j++;
            }
        }

        token = new NumberToken(i, j - i, IsNegative(text, i));
        return true;
    }

    private static bool IsGroup(ReadOnlySpan<char> text, int at) =>
        at + 3 <= text.Length
        && char.IsAsciiDigit(text[at]) && char.IsAsciiDigit(text[at + 1]) && char.IsAsciiDigit(text[at + 2])
        && (at + 3 == text.Length || !char.IsAsciiDigit(text[at + 3]));

    // "-5", "-$5" and "$-5" are negative; "3-5" is a range or a subtraction, so its '-' is not a sign.
    private static bool IsNegative(ReadOnlySpan<char> text, int start)
    {
        int k = start - 1;
        if (k >= 0 && text[k] == '$')
        {
            k--;
        }

        if (k < 0 || (text[k] != '-' && text[k] != '\u2212'))
        {
            return false;
        }

        return k == 0 || (!char.IsAsciiLetterOrDigit(text[k - 1]) && text[k - 1] != ')');
    }
}
