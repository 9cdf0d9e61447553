using System.Globalization;
using Basis.Tasks.Synthetic;
using Basis.Tasks.Verification;

namespace Basis.Tasks.Tests.Synthetic;

public sealed class CountdownTaskGeneratorTests
{
    private static readonly CountdownTaskConfig s_config = new() { Seed = 5, TrainSize = 600, EvalSize = 100 };
    private static readonly ArithmeticTaskSet s_set = CountdownTaskGenerator.Generate(s_config);

    [Fact]
    public void SameConfigGivesTheSameSetAndSplitsAreDisjoint()
    {
        ArithmeticTaskSet again = CountdownTaskGenerator.Generate(s_config);

        Assert.Equal(s_set.Train, again.Train);
        Assert.Equal(s_set.EvalHash, again.EvalHash);
        Assert.Empty(s_set.Train.Select(p => p.Text).Intersect(s_set.Eval.Select(p => p.Text)));
        Assert.Equal(700, s_set.Train.Concat(s_set.Eval).Select(p => p.Id).Distinct().Count());
    }

    [Fact]
    public void EveryGoldIsAValidSolutionUsingAllNumbers()
    {
        var verifier = new CountdownVerifier(TestClock.FrozenOptions);
        foreach (TaskPrompt prompt in s_set.Train.Concat(s_set.Eval))
        {
            Assert.Matches(@"^(\d+ )+to \d+:$", prompt.Text);
            Assert.InRange(prompt.Text.Length, 1, 24);
            Assert.StartsWith("countdown-", prompt.Id);
            Assert.Equal("countdown", prompt.Verifier);
            Assert.True(verifier.Verify(prompt.Gold, prompt.Gold).IsCorrect, prompt.Gold);

            string[] parts = prompt.Text.TrimEnd(':').Split(' ');
            int[] given = parts[..^2].Select(p => int.Parse(p, CultureInfo.InvariantCulture)).ToArray();
            int[] inGold = prompt.Gold.Split('+', '-', '*', '/', '(', ')').Where(t => t.Length > 0).Select(t => int.Parse(t, CultureInfo.InvariantCulture)).ToArray();
            Assert.Equal(given.Order(), inGold.Order());
            Assert.Equal($"countdown-{given.Length}", prompt.Difficulty);
            Assert.Equal(given, given.Order());
        }
    }

    [Fact]
    public void PromptTargetIsTheGoldValue()
    {
        // An independent evaluator: System.Data's expression engine (divisions in golds are exact).
        var table = new System.Data.DataTable();
        foreach (TaskPrompt prompt in s_set.Train.Concat(s_set.Eval))
        {
            long target = long.Parse(prompt.Text.TrimEnd(':').Split(' ')[^1], CultureInfo.InvariantCulture);

            Assert.Equal(target, Convert.ToInt64(table.Compute(prompt.Gold, null), CultureInfo.InvariantCulture));
        }
    }

    [Fact]
    public void PromptsThatCannotFitAreRejected()
    {
        var error = Assert.Throws<ArgumentException>(() => CountdownTaskGenerator.Generate(new CountdownTaskConfig { NumberCount = new IntRange(6, 6), MaxNumber = 999 }));

        Assert.Contains("MaxPromptChars", error.Message);
    }
}
