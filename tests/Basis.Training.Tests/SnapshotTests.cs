using Basis.Estimators;
using Basis.Model;
using Basis.Model.Optim;
using Basis.Training.Journal;
using Basis.Training.Run;
using Microsoft.Data.Sqlite;
using Xunit;

namespace Basis.Training.Tests;

/// <summary>Run snapshots: AdamW's state and the whole snapshot survive the journal bit for bit.</summary>
public sealed class SnapshotTests : IDisposable
{
    private static readonly TransformerConfig s_config = new(VocabSize: 12, ModelDim: 16, Layers: 1, Heads: 2, FfnDim: 24, MaxSeqLen: 16);
    private readonly string _directory = Directory.CreateTempSubdirectory("basis-snapshot-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public void AnOptimizerRestoredFromItsExportedStateContinuesBitForBit()
    {
        TransformerModel model = TransformerModel.Create(s_config, seed: 3);
        var original = new AdamW(model.Layout, new AdamWOptions(WeightDecay: 0.1f));
        float[] weights = (float[])model.Weights.Clone();
        var random = new Random(11);
        float[] Gradient() => [.. Enumerable.Range(0, weights.Length).Select(_ => (float)(random.NextDouble() - 0.5))];
        for (int step = 0; step < 3; step++)
        {
            original.Step(weights, Gradient(), 1e-2f);
        }

        var restored = new AdamW(model.Layout, new AdamWOptions(WeightDecay: 0.1f));
        restored.ImportState(original.ExportState());
        float[] twin = (float[])weights.Clone();
        for (int step = 0; step < 3; step++)
        {
            float[] gradient = Gradient();
            original.Step(weights, gradient, 1e-2f);
            restored.Step(twin, gradient, 1e-2f);
        }

        Assert.Equal(6, restored.StepCount);
        Assert.Equal(BitsOf(weights), BitsOf(twin));
        Assert.Throws<ArgumentException>(() => new AdamW(TransformerModel.Create(s_config with { ModelDim = 8 }, 3).Layout).ImportState(original.ExportState()));
    }

    [Fact]
    public async Task ARunSnapshotSurvivesTheJournalAndRestoresWeightsMomentsAndEstimatorState()
    {
        TransformerModel model = TransformerModel.Create(s_config, seed: 4);
        var optimizer = new AdamW(model.Layout);
        var random = new Random(5);
        optimizer.Step(model.Weights, [.. Enumerable.Range(0, model.Weights.Length).Select(_ => (float)random.NextDouble())], 1e-3f);
        var estimator = (IStatefulAdvantageEstimator)EstimatorCatalog.Create("basis");
        estimator.Estimate(new RolloutBatch(0, [.. Enumerable.Range(0, 8).Select(i => new ScoredRollout($"p{i}", 0, i % 3 == 0 ? 1 : 0, Offline: new OfflineCounts(i % 4, 4)))]));
        string state = EstimatorStateJson.Serialize(estimator.ExportState());

        JournalTarget target = JournalTarget.ForRunFolder(_directory);
        await using (TrainingJournal journal = await TrainingJournal.OpenAsync(RunActorSystem.Create(target), target, ownsSystem: true, TestContext.Current.CancellationToken))
        {
            await journal.StartAsync(new RunStarted("basis", "", "hash", null, "table", 4, 7, 8, 1), TestContext.Current.CancellationToken);
            RunSnapshot snapshot = RunSnapshot.Capture(1, 1, journal.AggregatorSequence, journal.LearnerSequence, 7, "hash", model, new TransformerOptimizer(model, optimizer), state, 8, 40, 1.5, double.NaN);
            await journal.SaveSnapshotAsync(snapshot, TestContext.Current.CancellationToken);
        }

        await using TrainingJournal reopened = await TrainingJournal.OpenForResumeAsync(RunActorSystem.Create(target), target, ownsSystem: true, TestContext.Current.CancellationToken);
        await using var events = new JournalQuery(reopened.System, target, ownsSystem: false);
        ResumeState resume = await ResumeState.LoadAsync(reopened, events, TestContext.Current.CancellationToken);
        RunSnapshot loaded = Assert.IsType<RunSnapshot>(resume.Snapshot);
        Assert.Equal(1, resume.NextStep);
        Assert.Empty(resume.Steps);
        Assert.True(double.IsNaN(loaded.LastHeldOutAccuracy));

        TransformerModel fresh = TransformerModel.Create(s_config, seed: 99);
        var freshOptimizer = new AdamW(fresh.Layout);
        var freshEstimator = (IStatefulAdvantageEstimator)EstimatorCatalog.Create("basis");
        loaded.RestoreWeights(fresh);
        loaded.RestoreState(new TransformerOptimizer(fresh, freshOptimizer), freshEstimator);

        Assert.Equal(BitsOf(model.Weights), BitsOf(fresh.Weights));
        AdamWState expected = optimizer.ExportState();
        AdamWState actual = freshOptimizer.ExportState();
        Assert.Equal(BitsOf(expected.FirstMoment), BitsOf(actual.FirstMoment));
        Assert.Equal(BitsOf(expected.SecondMoment), BitsOf(actual.SecondMoment));
        Assert.Equal(expected.StepCount, actual.StepCount);
        Assert.Equal(state, EstimatorStateJson.Serialize(freshEstimator.ExportState()));
    }

    [Fact]
    public void ASnapshotOfAnotherModelShapeIsRefusedWithAClearMessage()
    {
        TransformerModel model = TransformerModel.Create(s_config, seed: 4);
        RunSnapshot snapshot = RunSnapshot.Capture(5, 5, 0, 0, 7, "hash", model, model.CreateOptimizer(new AdamWOptions()), null, 0, 0, 0, 0);

        var error = Assert.Throws<InvalidOperationException>(() => snapshot.RestoreWeights(TransformerModel.Create(s_config with { ModelDim = 8 }, 4)));

        Assert.Contains("step 4", error.Message, StringComparison.Ordinal);
    }

    private static int[] BitsOf(float[] values) => [.. values.Select(BitConverter.SingleToInt32Bits)];
}
