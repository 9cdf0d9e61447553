namespace Basis.Estimators.Tests;

/// <summary>Expected values worked out by hand from the definitions.</summary>
public sealed class GoldenTests
{
    [Fact]
    public void Grpo()
    {
        ScoredRollout[] batch = Batches.Grouped([1, 0, 0, 1], [1, 1]);
        AdvantageResult result = new GrpoEstimator(4).Estimate(new RolloutBatch(0, batch));

        // Group q0: mean 1/2, Bessel std sqrt((4 * 1/4) / 3) = sqrt(1/3). Group q1: std 0, advantage 0.
        double scale = Math.Sqrt(1.0 / 3) + 1e-6;
        double[] expected = [0.5 / scale, -0.5 / scale, -0.5 / scale, 0.5 / scale, 0, 0];
        Assert.Equal(expected, result.Rollouts.Select(r => r.Advantage));
        Assert.Equal(0.5, result.Rollouts[0].Baseline);
    }

    [Fact]
    public void GrpoWithGroupOfOneGivesTheReward()
    {
        AdvantageResult result = new GrpoEstimator(1).Estimate(new RolloutBatch(0, Batches.Grouped([0.75])));
        Assert.Equal(0.75, result.Rollouts[0].Advantage);
    }

    [Fact]
    public void DrGrpo()
    {
        AdvantageResult result = new DrGrpoEstimator(3).Estimate(new RolloutBatch(0, Batches.Grouped([1, 0, 0])));
        Assert.Equal([1 - 1.0 / 3, -1.0 / 3, -1.0 / 3], result.Rollouts.Select(r => r.Advantage));
    }

    [Fact]
    public void Rloo()
    {
        AdvantageResult result = new RlooEstimator(3).Estimate(new RolloutBatch(0, Batches.Grouped([1, 0, 1])));
        Assert.Equal([0.5, 1, 0.5], result.Rollouts.Select(r => r.Baseline));
        Assert.Equal([0.5, -1, 0.5], result.Rollouts.Select(r => r.Advantage));
    }

    [Fact]
    public void Gpg()
    {
        // Four rollouts, two of them in the all-equal group q1: alpha = 4 / (4 - 2) = 2.
        AdvantageResult result = new GpgEstimator(2).Estimate(new RolloutBatch(0, Batches.Grouped([1, 0], [1, 1])));
        Assert.Equal(2, result.Diagnostics.Alpha);
        Assert.Equal([1, -1, 0, 0], result.Rollouts.Select(r => r.Advantage));
    }

    [Fact]
    public void ReinforcePlusPlus()
    {
        ScoredRollout[] batch =
        [
            new("a", 0, 1, TokenKl: new[] { 0.5, -0.2, 1.0 }),
            new("b", 0, 0),
        ];
        AdvantageResult result = new ReinforcePlusPlusEstimator(0.01).Estimate(new RolloutBatch(0, batch));

        // Returns to go: 1 - 0.01 (0.5 - 0.2 + 1.0) = 0.987, 1 - 0.01 (-0.2 + 1.0) = 0.992, 1 - 0.01 * 1.0 = 0.99;
        // "b" has no KL and counts as one token with return 0.
        double[] returns = [0.987, 0.992, 0.99, 0];
        double mean = (0.987 + 0.992 + 0.99 + 0) / 4;
        double std = Math.Sqrt(returns.Sum(x => (x - mean) * (x - mean)) / 3);
        double[] expected = returns.Select(x => (x - mean) / (std + 1e-8)).ToArray();
        Assert.Equal(3, result.TokenAdvantages![0].Count);
        for (int t = 0; t < 3; t++)
        {
            Assert.Equal(expected[t], result.TokenAdvantages[0][t], 12);
        }

        Assert.Equal(expected[3], result.TokenAdvantages[1][0], 12);
        Assert.Equal(expected[3], result.Rollouts[1].Advantage, 12);
        Assert.Equal(0.5, result.Rollouts[0].Baseline);
    }

    [Fact]
    public void ReinforceHasNoBaseline()
    {
        AdvantageResult result = new ReinforceEstimator().Estimate(new RolloutBatch(0, Batches.Grouped([0.25], [1])));
        Assert.Equal([0.25, 1], result.Rollouts.Select(r => r.Advantage));
    }

    [Fact]
    public void KaeWeighsHistoryByTriangularKernelInRelativeAge()
    {
        var kae = new KaeEstimator(2, new KaeOptions(Bandwidth: 0.5));
        kae.Estimate(new RolloutBatch(4, Batches.Grouped([1, 1])));
        kae.Estimate(new RolloutBatch(8, Batches.Grouped([1, 0])));
        AdvantageResult result = kae.Estimate(new RolloutBatch(10, Batches.Grouped([1, 0])));

        // At step 10, h = 0.5: age 6 weighs max(1 - 6/5, 0) = 0, age 2 weighs 1 - 2/5 = 0.6; the other current
        // rollout weighs 1.
        Assert.Equal((0.6 * 1 + 0.6 * 0 + 1 * 0) / 2.2, result.Rollouts[0].Baseline, 12);
        Assert.Equal((0.6 * 1 + 0.6 * 0 + 1 * 1) / 2.2, result.Rollouts[1].Baseline, 12);
    }

    [Fact]
    public void KaeStateRoundTrips()
    {
        var kae = new KaeEstimator(2);
        kae.Estimate(new RolloutBatch(4, Batches.Grouped([1, 1], [0, 1])));
        var copy = new KaeEstimator(2);
        copy.ImportState(EstimatorStateJson.Deserialize(EstimatorStateJson.Serialize(kae.ExportState())));
        ScoredRollout[] next = Batches.Grouped([0, 1], [1, 1]);
        Assert.Equal(kae.Estimate(new RolloutBatch(6, next)).Rollouts, copy.Estimate(new RolloutBatch(6, next)).Rollouts);
    }

    [Fact]
    public void EbpoShrinksGroupMeansTowardTheGlobalMean()
    {
        AdvantageResult result = new EbpoEstimator(2).Estimate(new RolloutBatch(0, Batches.Grouped([1, 0], [1, 1], [0, 0])));

        // Pooled within variance 0.5 / 3 = 1/6; variance of the means 1/4; tau^2 = 1/4 - (1/6)/2 = 1/6;
        // lambda = (1/12) / (1/12 + 1/6) = 1/3; global mean 1/2.
        Assert.Equal(1.0 / 3 * 0.5 + 2.0 / 3 * 1, result.Rollouts[2].Baseline, 12);
        Assert.Equal(0.5, result.Rollouts[0].Baseline, 12);
        Assert.Equal(1.0 / 3 * 0.5, result.Rollouts[4].Baseline, 12);
        Assert.Equal(0.5, ((EbpoState)new EbpoEstimator(2).ExportState() with { GlobalMean = 0.5 }).GlobalMean);
    }
}
