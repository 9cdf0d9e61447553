using Basis.Training.Journal;
using FsCheck;
using FsCheck.Fluent;

namespace Basis.Dashboard.Tests;

public sealed class PointsTests
{
    [Fact]
    public void ABatchGivesItsMeanRewardWithoutQuarantinedRolloutsAndItsBetaAndActiveSet()
    {
        var formed = new BatchFormed(7, "basis", [0, 1, 2, 3], ["a", "b", "c", "d"], [0, 0, 0, 0], [1, 0, 1, 1], [false, false, false, true], [1, 1, 1, 1], [8, 8, 8, 8], new double[4], new double[4], 0.75, 3);

        ChartPoint[] points = [.. JournalPoints.From(formed)];

        Assert.Equal(
            [new ChartPoint(DashboardSeries.Reward, 7, 2.0 / 3), new ChartPoint(DashboardSeries.Beta, 7, 0.75), new ChartPoint(DashboardSeries.ActiveSet, 7, 3)],
            points);
    }

    [Fact]
    public void AnEstimatorWithoutBetaOrActiveSetGivesOnlyTheReward()
    {
        var formed = new BatchFormed(0, "grpo:2", [0, 1], ["a", "a"], [0, 1], [0, 0], [true, true], [-1, -1], [-1, -1], new double[2], new double[2], null, null);

        Assert.Equal([new ChartPoint(DashboardSeries.Reward, 0, 0)], JournalPoints.From(formed));
    }

    [Fact]
    public void APolicyUpdateGivesItsLossGradientNormAndHeldOutAccuracyOnlyWhenItWasEvaluated()
    {
        Assert.Equal(
            [new ChartPoint(DashboardSeries.Loss, 4, 0.125), new ChartPoint(DashboardSeries.GradNorm, 4, 1.5), new ChartPoint(DashboardSeries.HeldOutAccuracy, 4, 0.5)],
            JournalPoints.From(new PolicyUpdated(5, 4, null, 0.125, 1.5, 1e-4, 0.3, 0.5)));
        Assert.Equal(
            [new ChartPoint(DashboardSeries.Loss, 5, 0.125), new ChartPoint(DashboardSeries.GradNorm, 5, 2)],
            JournalPoints.From(new PolicyUpdated(6, 5, null, 0.125, 2, 1e-4, 0.3, null)));
        Assert.Empty(JournalPoints.From(new RewardAssigned(1, 0, 1, "ok", false)));
    }

    [Fact]
    public void TheRewardPointIsTheMeanOfTheRolloutsThatAreNotQuarantined()
    {
        Prop.ForAll(
            Gen.Elements(0.0, 0.5, 1.0).ArrayOf().Where(a => a.Length > 0).ToArbitrary(),
            Gen.Elements(false, true).ArrayOf().ToArbitrary(),
            (rewards, flags) =>
            {
                bool[] quarantined = [.. rewards.Select((_, i) => i < flags.Length && flags[i])];
                int n = rewards.Length;
                var formed = new BatchFormed(3, "basis", new int[n], new string[n], new int[n], rewards, quarantined, new int[n], new int[n], new double[n], new double[n], null, null);
                double[] kept = [.. rewards.Where((_, i) => !quarantined[i])];
                ChartPoint reward = Assert.Single(JournalPoints.From(formed));
                return reward.Y == (kept.Length == 0 ? 0 : kept.Average());
            }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void MetricsGiveTokensPerSecondAndTheEvaluationBeforeRl()
    {
        string[] header = Basis.Training.Run.MetricsFile.Header.Split(',');
        string[][] rows =
        [
            Basis.Training.Run.MetricsFile.Format(new(-1, 0, 0, double.NaN, 0.5, null, null, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, 0)).Split(','),
            Basis.Training.Run.MetricsFile.Format(new(0, 4, 1, 0.5, null, 0.7, 4, 0.1, 0.2, 1e-4, 0.3, 3200.5, 0)).Split(','),
            Basis.Training.Run.MetricsFile.Format(new(1, 8, 2, 0.5, 0.6, 0.7, 4, 0.1, 0.2, 1e-4, 0.3, 3100, 0)).Split(','),
        ];

        Assert.Equal(
            [
                new ChartPoint(DashboardSeries.HeldOutAccuracy, -1, 0.5),
                new ChartPoint(DashboardSeries.TokensPerSecond, 0, 3200.5),
                new ChartPoint(DashboardSeries.TokensPerSecond, 1, 3100),
            ],
            MetricsPoints.From(header, rows));
    }

    [Fact]
    public void ValueMseIsOneSeriesPerEstimatorAtTheCheckpointsMseBenchMeasured()
    {
        const string Json = """
            {"source":"run","checkpoints":[
              {"label":"step 50","step":50,"results":[{"estimator":"basis","mse":0.012,"ci95":[0.01,0.014]},{"estimator":"reinforce++","mse":0.09,"ci95":[0.08,0.1]}]},
              {"label":"step 400","step":400,"results":[{"estimator":"basis","mse":0.02},{"estimator":"grpo:8","mse":null}]}]}
            """;

        Assert.Equal(
            [new ChartPoint("value_mse:basis", 50, 0.012), new ChartPoint("value_mse:reinforce++", 50, 0.09), new ChartPoint("value_mse:basis", 400, 0.02)],
            ValueMseFile.Parse(Json));
        Assert.Empty(ValueMseFile.Parse("{}"));
        Assert.ThrowsAny<System.Text.Json.JsonException>(() => ValueMseFile.Parse("{\"checkpoints\": ["));
    }

    [Fact]
    public void QueueDepthsAreOneSeriesPerStageOfTheStagesWithAQueue()
    {
        string folder = Directory.CreateTempSubdirectory("basis-dashboard-queues").FullName;
        try
        {
            var log = new QueueDepthLog(folder);
            log.Append(0, [Stage("generator", depth: 3, capacity: 8), Stage("learner", depth: 0, capacity: 0)]);
            log.Append(1, [Stage("generator", depth: 5, capacity: 8), Stage("verifier", depth: 1, capacity: 8)]);

            CsvChunk chunk = new CsvTail(log.Path).ReadAppended()!;

            Assert.Equal(QueueDepthLog.Header.Split(','), chunk.Header);
            Assert.Equal(
                [new ChartPoint("queue:generator", 0, 3), new ChartPoint("queue:generator", 1, 5), new ChartPoint("queue:verifier", 1, 1)],
                QueueDepthLog.Points(chunk.Header, chunk.Rows));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static Basis.Training.Graph.Monitoring.StageMetricsSnapshot Stage(string name, int depth, int capacity) =>
        new(name, "flow", Basis.Training.Graph.Monitoring.StageStatus.Running, 0, 0, 0, depth, depth, capacity, 0, 0);
}
