using Basis.Model.Optim;
using Basis.Model.Tokenization;
using Basis.Model.Training;

namespace Basis.Model.Tests;

public sealed class TrainingTests
{
    [Fact]
    public void TokenizerRoundTripsAndMapsUnknownCharacters()
    {
        var tok = new CharTokenizer("abc ");
        Assert.Equal(8, tok.VocabSize);
        var ids = tok.Encode("ab c", addBos: true, addEos: true);
        Assert.Equal([tok.BosId, 4, 5, 7, 6, tok.EosId], ids);
        Assert.Equal("ab c", tok.Decode(ids));
        Assert.Equal("<bos>ab c<eos>", tok.Decode(ids, keepSpecial: true));
        Assert.Equal([tok.UnknownId], tok.Encode("z"));
        Assert.Equal("7+5=12\n", CharTokenizer.Ascii.Decode(CharTokenizer.Ascii.Encode("7+5=12\n")));
        Assert.Throws<ArgumentOutOfRangeException>(() => tok.Decode([42]));
    }

    [Fact]
    public void ScheduleWarmsUpThenDecaysToTheMinimum()
    {
        var s = new LearningRateSchedule(1f, WarmupSteps: 4, TotalSteps: 14, MinRate: 0.1f);
        Assert.Equal(0.25f, s.At(0));
        Assert.Equal(1f, s.At(3));
        Assert.Equal(1f, s.At(4), 1e-6f);
        Assert.Equal(0.55f, s.At(9), 1e-6f);
        Assert.Equal(0.1f, s.At(14), 1e-6f);
        Assert.Equal(0.1f, s.At(100), 1e-6f);
    }

    [Fact]
    public void ClippingScalesToTheMaximumNorm()
    {
        var g = new[] { 3f, 4f };
        Assert.Equal(5f, GradientClipping.ClipGlobalNorm(g, 1f));
        Assert.Equal([0.6f, 0.8f], g);
        Assert.Equal(1f, GradientClipping.ClipGlobalNorm(g, 2f), 1e-6f);
        Assert.Equal([0.6f, 0.8f], g);
    }

    [Fact]
    public void AdamWFirstStepMovesBySignTimesRateAndDecaysOnlyMatrices()
    {
        var layout = ParameterLayout.Create(TestModels.Tiny());
        var weights = new float[layout.TotalLength];
        Array.Fill(weights, 1f);
        var grads = new float[layout.TotalLength];
        Array.Fill(grads, -2f);
        new AdamW(layout, new AdamWOptions(WeightDecay: 0.5f, Epsilon: 0f)).Step(weights, grads, 0.1f);
        var norm = layout["norm"];
        var wq = layout["layers.0.wq"];
        Assert.Equal(1.1f, weights[norm.Offset], 1e-6f);
        Assert.Equal(1f - 0.1f * 0.5f + 0.1f, weights[wq.Offset], 1e-6f);
    }

    [Fact]
    public void SftLearnsAFixedMappingAndReportsProgress()
    {
        var tok = new CharTokenizer("0123456789+=");
        var model = TransformerModel.Create(new TransformerConfig(tok.VocabSize, 32, 2, 2, 48, 16), seed: 2);
        var examples = Enumerable.Range(0, 8).Select(i => new SftExample($"{i}+1=", $"{i + 1}")).ToList();
        var reports = new List<SftProgress>();
        var metrics = SftTrainer.Train(model, tok, examples, new SftOptions(Epochs: 60, BatchSize: 8, LearningRate: 1e-2f, WarmupSteps: 5), new SyncProgress(reports.Add), TestContext.Current.CancellationToken);
        Assert.Equal(60, metrics.Steps);
        Assert.Equal(60, reports.Count);
        Assert.Equal(reports[^1].Loss, metrics.FinalLoss);
        Assert.True(metrics.FinalLoss < 0.2f * metrics.FirstLoss, $"loss went from {metrics.FirstLoss} to {metrics.FinalLoss}");
    }

    [Fact]
    public void SftStopsAfterTheStepWhoseCheckSaysSoAndMatchesAnUnstoppedRunUpToThere()
    {
        var tok = new CharTokenizer("0123456789+=");
        var examples = Enumerable.Range(0, 8).Select(i => new SftExample($"{i}+1=", $"{i + 1}")).ToList();
        var options = new SftOptions(Epochs: 20, BatchSize: 4, LearningRate: 1e-2f, WarmupSteps: 5);
        var stopped = TransformerModel.Create(new TransformerConfig(tok.VocabSize, 32, 1, 2, 48, 16), seed: 2);
        var full = stopped.Clone();
        var checkedSteps = new List<int>();
        var reports = new List<SftProgress>();
        SftMetrics metrics = SftTrainer.Train(stopped, tok, examples, options, new SyncProgress(reports.Add), TestContext.Current.CancellationToken, step =>
        {
            checkedSteps.Add(step);
            return step == 7;
        });

        Assert.Equal(7, metrics.Steps);
        Assert.Equal([1, 2, 3, 4, 5, 6, 7], checkedSteps);
        // The schedule still spans every step: the stopped run reports the same rates as the full run's first seven.
        var fullReports = new List<SftProgress>();
        SftMetrics all = SftTrainer.Train(full, tok, examples, options, new SyncProgress(fullReports.Add), TestContext.Current.CancellationToken);
        Assert.Equal(40, all.Steps);
        Assert.Equal(fullReports.Take(7).Select(r => (r.LearningRate, r.Loss)), reports.Select(r => (r.LearningRate, r.Loss)));
        Assert.All(reports, r => Assert.Equal(40, r.TotalSteps));
    }

    [Fact]
    public void ForwardRejectsOutOfRangeTokensAndTooLongBatches()
    {
        var model = TransformerModel.Create(TestModels.Tiny(), seed: 1);
        var ex = Assert.Throws<ArgumentException>(() => model.Forward(TokenBatch.FromSequences([[1, 50]], [0], 0)));
        Assert.Contains("target token id 50", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => model.Forward(TokenBatch.FromSequences([Enumerable.Repeat(1, 20).ToArray()], [0], 0)));
        Assert.Throws<ArgumentException>(() => new TransformerConfig(10, 6, 1, 4, 8, 8).Validate());
    }

    private sealed class SyncProgress(Action<SftProgress> report) : IProgress<SftProgress>
    {
        public void Report(SftProgress value) => report(value);
    }
}
