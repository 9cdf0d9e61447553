namespace Basis.Tasks.Verification;

/// <summary>Limits shared by every verifier.</summary>
public sealed record VerifierOptions
{
    public static VerifierOptions Default { get; } = new();

    /// <summary>Wall-clock budget per verification; past it the verdict is <see cref="VerificationReason.Timeout"/>.</summary>
    public TimeSpan TimeLimit { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Clock used for the time limit; tests pass a fake one.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Completions longer than this many characters are <see cref="VerificationReason.TooLarge"/>.</summary>
    public int MaxCompletionChars { get; init; } = 256 * 1024;

    /// <summary>A number token longer than this is <see cref="VerificationReason.TooLarge"/>.</summary>
    public int MaxNumberChars { get; init; } = 64;

    /// <summary>Brace or bracket nesting deeper than this is <see cref="VerificationReason.TooLarge"/>.</summary>
    public int MaxNestingDepth { get; init; } = 32;

    /// <summary>Relative tolerance for numeric equivalence where a verifier allows one (boxed math).</summary>
    public double RelativeTolerance { get; init; } = 1e-6;

    internal void Validate()
    {
        if (TimeLimit <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(TimeLimit), TimeLimit, "The time limit must be positive.");
        }

        ArgumentNullException.ThrowIfNull(TimeProvider);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxCompletionChars, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxNumberChars, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxNestingDepth, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(RelativeTolerance);
    }
}
