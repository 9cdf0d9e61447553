namespace Basis.Tasks.Verification;

/// <summary>
/// Scores a completion against a gold answer. Implementations never evaluate code, never throw for any
/// completion (empty, enormous, binary, deeply nested), and give up with <see cref="VerificationReason.Timeout"/>
/// once their time limit has passed.
/// </summary>
public interface IVerifier
{
    /// <summary>The registry name, e.g. "exact".</summary>
    string Name { get; }

    VerificationResult Verify(string completion, string gold);
}

/// <summary>Why a verifier gave the reward it gave.</summary>
public enum VerificationReason
{
    /// <summary>The answer matches the gold answer (reward 1).</summary>
    Correct,

    /// <summary>An answer was found and it differs from the gold answer.</summary>
    WrongAnswer,

    /// <summary>No answer could be extracted from the completion.</summary>
    NoAnswer,

    /// <summary>The time limit passed before a verdict.</summary>
    Timeout,

    /// <summary>The completion, a number in it, or its nesting exceeds the configured limits.</summary>
    TooLarge,

    /// <summary>The gold answer (or, in <c>basis verify</c>, the input line) is missing or unusable.</summary>
    BadInput,

    /// <summary>The completion holds control characters or decoding-replacement characters.</summary>
    Binary,
}

/// <summary>The verdict: a reward in [0, 1], the reason, and the answer text that was extracted, if any.</summary>
public readonly record struct VerificationResult(double Reward, VerificationReason Reason, string? Extracted = null)
{
    public bool IsCorrect => Reason == VerificationReason.Correct;

    /// <summary>The stable kebab-case reason code, e.g. "wrong-answer".</summary>
    public string ReasonCode => Reason.ToCode();

    public static VerificationResult Correct(string? extracted) => new(1.0, VerificationReason.Correct, extracted);

    public static VerificationResult Wrong(string? extracted) => new(0.0, VerificationReason.WrongAnswer, extracted);

    public static VerificationResult Fail(VerificationReason reason) => new(0.0, reason);
}

public static class VerificationReasonCodes
{
    public const string Correct = "correct";
    public const string WrongAnswer = "wrong-answer";
    public const string NoAnswer = "no-answer";
    public const string Timeout = "timeout";
    public const string TooLarge = "too-large";
    public const string BadInput = "bad-input";
    public const string Binary = "binary";

    /// <summary>Every reason code, in the order of <see cref="VerificationReason"/>.</summary>
    public static IReadOnlyList<string> All { get; } = [Correct, WrongAnswer, NoAnswer, Timeout, TooLarge, BadInput, Binary];

    public static string ToCode(this VerificationReason reason) => reason switch
    {
        VerificationReason.Correct => Correct,
        VerificationReason.WrongAnswer => WrongAnswer,
        VerificationReason.NoAnswer => NoAnswer,
        VerificationReason.Timeout => Timeout,
        VerificationReason.TooLarge => TooLarge,
        VerificationReason.BadInput => BadInput,
        VerificationReason.Binary => Binary,
        _ => throw new ArgumentOutOfRangeException(nameof(reason), reason, null),
    };
}
