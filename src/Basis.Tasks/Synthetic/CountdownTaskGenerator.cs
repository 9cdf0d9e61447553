using System.Globalization;
using System.Text;
using Basis.Tasks.Verification;

namespace Basis.Tasks.Synthetic;

/// <summary>Configuration of the Countdown-style task set.</summary>
public sealed record CountdownTaskConfig
{
    public ulong Seed { get; init; } = 1;

    public int TrainSize { get; init; } = 2000;

    public int EvalSize { get; init; } = 200;

    /// <summary>How many numbers a prompt gives; the difficulty tag is "countdown-{count}".</summary>
    public IntRange NumberCount { get; init; } = new(3, 4);

    /// <summary>Numbers are drawn from 1..MaxNumber.</summary>
    public int MaxNumber { get; init; } = 25;

    /// <summary>Targets lie in 1..MaxTarget.</summary>
    public int MaxTarget { get; init; } = 999;

    public int MaxPromptChars { get; init; } = 24;

    public int MaxAttemptsPerPrompt { get; init; } = 2000;

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegative(TrainSize);
        ArgumentOutOfRangeException.ThrowIfNegative(EvalSize);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxAttemptsPerPrompt, 1);
        if (NumberCount.Min < 2 || NumberCount.Max > 6 || NumberCount.Min > NumberCount.Max)
        {
            throw new ArgumentException($"NumberCount must lie within 2..6 with Min <= Max, got {NumberCount}.", nameof(NumberCount));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(MaxNumber, 2);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxNumber, 999);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxTarget, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxTarget, 99_999);
        int worst = CountdownTaskGenerator.FormatPrompt(Enumerable.Repeat(MaxNumber, NumberCount.Max), MaxTarget).Length;
        if (worst > MaxPromptChars)
        {
            throw new ArgumentException($"Countdown prompts can reach {worst} characters, over MaxPromptChars = {MaxPromptChars}.", nameof(MaxPromptChars));
        }
    }
}

/// <summary>
/// Countdown-style prompts: reach the target from the given numbers with + - * / and parentheses, each
/// number used at most once. Prompt "3 4 7 25 to 75:", gold (and SFT target) a reference solution that
/// uses every number, e.g. "(25-7)*4+3", scored by <see cref="CountdownVerifier"/>, which accepts any
/// other valid solution too. Numbers are listed in ascending order so the prompt does not leak the
/// solution's shape. Deterministic, with disjoint splits drawn as in <see cref="ArithmeticTaskGenerator"/>.
/// </summary>
public static class CountdownTaskGenerator
{
    public const string IdPrefix = "countdown-";

    public static ArithmeticTaskSet Generate(CountdownTaskConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        var used = new HashSet<string>(StringComparer.Ordinal);
        List<TaskPrompt> eval = GenerateSplit(config, SplitMix64.Derive(config.Seed, 101), config.EvalSize, used);
        List<TaskPrompt> train = GenerateSplit(config, SplitMix64.Derive(config.Seed, 102), config.TrainSize, used);
        return new ArithmeticTaskSet(train, eval, TaskSetHash.Compute(train), TaskSetHash.Compute(eval), []);
    }

    internal static string FormatPrompt(IEnumerable<int> numbers, long target) =>
        string.Join(' ', numbers.Order().Select(n => n.ToString(CultureInfo.InvariantCulture)))
        + " to " + target.ToString(CultureInfo.InvariantCulture) + ":";

    private static List<TaskPrompt> GenerateSplit(CountdownTaskConfig config, ulong seed, int size, HashSet<string> used)
    {
        var rng = new SplitMix64(seed);
        var prompts = new List<TaskPrompt>(size);
        while (prompts.Count < size)
        {
            int count = (int)rng.NextInclusive(config.NumberCount.Min, config.NumberCount.Max);
            if (!TryDraw(config, count, used, ref rng, out string text, out string solution))
            {
                throw new InvalidOperationException(
                    $"Could not draw a new Countdown prompt with {count} numbers after {config.MaxAttemptsPerPrompt} attempts; lower the sizes or raise MaxNumber/MaxTarget.");
            }

            used.Add(text);
            string id = IdPrefix + ArithmeticTaskGenerator.PromptId(text)[ArithmeticTaskGenerator.IdPrefix.Length..];
            prompts.Add(new TaskPrompt(id, text, solution, $"countdown-{count}", CountdownVerifier.RegistryName));
        }

        return prompts;
    }

    private static bool TryDraw(CountdownTaskConfig config, int count, HashSet<string> used, ref SplitMix64 rng, out string text, out string solution)
    {
        var numbers = new int[count];
        for (int attempt = 0; attempt < config.MaxAttemptsPerPrompt; attempt++)
        {
            for (int i = 0; i < count; i++)
            {
                numbers[i] = (int)rng.NextInclusive(1, config.MaxNumber);
            }

            if (!TryCombine(numbers, ref rng, out long target, out solution) || target < 1 || target > config.MaxTarget || numbers.Contains((int)target))
            {
                continue;
            }

            text = FormatPrompt(numbers, target);
            if (!used.Contains(text))
            {
                return true;
            }
        }

        text = solution = string.Empty;
        return false;
    }

    // Combines random pairs until one expression is left, keeping every intermediate value a positive integer.
    private static bool TryCombine(int[] numbers, ref SplitMix64 rng, out long value, out string text)
    {
        var items = numbers.Select(n => new Node(n, n.ToString(CultureInfo.InvariantCulture), Precedence: 3)).ToList();
        while (items.Count > 1)
        {
            int i = (int)rng.NextInclusive(0, items.Count - 1);
            Node left = items[i];
            items.RemoveAt(i);
            int j = (int)rng.NextInclusive(0, items.Count - 1);
            Node right = items[j];
            items.RemoveAt(j);
            char op = "+-*/"[(int)rng.NextInclusive(0, 3)];
            long combined;
            switch (op)
            {
                case '+':
                    combined = left.Value + right.Value;
                    break;
                case '-' when left.Value > right.Value:
                    combined = left.Value - right.Value;
                    break;
                case '*':
                    combined = left.Value * right.Value;
                    break;
                case '/' when right.Value > 1 && left.Value % right.Value == 0:
                    combined = left.Value / right.Value;
                    break;
                default:
                    value = 0;
                    text = string.Empty;
                    return false;
            }

            int precedence = op is '+' or '-' ? 1 : 2;
            var builder = new StringBuilder();
            Append(builder, left, left.Precedence < precedence);
            builder.Append(op);
            Append(builder, right, right.Precedence < precedence || (right.Precedence == precedence && op is '-' or '/'));
            items.Add(new Node(combined, builder.ToString(), precedence));
        }

        value = items[0].Value;
        text = items[0].Text;
        return true;
    }

    private static void Append(StringBuilder builder, Node node, bool parenthesise)
    {
        if (parenthesise)
        {
            builder.Append('(').Append(node.Text).Append(')');
        }
        else
        {
            builder.Append(node.Text);
        }
    }

    private readonly record struct Node(long Value, string Text, int Precedence);
}
