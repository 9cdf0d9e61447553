namespace Basis.Tasks.Verification;

/// <summary>
/// MATH-style answers: the content of the last <c>\boxed{...}</c> or <c>\fbox{...}</c> (nested braces
/// matched) is normalised (see docs/tasks.md) and compared with the gold numerically, within a relative
/// tolerance, element-wise for tuples and intervals, and as normalised text when either side is not numeric.
/// The gold may itself be boxed.
/// </summary>
public sealed class BoxedMathVerifier : VerifierBase
{
    public const string RegistryName = "boxed";

    public BoxedMathVerifier(VerifierOptions? options = null)
        : base(options)
    {
    }

    public override string Name => RegistryName;

    private protected override VerificationResult VerifyCore(string completion, string gold, ref Deadline deadline)
    {
        string goldContent = gold;
        switch (BoxedAnswer.TryExtractLast(gold, Options.MaxNestingDepth, ref deadline, out string boxedGold))
        {
            case ExtractStatus.Found:
                goldContent = boxedGold;
                break;
            case ExtractStatus.TooDeep:
                return VerificationResult.Fail(VerificationReason.BadInput);
        }

        if (MathAnswer.Parse(goldContent, Options, ref deadline, out MathAnswer goldAnswer) != MathParseStatus.Ok
            || goldAnswer.Text.Length == 0)
        {
            return VerificationResult.Fail(VerificationReason.BadInput);
        }

        switch (BoxedAnswer.TryExtractLast(completion, Options.MaxNestingDepth, ref deadline, out string content))
        {
            case ExtractStatus.NotFound:
                return VerificationResult.Fail(VerificationReason.NoAnswer);
            case ExtractStatus.TooDeep:
                return VerificationResult.Fail(VerificationReason.TooLarge);
        }

        if (MathAnswer.Parse(content, Options, ref deadline, out MathAnswer answer) != MathParseStatus.Ok)
        {
            return VerificationResult.Fail(VerificationReason.TooLarge);
        }

        if (answer.Text.Length == 0)
        {
            return VerificationResult.Fail(VerificationReason.NoAnswer);
        }

        return answer.IsEquivalentTo(goldAnswer, Options.RelativeTolerance)
            ? VerificationResult.Correct(content)
            : VerificationResult.Wrong(content);
    }
}
