using FsCheck;
using FsCheck.Fluent;

namespace Basis.Estimators.Tests;

public sealed class UnbiasednessTests
{
    public static TheoryData<string> UnbiasedSpecs() =>
        ["basis", "basis-initial", "basis-spec", "reinforce", "rloo:4", "kae", "kae:4"];

    public static TheoryData<string> AllSpecs() =>
        ["basis", "basis-initial", "basis-spec", "reinforce", "reinforce++", "grpo:4", "drgrpo:4", "rloo:4", "gpg:4", "kae", "ebpo:4"];

    [Theory]
    [MemberData(nameof(UnbiasedSpecs))]
    public void BaselineIsBitIdenticalWhenOwnRewardChanges(string spec)
    {
        Assert.True(EstimatorCatalog.Create(spec).BaselineExcludesOwnReward);
        Gen<(ScoredRollout[] History, ScoredRollout[] Batch, int Index, double NewReward)> cases =
            from history in Batches.Batch(1, 30)
            from batch in Batches.Batch(1, 40)
            from index in Gen.Choose(0, batch.Length - 1)
            from newReward in Gen.Elements(0.0, 1.0, 0.25, 0.7)
            select (history, batch, index, newReward);

        Prop.ForAll(cases.ToArbitrary(), c =>
        {
            // Two estimators in the same state (one past batch), fed batches that differ only in r_i.
            IAdvantageEstimator first = EstimatorCatalog.Create(spec);
            IAdvantageEstimator second = EstimatorCatalog.Create(spec);
            first.Estimate(new RolloutBatch(3, c.History));
            second.Estimate(new RolloutBatch(3, c.History));
            ScoredRollout[] changed = [.. c.Batch];
            changed[c.Index] = changed[c.Index] with { Reward = c.NewReward };
            double before = first.Estimate(new RolloutBatch(9, c.Batch)).Rollouts[c.Index].Baseline;
            double after = second.Estimate(new RolloutBatch(9, changed)).Rollouts[c.Index].Baseline;
            return BitConverter.DoubleToInt64Bits(before) == BitConverter.DoubleToInt64Bits(after);
        }).CheckWith(PropertyConfig.Fixed(17));
    }

    [Fact]
    public void LeaveOneOutBetaIsBitIdenticalWhenOwnRewardChanges()
    {
        var options = BasisOptions.Default with { Calibration = BetaCalibration.LeaveOneOut, UseHistory = false };
        Gen<(ScoredRollout[] Batch, int Index, double NewReward)> cases =
            from batch in Batches.Batch(2, 60)
            from index in Gen.Choose(0, batch.Length - 1)
            from newReward in Gen.Elements(0.0, 1.0, 0.5)
            select (batch, index, newReward);

        Prop.ForAll(cases.ToArbitrary(), c =>
        {
            ScoredRollout[] changed = [.. c.Batch];
            changed[c.Index] = changed[c.Index] with { Reward = c.NewReward };
            RolloutEstimate before = new BasisEstimator(options).Estimate(new RolloutBatch(0, c.Batch)).Rollouts[c.Index];
            RolloutEstimate after = new BasisEstimator(options).Estimate(new RolloutBatch(0, changed)).Rollouts[c.Index];
            return before.Baseline.Equals(after.Baseline) && before.InitialValue.Equals(after.InitialValue);
        }).CheckWith(PropertyConfig.Fixed(23));
    }

    [Theory]
    [MemberData(nameof(AllSpecs))]
    public void IdenticalInputGivesBitIdenticalOutput(string spec)
    {
        Prop.ForAll(Batches.Batch(1, 50).ToArbitrary(), batch =>
        {
            AdvantageResult a = EstimatorCatalog.Create(spec).Estimate(new RolloutBatch(1, batch));
            AdvantageResult b = EstimatorCatalog.Create(spec).Estimate(new RolloutBatch(1, batch));
            return a.Rollouts.SequenceEqual(b.Rollouts);
        }).CheckWith(PropertyConfig.Fixed(5, maxTest: 30));
    }

    [Theory]
    [MemberData(nameof(AllSpecs))]
    public void NonFiniteRewardIsRefusedNamingTheRollout(string spec)
    {
        foreach (double bad in new[] { double.NaN, double.PositiveInfinity, double.NegativeInfinity })
        {
            ScoredRollout[] batch = Batches.WithRates([0.2, 0.5, 0.7], [1, 0, 0]);
            batch[2] = batch[2] with { Reward = bad };
            var error = Assert.Throws<ArgumentException>(() => EstimatorCatalog.Create(spec).Estimate(new RolloutBatch(0, batch)));
            Assert.Contains("Rollout 2", error.Message, StringComparison.Ordinal);
            Assert.Contains("'p2'", error.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(AllSpecs))]
    public void EmptyAndTinyBatchesGiveFiniteResults(string spec)
    {
        for (int size = 0; size <= 3; size++)
        {
            foreach (double p0 in new[] { 0.0, 1.0, 0.4 })
            {
                ScoredRollout[] batch = Batches.WithRates(Enumerable.Repeat(p0, size).ToArray(), Enumerable.Range(0, size).Select(i => (double)(i % 2)).ToArray());
                AdvantageResult result = EstimatorCatalog.Create(spec).Estimate(new RolloutBatch(0, batch));
                Assert.Equal(size, result.Rollouts.Count);
                Assert.All(result.Rollouts, r => Assert.True(double.IsFinite(r.Baseline) && double.IsFinite(r.Advantage), $"{spec} B={size} p0={p0}: {r}"));
            }
        }
    }
}
