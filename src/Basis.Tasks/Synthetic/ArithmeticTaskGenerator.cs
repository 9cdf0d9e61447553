using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Basis.Tasks.Verification;

namespace Basis.Tasks.Synthetic;

/// <summary>A generated arithmetic task set: disjoint train and evaluation splits and their hashes.</summary>
/// <param name="Train">Training prompts.</param>
/// <param name="Eval">Held-out evaluation prompts; no prompt text occurs in both splits.</param>
/// <param name="TrainHash">The <see cref="TaskSetHash"/> of <paramref name="Train"/>.</param>
/// <param name="EvalHash">The <see cref="TaskSetHash"/> of <paramref name="Eval"/>.</param>
/// <param name="ExhaustedTiers">Tiers that ran out of unused prompts, so the realised mix under-weights them.</param>
public sealed record ArithmeticTaskSet(
    IReadOnlyList<TaskPrompt> Train,
    IReadOnlyList<TaskPrompt> Eval,
    string TrainHash,
    string EvalHash,
    IReadOnlyList<string> ExhaustedTiers)
{
    /// <summary>How many prompts of <paramref name="split"/> each tier contributed.</summary>
    public static IReadOnlyDictionary<string, int> CountByDifficulty(IEnumerable<TaskPrompt> split) =>
        split.GroupBy(p => p.Difficulty, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
}

/// <summary>
/// Generates short arithmetic prompts such as "37+58=" whose completion is the decimal answer ("95"),
/// scored by <see cref="ExactNumericVerifier"/>. Deterministic for a configuration: the evaluation split
/// depends only on the seed, tiers and <see cref="ArithmeticTaskConfig.EvalSize"/>; the training split then
/// avoids every evaluation prompt. Operators follow the usual precedence ('*' before '+' and '-').
/// </summary>
public static class ArithmeticTaskGenerator
{
    public const string IdPrefix = "arith-";

    public static ArithmeticTaskSet Generate(ArithmeticTaskConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        var used = new HashSet<string>(StringComparer.Ordinal);
        var exhausted = new bool[config.Tiers.Count];
        List<TaskPrompt> eval = GenerateSplit(config, SplitMix64.Derive(config.Seed, 1), config.EvalSize, used, exhausted);
        List<TaskPrompt> train = GenerateSplit(config, SplitMix64.Derive(config.Seed, 2), config.TrainSize, used, exhausted);
        string[] exhaustedNames = config.Tiers.Where((_, i) => exhausted[i]).Select(t => t.Name).ToArray();
        return new ArithmeticTaskSet(train, eval, TaskSetHash.Compute(train), TaskSetHash.Compute(eval), exhaustedNames);
    }

    /// <summary>The stable id of a prompt text: "arith-" and 12 hex digits of its SHA-256.</summary>
    public static string PromptId(string text)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(text), hash);
        return IdPrefix + Convert.ToHexStringLower(hash[..6]);
    }

    private static List<TaskPrompt> GenerateSplit(ArithmeticTaskConfig config, ulong seed, int size, HashSet<string> used, bool[] exhausted)
    {
        var rng = new SplitMix64(seed);
        var prompts = new List<TaskPrompt>(size);
        var ids = new HashSet<string>(StringComparer.Ordinal);
        while (prompts.Count < size)
        {
            int tierIndex = PickTier(config.Tiers, exhausted, ref rng);
            if (tierIndex < 0)
            {
                throw new InvalidOperationException(
                    $"The tiers ran out of distinct prompts after {used.Count}; lower TrainSize/EvalSize or widen the tiers.");
            }

            ArithmeticTier tier = config.Tiers[tierIndex];
            if (!TryDraw(tier, config, used, ref rng, out string text, out long answer))
            {
                exhausted[tierIndex] = true;
                continue;
            }

            string id = PromptId(text);
            if (!ids.Add(id))
            {
                throw new InvalidOperationException($"Prompt id collision on '{id}'.");
            }

            used.Add(text);
            prompts.Add(new TaskPrompt(id, text, answer.ToString(CultureInfo.InvariantCulture), tier.Name, ExactNumericVerifier.RegistryName));
        }

        return prompts;
    }

    private static int PickTier(IReadOnlyList<ArithmeticTier> tiers, bool[] exhausted, ref SplitMix64 rng)
    {
        double total = 0;
        for (int i = 0; i < tiers.Count; i++)
        {
            total += exhausted[i] ? 0 : tiers[i].Weight;
        }

        if (total <= 0)
        {
            return -1;
        }

        double draw = rng.NextDouble() * total;
        int last = -1;
        for (int i = 0; i < tiers.Count; i++)
        {
            if (exhausted[i] || tiers[i].Weight <= 0)
            {
                continue;
            }

            last = i;
            draw -= tiers[i].Weight;
            if (draw < 0)
            {
                return i;
            }
        }

        return last;
    }

    private static bool TryDraw(ArithmeticTier tier, ArithmeticTaskConfig config, HashSet<string> used, ref SplitMix64 rng, out string text, out long answer)
    {
        int maxOperations = tier.Operations.Max;
        Span<long> operands = stackalloc long[maxOperations + 1];
        Span<char> operators = stackalloc char[maxOperations];
        var builder = new StringBuilder(config.MaxPromptChars);
        for (int attempt = 0; attempt < config.MaxAttemptsPerPrompt; attempt++)
        {
            int operations = (int)rng.NextInclusive(tier.Operations.Min, tier.Operations.Max);
            operands[0] = DrawOperand(tier.OperandDigits, ref rng);
            for (int i = 0; i < operations; i++)
            {
                operators[i] = tier.Operators[(int)rng.NextInclusive(0, tier.Operators.Length - 1)];
                operands[i + 1] = DrawOperand(operators[i] == '*' ? tier.MultiplierDigits ?? tier.OperandDigits : tier.OperandDigits, ref rng);
            }

            if (!ArithmeticExpression.TryEvaluate(operands[..(operations + 1)], operators[..operations], config.AllowNegativeResults, out answer, out bool carried)
                || (tier.Carries == CarryRule.None && carried)
                || (tier.Carries == CarryRule.Required && !carried))
            {
                continue;
            }

            builder.Clear();
            builder.Append(operands[0].ToString(CultureInfo.InvariantCulture));
            for (int i = 0; i < operations; i++)
            {
                builder.Append(operators[i]).Append(operands[i + 1].ToString(CultureInfo.InvariantCulture));
            }

            builder.Append('=');
            text = builder.ToString();
            if (!used.Contains(text))
            {
                return true;
            }
        }

        text = string.Empty;
        answer = 0;
        return false;
    }

    // One digit means 0..9; d digits means 10^(d-1)..10^d-1.
    private static long DrawOperand(IntRange digits, ref SplitMix64 rng)
    {
        int d = (int)rng.NextInclusive(digits.Min, digits.Max);
        long low = d == 1 ? 0 : Pow10(d - 1);
        return rng.NextInclusive(low, Pow10(d) - 1);
    }

    private static long Pow10(int exponent)
    {
        long value = 1;
        for (int i = 0; i < exponent; i++)
        {
            value *= 10;
        }

        return value;
    }
}

/// <summary>Evaluates an operand/operator sequence with precedence and reports whether any column carried.</summary>
internal static class ArithmeticExpression
{
    public static bool TryEvaluate(ReadOnlySpan<long> operands, ReadOnlySpan<char> operators, bool allowNegative, out long value, out bool carried)
    {
        carried = false;
        value = 0;

        // Products first, left to right.
        Span<long> terms = stackalloc long[operands.Length];
        Span<char> additive = stackalloc char[operators.Length];
        int termCount = 0;
        long current = operands[0];
        for (int i = 0; i < operators.Length; i++)
        {
            if (operators[i] == '*')
            {
                carried |= MultiplicationCarries(current, operands[i + 1]);
                current *= operands[i + 1];
            }
            else
            {
                additive[termCount] = operators[i];
                terms[termCount++] = current;
                current = operands[i + 1];
            }
        }

        terms[termCount++] = current;
        long accumulator = terms[0];
        for (int i = 1; i < termCount; i++)
        {
            long term = terms[i];
            if (additive[i - 1] == '+')
            {
                carried |= AdditionCarries(Math.Abs(accumulator), Math.Abs(term));
                accumulator += term;
            }
            else
            {
                carried |= SubtractionBorrows(Math.Abs(accumulator), Math.Abs(term));
                accumulator -= term;
            }

            if (accumulator < 0 && !allowNegative)
            {
                return false;
            }
        }

        value = accumulator;
        return true;
    }

    public static bool AdditionCarries(long a, long b)
    {
        // The first carrying column decides, so the incoming carry is always zero here.
        while (a > 0 || b > 0)
        {
            if ((a % 10) + (b % 10) >= 10)
            {
                return true;
            }

            a /= 10;
            b /= 10;
        }

        return false;
    }

    // Borrowing as in column subtraction of the smaller from the larger.
    public static bool SubtractionBorrows(long a, long b)
    {
        (long top, long bottom) = a >= b ? (a, b) : (b, a);
        while (bottom > 0)
        {
            if (top % 10 < bottom % 10)
            {
                return true;
            }

            top /= 10;
            bottom /= 10;
        }

        return false;
    }

    public static bool MultiplicationCarries(long a, long b)
    {
        for (long x = a; x > 0; x /= 10)
        {
            for (long y = b; y > 0; y /= 10)
            {
                if ((x % 10) * (y % 10) >= 10)
                {
                    return true;
                }
            }
        }

        return false;
    }
}
