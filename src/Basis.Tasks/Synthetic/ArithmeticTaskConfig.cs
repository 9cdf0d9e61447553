namespace Basis.Tasks.Synthetic;

/// <summary>An inclusive integer range.</summary>
public readonly record struct IntRange(int Min, int Max)
{
    public static IntRange Exactly(int value) => new(value, value);

    public override string ToString() => Min == Max ? $"{Min}" : $"{Min}..{Max}";
}

/// <summary>Whether the column arithmetic of a prompt must, must not, or may involve carries and borrows.</summary>
public enum CarryRule
{
    Any,
    None,
    Required,
}

/// <summary>
/// One difficulty tier: every prompt of the tier draws its operand digits, operation count and operators
/// from these ranges. The tier name is the prompt's difficulty tag.
/// </summary>
/// <param name="Name">The difficulty tag, e.g. "addsub-2d-carry".</param>
/// <param name="OperandDigits">Digits of each operand (1 digit means 0..9, d digits means 10^(d-1)..10^d-1).</param>
/// <param name="Operations">How many binary operations the expression has.</param>
/// <param name="Operators">The operators drawn from, any of "+-*".</param>
/// <param name="Carries">Carry/borrow requirement over all operations (for '*': a digit product of 10 or more).</param>
/// <param name="Weight">Relative share of the tier in the mix.</param>
/// <param name="MultiplierDigits">Digits of an operand right of '*'; defaults to <paramref name="OperandDigits"/>.</param>
public sealed record ArithmeticTier(
    string Name,
    IntRange OperandDigits,
    IntRange Operations,
    string Operators,
    CarryRule Carries,
    double Weight,
    IntRange? MultiplierDigits = null);

/// <summary>Configuration of the synthetic arithmetic task set.</summary>
public sealed record ArithmeticTaskConfig
{
    /// <summary>
    /// The default mix, from near-certain after a short SFT (one-digit sums) to near-impossible for a tiny
    /// character-level model (3-digit by 2-digit products), with most weight on the middle tiers.
    /// </summary>
    public static IReadOnlyList<ArithmeticTier> DefaultTiers { get; } =
    [
        new("add-1d", IntRange.Exactly(1), IntRange.Exactly(1), "+", CarryRule.Any, 0.10),
        new("addsub-2d-nocarry", IntRange.Exactly(2), IntRange.Exactly(1), "+-", CarryRule.None, 0.15),
        new("addsub-2d-carry", IntRange.Exactly(2), IntRange.Exactly(1), "+-", CarryRule.Required, 0.20),
        new("addsub-3d", IntRange.Exactly(3), IntRange.Exactly(1), "+-", CarryRule.Any, 0.15),
        new("chain-2ops", new IntRange(1, 2), IntRange.Exactly(2), "+-", CarryRule.Any, 0.15),
        new("mul-2x1", IntRange.Exactly(2), IntRange.Exactly(1), "*", CarryRule.Any, 0.10, IntRange.Exactly(1)),
        new("mixed-3ops", new IntRange(1, 2), IntRange.Exactly(3), "+-*", CarryRule.Any, 0.08, IntRange.Exactly(1)),
        new("mul-3x2", IntRange.Exactly(3), IntRange.Exactly(1), "*", CarryRule.Any, 0.07, IntRange.Exactly(2)),
    ];

    public ulong Seed { get; init; } = 1;

    public int TrainSize { get; init; } = 4000;

    public int EvalSize { get; init; } = 400;

    public IReadOnlyList<ArithmeticTier> Tiers { get; init; } = DefaultTiers;

    /// <summary>When false, prompts whose evaluation goes negative at any step are redrawn.</summary>
    public bool AllowNegativeResults { get; init; }

    /// <summary>Upper bound on the prompt length (including '='), checked against the tiers' worst case.</summary>
    public int MaxPromptChars { get; init; } = 24;

    /// <summary>Draws per prompt before a tier is declared exhausted (it has run out of unused prompts).</summary>
    public int MaxAttemptsPerPrompt { get; init; } = 2000;

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegative(TrainSize);
        ArgumentOutOfRangeException.ThrowIfNegative(EvalSize);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxAttemptsPerPrompt, 1);
        ArgumentNullException.ThrowIfNull(Tiers);
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (ArithmeticTier tier in Tiers)
        {
            string where = $"Tier '{tier.Name}'";
            if (string.IsNullOrWhiteSpace(tier.Name) || !names.Add(tier.Name))
            {
                throw new ArgumentException($"{where}: tier names must be non-empty and unique.", nameof(Tiers));
            }

            if (tier.Operators.Length == 0 || tier.Operators.Any(c => c is not ('+' or '-' or '*')))
            {
                throw new ArgumentException($"{where}: operators must be a non-empty subset of \"+-*\", got \"{tier.Operators}\".", nameof(Tiers));
            }

            CheckRange(where, "operand digits", tier.OperandDigits, 1, 6);
            CheckRange(where, "multiplier digits", tier.MultiplierDigits ?? tier.OperandDigits, 1, 6);
            CheckRange(where, "operations", tier.Operations, 1, 6);
            if (!double.IsFinite(tier.Weight) || tier.Weight < 0)
            {
                throw new ArgumentException($"{where}: weight must be finite and non-negative, got {tier.Weight}.", nameof(Tiers));
            }

            int longestOperand = Math.Max(tier.OperandDigits.Max, (tier.MultiplierDigits ?? tier.OperandDigits).Max);
            int worstLength = (tier.Operations.Max + 1) * longestOperand + tier.Operations.Max + 1;
            if (worstLength > MaxPromptChars)
            {
                throw new ArgumentException($"{where}: prompts can reach {worstLength} characters, over MaxPromptChars = {MaxPromptChars}.", nameof(Tiers));
            }
        }

        if (Tiers.Count == 0 || !Tiers.Any(t => t.Weight > 0))
        {
            throw new ArgumentException("At least one tier must have a positive weight.", nameof(Tiers));
        }
    }

    private static void CheckRange(string where, string what, IntRange range, int min, int max)
    {
        if (range.Min < min || range.Max > max || range.Min > range.Max)
        {
            throw new ArgumentException($"{where}: {what} must lie within {min}..{max} with Min <= Max, got {range}.", nameof(Tiers));
        }
    }
}
