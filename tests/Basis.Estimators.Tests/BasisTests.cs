using FsCheck;
using FsCheck.Fluent;

namespace Basis.Estimators.Tests;

public sealed class BasisTests
{
    // BLUE alone: fixed beta, no history, no clip, so b_i is exactly the linear estimator under test.
    private static readonly BasisOptions s_blueOnly = BasisOptions.Default with
    {
        Calibration = BetaCalibration.Fixed,
        InitialBeta = 1.0,
        UseHistory = false,
        Clip = false,
    };

    private static Gen<double[]> PassRates(int min, int max) =>
        from n in Gen.Choose(min, max)
        from rates in Gen.ArrayOf(Gen.Choose(5, 95).Select(x => x / 100.0), n)
        select rates;

    [Fact]
    public void BlueWeightsSumToOneAndReproduceTheValues()
    {
        Prop.ForAll(PassRates(4, 40).ToArbitrary(), rates =>
        {
            // With rewards all equal to c the implied weights give sum(lambda) c; with r_j = v_j they give
            // sum(lambda_j v_j). BLUE must return c and v_i respectively.
            double[] values = new BasisEstimator(s_blueOnly).Estimate(new RolloutBatch(0, Batches.WithRates(rates, new double[rates.Length])))
                .Rollouts.Select(r => r.InitialValue).ToArray();
            AdvantageResult constant = new BasisEstimator(s_blueOnly).Estimate(new RolloutBatch(0, Batches.WithRates(rates, Enumerable.Repeat(0.37, rates.Length).ToArray())));
            AdvantageResult exact = new BasisEstimator(s_blueOnly).Estimate(new RolloutBatch(0, Batches.WithRates(rates, values)));
            int blue = 0;
            for (int i = 0; i < rates.Length; i++)
            {
                // The shift-model fallback has different weights; only BLUE rows carry the claim.
                if (constant.Rollouts[i].Source != BaselineSource.Blue || exact.Rollouts[i].Source != BaselineSource.Blue)
                {
                    continue;
                }

                blue++;
                if (Math.Abs(constant.Rollouts[i].Baseline - 0.37) > 1e-9 || Math.Abs(exact.Rollouts[i].Baseline - values[i]) > 1e-9)
                {
                    return false;
                }
            }

            return blue > 0;
        }).CheckWith(PropertyConfig.Fixed(11));
    }

    [Fact]
    public void BlueMatchesTheClosedFormForThreePrompts()
    {
        // Prompt 0's baseline from prompts 1 and 2 only: the line through (v1, r1), (v2, r2) fitted exactly by
        // weighted least squares (two points, two parameters), evaluated at v0.
        double[] rates = [0.3, 0.2, 0.6];
        double[] rewards = [1, 0, 1];
        AdvantageResult result = new BasisEstimator(s_blueOnly).Estimate(new RolloutBatch(0, Batches.WithRates(rates, rewards)));
        double v0 = result.Rollouts[0].InitialValue;
        double v1 = result.Rollouts[1].InitialValue;
        double v2 = result.Rollouts[2].InitialValue;
        double expected = rewards[1] + (rewards[2] - rewards[1]) * (v0 - v1) / (v2 - v1);
        Assert.Equal(BaselineSource.Blue, result.Rollouts[0].Source);
        Assert.Equal(expected, result.Rollouts[0].Baseline, 12);
        Assert.Equal(1 - expected, result.Rollouts[0].Advantage, 12);
    }

    [Fact]
    public void TiltedValueWithBetaOneShiftsTheLogitByOne()
    {
        double v = OfflineValueModel.Value(OfflineValueForm.TiltedPassRate, 0.3, 1.0);
        Assert.Equal(Math.Log(0.3 / 0.7) + 1, Math.Log(v / (1 - v)), 12);
        double soft = OfflineValueModel.Value(OfflineValueForm.SoftValue, 0.3, 1.0);
        Assert.Equal(Math.Log(0.7 + 0.3 * Math.E), soft, 12);
        Assert.Equal(0.3, OfflineValueModel.Value(OfflineValueForm.SoftValue, 0.3, 1e6), 5);
    }

    [Fact]
    public void BetaGridHas230LogSpacedPointsOverTheSpecRange()
    {
        ReadOnlySpan<double> grid = OfflineValueModel.BetaGrid;
        Assert.Equal(230, grid.Length);
        Assert.Equal(0.01, grid[0]);
        Assert.Equal(5.0, grid[^1]);
        double ratio = grid[1] / grid[0];
        for (int g = 1; g < grid.Length; g++)
        {
            Assert.Equal(ratio, grid[g] / grid[g - 1], 9);
        }
    }

    [Theory]
    [InlineData(OfflineValueForm.TiltedPassRate, 60)]
    [InlineData(OfflineValueForm.SoftValue, 150)]
    public void CalibrationRecoversTheBetaThatGeneratedTheRewards(OfflineValueForm form, int gridIndex)
    {
        double beta = OfflineValueModel.BetaGrid[gridIndex];
        double[] rates = Enumerable.Range(1, 19).Select(i => i / 20.0).ToArray();
        double[] rewards = rates.Select(p => OfflineValueModel.Value(form, p, beta)).ToArray();
        var options = BasisOptions.Default with { Form = form, UseHistory = false };
        BatchDiagnostics diagnostics = new BasisEstimator(options).Estimate(new RolloutBatch(0, Batches.WithRates(rates, rewards))).Diagnostics;
        Assert.Equal(beta, diagnostics.CalibratedBeta);
        Assert.Equal(options.InitialBeta, diagnostics.Beta);
    }

    [Fact]
    public void PreviousStepCalibrationUsesTheLastBatchBeta()
    {
        var estimator = new BasisEstimator(BasisOptions.Default with { UseHistory = false });
        double beta = OfflineValueModel.BetaGrid[180];
        double[] rates = [0.1, 0.3, 0.5, 0.7, 0.9];
        double[] rewards = rates.Select(p => OfflineValueModel.Value(OfflineValueForm.TiltedPassRate, p, beta)).ToArray();
        estimator.Estimate(new RolloutBatch(0, Batches.WithRates(rates, rewards)));
        Assert.Equal(beta, estimator.Estimate(new RolloutBatch(1, Batches.WithRates(rates, rewards))).Diagnostics.Beta);
    }

    [Fact]
    public void PromptsAtZeroOrOneLeaveTheActiveSetAndDonateNothing()
    {
        var options = s_blueOnly with { Inactive = InactiveBaseline.Zero };
        double[] rates = [0.0, 1.0, 0.2, 0.5, 0.8, 0.4];
        AdvantageResult a = new BasisEstimator(options).Estimate(new RolloutBatch(0, Batches.WithRates(rates, [0, 1, 0, 1, 1, 0])));
        AdvantageResult b = new BasisEstimator(options).Estimate(new RolloutBatch(0, Batches.WithRates(rates, [1, 0, 0, 1, 1, 0])));
        Assert.Equal(4, a.Diagnostics.ActiveSetSize);
        Assert.Equal(2, a.Diagnostics.InactiveCount);
        Assert.Equal(BaselineSource.Inactive, a.Rollouts[0].Source);
        Assert.Equal(0, a.Rollouts[1].Baseline);
        for (int i = 2; i < rates.Length; i++)
        {
            Assert.Equal(a.Rollouts[i].Baseline, b.Rollouts[i].Baseline);
        }

        var own = new BasisEstimator(s_blueOnly).Estimate(new RolloutBatch(0, Batches.WithRates(rates, [0, 1, 0, 1, 1, 0])));
        Assert.Equal(1.0, own.Rollouts[1].Baseline);
    }

    [Fact]
    public void FewerThanThreeActivePromptsFallBackToTheShiftModel()
    {
        double[] rates = [0.3, 0.6, 0.0];
        AdvantageResult result = new BasisEstimator(s_blueOnly).Estimate(new RolloutBatch(0, Batches.WithRates(rates, [1, 0, 0])));
        Assert.Equal(BaselineSource.ShiftModel, result.Rollouts[0].Source);
        Assert.Equal(BaselineSource.ShiftModel, result.Rollouts[1].Source);
        Assert.Equal(1, result.Diagnostics.InactiveCount);

        // Shift model with one other prompt: b_0 = v_0 + (r_1 - v_1).
        double v0 = result.Rollouts[0].InitialValue;
        double v1 = result.Rollouts[1].InitialValue;
        Assert.Equal(v0 + (0 - v1), result.Rollouts[0].Baseline, 12);
        Assert.Equal(v1 + (1 - v0), result.Rollouts[1].Baseline, 12);
    }

    [Fact]
    public void IdenticalValuesMakeTheSystemSingularAndFallBackToTheShiftModel()
    {
        double[] rates = [0.4, 0.4, 0.4, 0.4];
        AdvantageResult result = new BasisEstimator(s_blueOnly).Estimate(new RolloutBatch(0, Batches.WithRates(rates, [1, 0, 1, 1])));
        Assert.All(result.Rollouts, r => Assert.Equal(BaselineSource.ShiftModel, r.Source));
        double v = result.Rollouts[0].InitialValue;
        Assert.Equal(v + ((0 - v) + (1 - v) + (1 - v)) / 3, result.Rollouts[0].Baseline, 12);
    }

    [Fact]
    public void SinglePromptUsesItsOwnValue()
    {
        AdvantageResult result = new BasisEstimator(s_blueOnly).Estimate(new RolloutBatch(0, Batches.WithRates([0.3], [1])));
        Assert.Equal(BaselineSource.OwnValue, result.Rollouts[0].Source);
        Assert.Equal(result.Rollouts[0].InitialValue, result.Rollouts[0].Baseline);
    }

    [Fact]
    public void OwnHistoryMovesTheValueTowardThePromptsPastRewards()
    {
        var estimator = new BasisEstimator(BasisOptions.Default with { Calibration = BetaCalibration.Fixed, Refine = false });
        ScoredRollout[] batch = Batches.WithRates([0.2, 0.5, 0.8], [1, 1, 1]);
        double before = estimator.Estimate(new RolloutBatch(0, batch)).Rollouts[0].InitialValue;
        for (int step = 1; step <= 5; step++)
        {
            estimator.Estimate(new RolloutBatch(step, batch));
        }

        double after = estimator.Estimate(new RolloutBatch(6, batch)).Rollouts[0].InitialValue;
        Assert.True(after > before + 0.2, $"value {before} -> {after} after six successes");
    }

    [Fact]
    public void HistoryHalfLifeStretchesToFourRevisitIntervalsWhenPromptsComeBackRarely()
    {
        // 64 prompts, 8 per step: each comes back every 8 steps, so 4 revisits (32 steps) tie the step floor.
        var often = new BasisEstimator();
        var rarely = new BasisEstimator();
        for (int step = 0; step < 200; step++)
        {
            often.Estimate(new RolloutBatch(step, Cycle(step, 64)));
            rarely.Estimate(new RolloutBatch(step, Cycle(step, 512)));
        }

        Assert.Equal(32, often.CurrentHistoryHalfLife, 9);
        // 512 prompts, 8 per step: a 64-step revisit interval, so the half-life is 4 x 64 steps.
        Assert.Equal(256, rarely.CurrentHistoryHalfLife, 9);
        Assert.Equal(32, new BasisEstimator(BasisOptions.Default with { HistoryHalfLifeRevisits = 0 }).CurrentHistoryHalfLife, 9);

        static ScoredRollout[] Cycle(int step, int prompts) => Enumerable.Range(0, 8)
            .Select(i => new ScoredRollout($"p{(step * 8 + i) % prompts}", 0, (step + i) % 3 == 0 ? 1 : 0, Offline: new OfflineCounts(3, 8)))
            .ToArray();
    }

    [Fact]
    public void SnapshotFromBeforeRevisitCountsImportsWithTheStepHalfLife()
    {
        var estimator = new BasisEstimator();
        estimator.ImportState(EstimatorStateJson.Deserialize("{\"kind\":\"basis\",\"previous_beta\":0.5,\"evidence\":[]}"));
        Assert.Equal(32, estimator.CurrentHistoryHalfLife, 9);
        Assert.Throws<ArgumentException>(() => estimator.ImportState(new BasisState(0.5, [], RevisitGapSum: 3, Revisits: 4)));
    }

    [Fact]
    public void WhiteningGivesZeroMeanUnitStd()
    {
        var options = BasisOptions.Default with { Whiten = true };
        AdvantageResult result = new BasisEstimator(options).Estimate(new RolloutBatch(0, Batches.WithRates([0.1, 0.5, 0.9, 0.3], [1, 0, 1, 0])));
        double[] a = result.Rollouts.Select(r => r.Advantage).ToArray();
        double mean = a.Average();
        double std = Math.Sqrt(a.Sum(x => (x - mean) * (x - mean)) / (a.Length - 1));
        Assert.Equal(0, mean, 12);
        Assert.Equal(1, std, 6);
        Assert.True(result.Diagnostics.Whitened);
    }

    [Fact]
    public void StateRoundTripsThroughJsonAndReproducesTheNextStep()
    {
        var rng = new Simulation.SimulationRandom(3);
        ScoredRollout[] Batch() => Enumerable.Range(0, 30)
            .Select(i => new ScoredRollout($"p{rng.NextInt(40)}-{i}", 0, rng.Bernoulli(0.5) ? 1 : 0, Offline: new OfflineCounts(rng.NextInt(9), 8)))
            .ToArray();
        var original = new BasisEstimator();
        for (int step = 0; step < 5; step++)
        {
            original.Estimate(new RolloutBatch(step, Batch()));
        }

        string json = EstimatorStateJson.Serialize(original.ExportState());
        var restored = new BasisEstimator();
        restored.ImportState(EstimatorStateJson.Deserialize(json));
        Assert.Equal(json, EstimatorStateJson.Serialize(restored.ExportState()));
        ScoredRollout[] next = Batch();
        Assert.Equal(original.Estimate(new RolloutBatch(5, next)).Rollouts, restored.Estimate(new RolloutBatch(5, next)).Rollouts);
    }

    [Fact]
    public void ImportRefusesAnotherEstimatorsState()
    {
        Assert.Throws<ArgumentException>(() => new BasisEstimator().ImportState(new KaeState([])));
        Assert.Throws<FormatException>(() => EstimatorStateJson.Deserialize("{\"kind\":\"basis\",\"previous_beta\":"));
    }

    [Fact]
    public void BetaPriorFitSmoothsZeroOfEightAwayFromZero()
    {
        OfflineCounts[] counts = [new(0, 8), new(8, 8), new(2, 8), new(5, 8), new(0, 8), new(7, 8), new(1, 8), new(4, 8)];
        BetaPrior prior = BetaPrior.FitMoments(counts);
        Assert.True(prior.Alpha > 0 && prior.Beta > 0);
        double smoothed = prior.Smooth(new OfflineCounts(0, 8));
        Assert.InRange(smoothed, 1e-3, 1.0 / 8);
        Assert.Equal(BetaPrior.Jeffreys, BetaPrior.FitMoments(counts.AsSpan(0, 3)));
    }
}
