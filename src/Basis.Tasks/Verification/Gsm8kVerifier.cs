namespace Basis.Tasks.Verification;

/// <summary>
/// GSM8K-style final answers. The answer is the first number after the last "####"; without that marker,
/// the first number after the last "answer is" (case-insensitive, e.g. "The answer is $1,234."); without
/// either, the last number in the completion when <see cref="LastNumberFallback"/> is on. Numbers may carry
/// a sign, '$', thousands separators, a fraction, trailing units and punctuation, and compare exactly.
/// </summary>
public sealed class Gsm8kVerifier : VerifierBase
{
    public const string RegistryName = "gsm8k";
    public const string LastNumberRegistryName = "gsm8k-last-number";

    private const string FinalAnswerMarker = "####";
    private const string AnswerIsPhrase = "answer is";

    public Gsm8kVerifier(VerifierOptions? options = null, bool lastNumberFallback = false)
        : base(options)
    {
        LastNumberFallback = lastNumberFallback;
    }

    public override string Name => LastNumberFallback ? LastNumberRegistryName : RegistryName;

    /// <summary>Whether a completion without a marker is judged by its last number.</summary>
    public bool LastNumberFallback { get; }

    private protected override VerificationResult VerifyCore(string completion, string gold, ref Deadline deadline)
    {
        if (!TryParseGold(gold, ref deadline, out PlainNumber goldValue))
        {
            return VerificationResult.Fail(VerificationReason.BadInput);
        }

        ReadOnlySpan<char> text = completion;
        NumberToken token;
        int marker = text.LastIndexOf(FinalAnswerMarker, StringComparison.Ordinal);
        if (marker < 0)
        {
            marker = text.LastIndexOf(AnswerIsPhrase, StringComparison.OrdinalIgnoreCase);
            if (marker >= 0)
            {
                marker += AnswerIsPhrase.Length;
            }
        }
        else
        {
            marker += FinalAnswerMarker.Length;
        }

        deadline.Check();
        if (marker >= 0)
        {
            ReadOnlySpan<char> line = RestOfLine(text, marker);
            if (!NumberScanner.TryFindFirst(line, 0, ref deadline, out token))
            {
                return VerificationResult.Fail(VerificationReason.NoAnswer);
            }

            return Judge(line, token, goldValue);
        }

        if (LastNumberFallback && NumberScanner.TryFindLast(text, ref deadline, out token))
        {
            return Judge(text, token, goldValue);
        }

        return VerificationResult.Fail(VerificationReason.NoAnswer);
    }

    private VerificationResult Judge(ReadOnlySpan<char> text, NumberToken token, PlainNumber gold)
    {
        if (token.Length > Options.MaxNumberChars)
        {
            return VerificationResult.Fail(VerificationReason.TooLarge);
        }

        ReadOnlySpan<char> body = NumberScanner.Body(text, token);
        if (!PlainNumber.TryParse(body, token.Negative, out PlainNumber value))
        {
            return VerificationResult.Fail(VerificationReason.TooLarge);
        }

        string extracted = token.Negative ? "-" + body.ToString() : body.ToString();
        return value.NumericallyEquals(gold) ? VerificationResult.Correct(extracted) : VerificationResult.Wrong(extracted);
    }

    // The gold is normally just the number ("18", "1,234"); a full GSM8K answer with "####" also works.
    private bool TryParseGold(string gold, ref Deadline deadline, out PlainNumber value)
    {
        ReadOnlySpan<char> text = gold;
        int marker = text.LastIndexOf(FinalAnswerMarker, StringComparison.Ordinal);
        if (marker >= 0)
        {
            text = RestOfLine(text, marker + FinalAnswerMarker.Length);
        }

        value = default;
        return NumberScanner.TryFindFirst(text, 0, ref deadline, out NumberToken token)
            && token.Length <= Options.MaxNumberChars
            && PlainNumber.TryParse(NumberScanner.Body(text, token), token.Negative, out value);
    }

    private static ReadOnlySpan<char> RestOfLine(ReadOnlySpan<char> text, int from)
    {
        ReadOnlySpan<char> rest = text[from..];
        int newline = rest.IndexOf('\n');
        return newline >= 0 ? rest[..newline] : rest;
    }
}
