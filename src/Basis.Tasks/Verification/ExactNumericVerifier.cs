using System.Globalization;

namespace Basis.Tasks.Verification;

/// <summary>
/// The synthetic-task verifier. The completion contract: the policy emits just the answer as a decimal
/// number (optional leading '-'), then its end token; a backend without an end token may stop at a newline.
/// Only the first line counts, surrounding whitespace is ignored, and the number must equal the gold
/// numerically ("095" and "95.0" equal "95"). Anything else on that line is <see cref="VerificationReason.NoAnswer"/>.
/// </summary>
public sealed class ExactNumericVerifier : VerifierBase
{
    public const string RegistryName = "exact";

    public ExactNumericVerifier(VerifierOptions? options = null)
        : base(options)
    {
    }

    public override string Name => RegistryName;

    private protected override VerificationResult VerifyCore(string completion, string gold, ref Deadline deadline)
    {
        if (!TryParseLiteral(gold.AsSpan().Trim(), out decimal goldValue, out _))
        {
            return VerificationResult.Fail(VerificationReason.BadInput);
        }

        ReadOnlySpan<char> answer = completion.AsSpan();
        int newline = answer.IndexOf('\n');
        if (newline >= 0)
        {
            answer = answer[..newline];
        }

        answer = answer.Trim();
        if (answer.IsEmpty)
        {
            return VerificationResult.Fail(VerificationReason.NoAnswer);
        }

        if (answer.Length > Options.MaxNumberChars)
        {
            return VerificationResult.Fail(IsLiteralShape(answer) ? VerificationReason.TooLarge : VerificationReason.NoAnswer);
        }

        if (!TryParseLiteral(answer, out decimal value, out bool tooLarge))
        {
            return VerificationResult.Fail(tooLarge ? VerificationReason.TooLarge : VerificationReason.NoAnswer);
        }

        string extracted = answer.ToString();
        return value == goldValue ? VerificationResult.Correct(extracted) : VerificationResult.Wrong(extracted);
    }

    // Optional sign, digits, optional '.' and digits; no separators, exponents or spaces.
    private static bool IsLiteralShape(ReadOnlySpan<char> text)
    {
        int i = text.Length > 0 && (text[0] == '-' || text[0] == '+') ? 1 : 0;
        int digits = 0;
        bool point = false;
        for (; i < text.Length; i++)
        {
            char c = text[i];
            if (char.IsAsciiDigit(c))
            {
                digits++;
            }
            else if (c == '.' && !point)
            {
                point = true;
            }
            else
            {
                return false;
            }
        }

        return digits > 0;
    }

    private static bool TryParseLiteral(ReadOnlySpan<char> text, out decimal value, out bool tooLarge)
    {
        value = 0m;
        tooLarge = false;
        if (!IsLiteralShape(text))
        {
            return false;
        }

        const NumberStyles Styles = NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint;
        if (decimal.TryParse(text, Styles, CultureInfo.InvariantCulture, out value))
        {
            return true;
        }

        // Well-formed but beyond decimal's 28-29 significant digits.
        tooLarge = true;
        return false;
    }
}
