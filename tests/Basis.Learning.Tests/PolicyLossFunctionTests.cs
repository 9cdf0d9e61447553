using FsCheck;
using FsCheck.Fluent;
using Xunit;

namespace Basis.Learning.Tests;

public class PolicyLossFunctionTests
{
    [Fact]
    public void GpgTokenMeanMatchesHandComputedValue()
    {
        // Two sequences: lengths 2 and 1, advantages +1 and -2.
        var batch = new PolicyGradientBatch([0, 2, 3], [1.0, -2.0], [-1f, -2f, -0.5f]);
        float[] logp = [-1f, -2f, -0.5f];
        var loss = new PolicyLossFunction(new PolicyLossOptions { Kind = PolicyLossKind.Gpg });

        PolicyLossResult result = loss.Compute(batch, logp);

        // loss = -(1/3)[(-1)(1) + (-2)(1) + (-0.5)(-2)] = -(1/3)(-2) = 2/3
        Assert.Equal(2.0 / 3.0, result.Loss, 12);
        Assert.Equal([-1f / 3f, -1f / 3f, 2f / 3f], result.LogProbGradient);
    }

    [Fact]
    public void PpoOnPolicyGradientIsAdvantageOverTokens()
    {
        var batch = new PolicyGradientBatch([0, 1, 3], [0.5, -1.0], [-1f, -2f, -3f]);
        var loss = new PolicyLossFunction(new PolicyLossOptions());

        PolicyLossResult result = loss.Compute(batch, batch.OldLogProbs);

        // ratio 1 everywhere: loss = -(0.5 - 1 - 1)/3 = 0.5, gradient = -A/3.
        Assert.Equal(0.5, result.Loss, 12);
        Assert.Equal([-0.5f / 3f, 1f / 3f, 1f / 3f], result.LogProbGradient);
        Assert.Equal(0, result.ClipFraction);
    }

    [Fact]
    public void PpoClipStopsGradientOutsideTrustRegion()
    {
        // Positive advantage with ratio e^0.5 > 1.28: clipped, no gradient.
        // Negative advantage with ratio e^-0.5 < 0.8: clipped, no gradient.
        // Negative advantage with ratio e^0.5: unclipped (pessimistic branch), gradient flows.
        var batch = new PolicyGradientBatch([0, 1, 2, 3], [1.0, -1.0, -1.0], [0f, 0f, 0f]);
        float[] logp = [0.5f, -0.5f, 0.5f];
        var loss = new PolicyLossFunction(new PolicyLossOptions { DualClip = 0 });

        PolicyLossResult result = loss.Compute(batch, logp);

        Assert.Equal(0f, result.LogProbGradient[0]);
        Assert.Equal(0f, result.LogProbGradient[1]);
        Assert.Equal((float)(Math.Exp(0.5) / 3), result.LogProbGradient[2], 6);
        Assert.Equal(2.0 / 3.0, result.ClipFraction, 12);
        double expected = -(1.28 * 1 + 0.8 * -1 + Math.Exp(0.5f) * -1) / 3;
        Assert.Equal(expected, result.Loss, 6);
    }

    [Fact]
    public void DualClipBoundsNegativeAdvantageObjective()
    {
        var batch = new PolicyGradientBatch([0, 1], [-1.0], [0f]);
        float[] logp = [2f]; // ratio e^2 = 7.39 > c = 3
        var loss = new PolicyLossFunction(new PolicyLossOptions { DualClip = 3 });

        PolicyLossResult result = loss.Compute(batch, logp);

        Assert.Equal(3.0, result.Loss, 12);
        Assert.Equal(0f, result.LogProbGradient[0]);
    }

    [Fact]
    public void TruncatedImportanceWeightScalesAndCaps()
    {
        // old - behaviour = ln 1.5 (weight 1.5) and ln 10 (capped at 2).
        var batch = new PolicyGradientBatch([0, 2], [1.0], [0f, 0f], behaviourLogProbs: [(float)-Math.Log(1.5), (float)-Math.Log(10)]);
        var loss = new PolicyLossFunction(new PolicyLossOptions { ImportanceCap = 2 });

        PolicyLossResult result = loss.Compute(batch, batch.OldLogProbs);

        Assert.Equal(-1.5f / 2, result.LogProbGradient[0], 6);
        Assert.Equal(-2f / 2, result.LogProbGradient[1], 6);
        Assert.Equal(1.75, result.MeanImportanceWeight, 6);
    }

    [Fact]
    public void KlPenaltyNeedsReferenceLogProbs()
    {
        var batch = new PolicyGradientBatch([0, 1], [1.0], [0f]);
        var loss = new PolicyLossFunction(new PolicyLossOptions { KlCoefficient = 0.1 });

        var error = Assert.Throws<InvalidOperationException>(() => loss.Compute(batch, [0f]));
        Assert.Contains("reference", error.Message);
    }

    [Fact]
    public void BatchRefusesMismatchedLengthsAndNonFiniteAdvantages()
    {
        Assert.Throws<ArgumentException>(() => new PolicyGradientBatch([0, 2], [1.0], [0f]));
        Assert.Throws<ArgumentException>(() => new PolicyGradientBatch([0, 1], [1.0, 2.0], [0f]));
        var nan = Assert.Throws<ArgumentException>(() => new PolicyGradientBatch([0, 1], [double.NaN], [0f]));
        Assert.Contains("sequence 0", nan.Message);
        Assert.Throws<ArgumentException>(() => new PolicyGradientBatch([0, 2, 1], [1.0, 1.0], [0f]));
    }

    [Fact]
    public void GradientMatchesFiniteDifferencesForEveryKindAndAggregation()
    {
        PolicyLossKind[] kinds = [PolicyLossKind.PpoClip, PolicyLossKind.Gspo, PolicyLossKind.Gpg];
        LossAggregation[] aggregations = [LossAggregation.TokenMean, LossAggregation.SequenceMeanTokenMean, LossAggregation.SequenceMeanTokenSum];
        Prop.ForAll(
            Arb.From(Gen.Choose(0, int.MaxValue)),
            seed =>
            {
                var random = new Random(seed);
                foreach (PolicyLossKind kind in kinds)
                {
                    foreach (LossAggregation aggregation in aggregations)
                    {
                        CheckGradient(random, new PolicyLossOptions
                        {
                            Kind = kind,
                            Aggregation = aggregation,
                            KlCoefficient = 0.05,
                            ClipLow = 0.2,
                            ClipHigh = 0.28,
                            ConstantLength = 5,
                        });
                    }
                }
            }).QuickCheckThrowOnFailure();
    }

    private static void CheckGradient(Random random, PolicyLossOptions options)
    {
        int sequences = random.Next(1, 5);
        var offsets = new int[sequences + 1];
        for (int s = 0; s < sequences; s++)
        {
            offsets[s + 1] = offsets[s] + random.Next(1, 5);
        }

        int n = offsets[^1];
        var advantages = new double[sequences];
        for (int s = 0; s < sequences; s++)
        {
            advantages[s] = (random.NextDouble() * 2) - 1;
        }

        float[] old = Fill(random, n, -3, 0);
        float[] behaviour = Fill(random, n, -3, 0);
        float[] reference = Fill(random, n, -3, 0);
        var logp = new float[n];
        for (int t = 0; t < n; t++)
        {
            // Stay well inside or well outside the clip region so the one-sided derivative is the derivative.
            logp[t] = old[t] + (float)((random.NextDouble() - 0.5) * 0.2);
        }

        var batch = new PolicyGradientBatch(offsets, advantages, old, behaviour, reference);
        var function = new PolicyLossFunction(options);
        PolicyLossResult result = function.Compute(batch, logp);
        const float h = 1e-3f;
        for (int t = 0; t < n; t++)
        {
            float saved = logp[t];
            logp[t] = saved + h;
            double plus = function.Compute(batch, logp).Loss;
            logp[t] = saved - h;
            double minus = function.Compute(batch, logp).Loss;
            logp[t] = saved;
            double numeric = (plus - minus) / (2 * h);
            double analytic = result.LogProbGradient[t];
            if (IsNearKink(function, batch, logp, t, h))
            {
                continue;
            }

            double tolerance = 2e-3 * Math.Max(1, Math.Abs(numeric));
            if (Math.Abs(numeric - analytic) > tolerance)
            {
                throw new InvalidOperationException($"{options.Kind}/{options.Aggregation} token {t}: analytic {analytic}, numeric {numeric}");
            }
        }
    }

    // A clip boundary inside [x - h, x + h] makes the central difference meaningless there.
    private static bool IsNearKink(PolicyLossFunction function, PolicyGradientBatch batch, float[] logp, int t, float h)
    {
        float saved = logp[t];
        logp[t] = saved + h;
        float[] plus = function.Compute(batch, logp).LogProbGradient;
        logp[t] = saved - h;
        float[] minus = function.Compute(batch, logp).LogProbGradient;
        logp[t] = saved;
        bool plusZero = plus[t] == 0;
        bool minusZero = minus[t] == 0;
        return plusZero != minusZero || Math.Abs(plus[t] - minus[t]) > 0.5 * Math.Max(Math.Abs(plus[t]), Math.Abs(minus[t]));
    }

    private static float[] Fill(Random random, int n, double low, double high)
    {
        var values = new float[n];
        for (int i = 0; i < n; i++)
        {
            values[i] = (float)(low + (random.NextDouble() * (high - low)));
        }

        return values;
    }
}
