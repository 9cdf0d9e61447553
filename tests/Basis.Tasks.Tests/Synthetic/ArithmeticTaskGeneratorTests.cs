using System.Globalization;
using Basis.Tasks.Synthetic;
using Basis.Tasks.Verification;

namespace Basis.Tasks.Tests.Synthetic;

public sealed class ArithmeticTaskGeneratorTests
{
    private static readonly ArithmeticTaskConfig s_small = new() { Seed = 7, TrainSize = 1500, EvalSize = 300 };
    private static readonly ArithmeticTaskSet s_set = ArithmeticTaskGenerator.Generate(s_small);

    [Fact]
    public void SameConfigGivesTheSameSet()
    {
        ArithmeticTaskSet again = ArithmeticTaskGenerator.Generate(s_small);

        Assert.Equal(s_set.Train, again.Train);
        Assert.Equal(s_set.Eval, again.Eval);
        Assert.Equal(s_set.TrainHash, again.TrainHash);
        Assert.Equal(s_set.EvalHash, again.EvalHash);
    }

    [Fact]
    public void AnotherSeedGivesAnotherSet()
    {
        ArithmeticTaskSet other = ArithmeticTaskGenerator.Generate(s_small with { Seed = 8 });

        Assert.NotEqual(s_set.TrainHash, other.TrainHash);
        Assert.NotEqual(s_set.EvalHash, other.EvalHash);
    }

    [Fact]
    public void SplitsHaveTheRequestedSizesAndAreDisjoint()
    {
        Assert.Equal(1500, s_set.Train.Count);
        Assert.Equal(300, s_set.Eval.Count);
        var all = s_set.Train.Concat(s_set.Eval).ToList();
        Assert.Equal(all.Count, all.Select(p => p.Text).Distinct().Count());
        Assert.Equal(all.Count, all.Select(p => p.Id).Distinct().Count());
    }

    [Fact]
    public void EvalSplitDoesNotDependOnTrainSize()
    {
        ArithmeticTaskSet bigger = ArithmeticTaskGenerator.Generate(s_small with { TrainSize = 2500 });

        Assert.Equal(s_set.Eval, bigger.Eval);
        Assert.Equal(s_set.EvalHash, bigger.EvalHash);
    }

    [Fact]
    public void PromptsAreShortAndIdsDeriveFromTheText()
    {
        foreach (TaskPrompt prompt in s_set.Train.Concat(s_set.Eval))
        {
            Assert.InRange(prompt.Text.Length, 4, 24);
            Assert.EndsWith("=", prompt.Text);
            Assert.Equal(ArithmeticTaskGenerator.PromptId(prompt.Text), prompt.Id);
            Assert.Matches("^arith-[0-9a-f]{12}$", prompt.Id);
            Assert.Equal("exact", prompt.Verifier);
        }
    }

    [Fact]
    public void GoldIsTheValueOfTheExpression()
    {
        foreach (TaskPrompt prompt in s_set.Train.Concat(s_set.Eval))
        {
            Assert.Equal(ReferenceEvaluate(prompt.Text[..^1]).ToString(CultureInfo.InvariantCulture), prompt.Gold);
            Assert.True(new ExactNumericVerifier(TestClock.FrozenOptions).Verify(prompt.Gold, prompt.Gold).IsCorrect);
        }
    }

    [Fact]
    public void EveryTierContributesRoughlyItsWeight()
    {
        IReadOnlyDictionary<string, int> counts = ArithmeticTaskSet.CountByDifficulty(s_set.Train);
        double totalWeight = ArithmeticTaskConfig.DefaultTiers.Sum(t => t.Weight);

        foreach (ArithmeticTier tier in ArithmeticTaskConfig.DefaultTiers.Where(t => !s_set.ExhaustedTiers.Contains(t.Name)))
        {
            double expected = tier.Weight / totalWeight * s_set.Train.Count;
            Assert.InRange(counts[tier.Name], expected * 0.7, expected * 1.4);
        }
    }

    [Fact]
    public void TiersFollowTheirShapeAndCarryRules()
    {
        foreach (TaskPrompt prompt in s_set.Train)
        {
            string expression = prompt.Text[..^1];
            string[] operands = expression.Split('+', '-', '*');
            switch (prompt.Difficulty)
            {
                case "add-1d":
                    Assert.Matches(@"^\d\+\d$", expression);
                    break;
                case "addsub-2d-nocarry":
                    Assert.Matches(@"^\d\d[+-]\d\d$", expression);
                    Assert.False(ColumnsCarry(expression), expression);
                    break;
                case "addsub-2d-carry":
                    Assert.Matches(@"^\d\d[+-]\d\d$", expression);
                    Assert.True(ColumnsCarry(expression), expression);
                    break;
                case "mul-2x1":
                    Assert.Matches(@"^\d\d\*\d$", expression);
                    break;
                case "mul-3x2":
                    Assert.Matches(@"^\d{3}\*\d\d$", expression);
                    break;
                case "mixed-3ops":
                    Assert.Equal(4, operands.Length);
                    break;
            }

            Assert.True(long.Parse(prompt.Gold, CultureInfo.InvariantCulture) >= 0, prompt.Text);
        }
    }

    [Fact]
    public void DefaultConfigCoversEveryTierInBothSplits()
    {
        ArithmeticTaskSet set = ArithmeticTaskGenerator.Generate(new ArithmeticTaskConfig());

        Assert.Equal((4000, 400), (set.Train.Count, set.Eval.Count));
        Assert.Equal(["add-1d"], set.ExhaustedTiers);
        foreach (ArithmeticTier tier in ArithmeticTaskConfig.DefaultTiers)
        {
            Assert.Contains(set.Eval, p => p.Difficulty == tier.Name);
            Assert.Contains(set.Train, p => p.Difficulty == tier.Name);
        }
    }

    [Fact]
    public void SmallTiersRunOutAndAreReported()
    {
        var config = new ArithmeticTaskConfig
        {
            Seed = 3,
            TrainSize = 300,
            EvalSize = 20,
            Tiers =
            [
                new ArithmeticTier("tiny", IntRange.Exactly(1), IntRange.Exactly(1), "+", CarryRule.Any, 0.5),
                new ArithmeticTier("big", IntRange.Exactly(3), IntRange.Exactly(1), "+", CarryRule.Any, 0.5),
            ],
        };

        ArithmeticTaskSet set = ArithmeticTaskGenerator.Generate(config);

        Assert.Equal(["tiny"], set.ExhaustedTiers);
        Assert.Equal(100, set.Train.Concat(set.Eval).Count(p => p.Difficulty == "tiny"));
        Assert.Equal(300, set.Train.Count);
    }

    [Fact]
    public void TooManyPromptsForTheTiersIsAClearError()
    {
        var config = new ArithmeticTaskConfig
        {
            TrainSize = 200,
            EvalSize = 0,
            Tiers = [new ArithmeticTier("tiny", IntRange.Exactly(1), IntRange.Exactly(1), "+", CarryRule.Any, 1)],
        };

        var error = Assert.Throws<InvalidOperationException>(() => ArithmeticTaskGenerator.Generate(config));
        Assert.Contains("ran out of distinct prompts", error.Message);
    }

    [Theory]
    [InlineData("/", 1, 1, 1.0, "operators")]
    [InlineData("+", 0, 1, 1.0, "operand digits")]
    [InlineData("+", 7, 1, 1.0, "operand digits")]
    [InlineData("+", 6, 4, 1.0, "MaxPromptChars")]
    [InlineData("+", 1, 1, -1.0, "weight")]
    public void InvalidTierIsRejectedWithItsName(string operators, int digits, int operations, double weight, string mentions)
    {
        var config = new ArithmeticTaskConfig
        {
            Tiers = [new ArithmeticTier("bad-tier", IntRange.Exactly(digits), IntRange.Exactly(operations), operators, CarryRule.Any, weight)],
        };

        var error = Assert.Throws<ArgumentException>(() => ArithmeticTaskGenerator.Generate(config));
        Assert.Contains("bad-tier", error.Message);
        Assert.Contains(mentions, error.Message);
    }

    [Theory]
    [InlineData(15, 27, true)]
    [InlineData(12, 34, false)]
    [InlineData(95, 5, true)]
    public void AdditionCarryIsColumnWise(long a, long b, bool carries)
    {
        Assert.Equal(carries, ArithmeticExpression.AdditionCarries(a, b));
    }

    [Theory]
    [InlineData(52, 17, true)]
    [InlineData(57, 12, false)]
    [InlineData(100, 1, true)]
    public void SubtractionBorrowIsColumnWise(long a, long b, bool borrows)
    {
        Assert.Equal(borrows, ArithmeticExpression.SubtractionBorrows(a, b));
    }

    // An independent evaluator: split on '+'/'-' first, products inside each term.
    private static long ReferenceEvaluate(string expression)
    {
        long total = 0;
        int sign = 1;
        int start = 0;
        for (int i = 0; i <= expression.Length; i++)
        {
            if (i == expression.Length || expression[i] is '+' or '-')
            {
                long product = expression[start..i].Split('*').Select(x => long.Parse(x, CultureInfo.InvariantCulture)).Aggregate(1L, (x, y) => x * y);
                total += sign * product;
                if (i < expression.Length)
                {
                    sign = expression[i] == '+' ? 1 : -1;
                    start = i + 1;
                }
            }
        }

        return total;
    }

    private static bool ColumnsCarry(string expression)
    {
        bool plus = expression.Contains('+');
        string[] parts = expression.Split('+', '-');
        string a = parts[0].PadLeft(8, '0');
        string b = parts[1].PadLeft(8, '0');
        for (int i = 0; i < 8; i++)
        {
            int x = a[i] - '0';
            int y = b[i] - '0';
            if (plus ? x + y >= 10 : x < y)
            {
                return true;
            }
        }

        return false;
    }
}
