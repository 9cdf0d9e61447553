using Basis.Model;
using Basis.Model.Checkpoints;
using Basis.Model.Optim;
using Xunit;

namespace Basis.Tests.Shared;

/// <summary>
/// What every <see cref="IPolicyModel"/> must do, checked against the built-in <see cref="TransformerModel"/> on the same
/// weights: scores to 1e-4, gradients to 1e-3 (the largest is above 1), AdamW, KV-cached decoding, weights and checkpoints
/// bit for bit. Each backend's test project derives from it.
/// </summary>
public abstract class PolicyModelContract
{
    private const float ScoreTolerance = 1e-4f;
    private const float GradientTolerance = 1e-3f;

    /// <summary>A model of the implementation under test with these weights.</summary>
    protected abstract IPolicyModel Create(TransformerConfig config, ReadOnlySpan<float> weights);

    /// <summary>A config big enough that heads, layers, padding and the untied head all matter; weights large enough that logits are O(1).</summary>
    public static TransformerConfig Config(bool tied) => new(VocabSize: 13, ModelDim: 16, Layers: 2, Heads: 2, FfnDim: 24, MaxSeqLen: 12, TiedEmbeddings: tied);

    public static TransformerModel Reference(bool tied) => TransformerModel.Create(Config(tied), seed: 11, initStd: 0.3f);

    /// <summary>Right padding, left padding and partial loss masks.</summary>
    public static TokenBatch Batch(int vocab)
    {
        const int b = 3, t = 8;
        var rng = new DeterministicRandom(5);
        var inputs = new int[b * t];
        var targets = new int[b * t];
        var attention = new bool[b * t];
        var loss = new bool[b * t];
        for (int i = 0; i < inputs.Length; i++)
        {
            inputs[i] = (int)(rng.NextUInt64() % (ulong)vocab);
            targets[i] = (int)(rng.NextUInt64() % (ulong)vocab);
            int row = i / t, col = i % t;
            attention[i] = row switch
            {
                0 => true,
                1 => col < t - 3,
                _ => col >= 2,
            };
            loss[i] = attention[i] && col >= 1;
        }

        return new TokenBatch(b, t, inputs, targets, attention, loss);
    }

    public static float[] Upstream(TokenBatch batch)
    {
        var rng = new DeterministicRandom(9);
        return [.. Enumerable.Range(0, batch.TokenCount).Select(i => batch.LossMask[i] ? (float)(rng.NextDouble() * 2 - 1) : 0f)];
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void WeightsCrossTheInterfaceBitForBit(bool tied)
    {
        TransformerModel reference = Reference(tied);
        IPolicyModel model = Create(reference.Config, reference.Weights);
        Assert.Equal(reference.Weights, model.ExportWeights());
        Assert.Equal(reference.ComputeHash(), model.ComputeHash());
        Assert.Throws<ArgumentException>(() => model.WriteWeights(new float[model.Layout.TotalLength - 1]));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ScoresMatchTheBuiltInModel(bool tied)
    {
        TransformerModel reference = Reference(tied);
        IPolicyModel model = Create(reference.Config, reference.Weights);
        TokenBatch batch = Batch(reference.Config.VocabSize);
        ForwardPass expected = reference.Forward(batch);
        IScoredBatch actual = model.Score(batch);
        AssertClose(expected.TokenLogp, actual.TokenLogp, ScoreTolerance, "log-probabilities");
        AssertClose(expected.Entropy, actual.Entropy, ScoreTolerance, "entropies");
        Assert.Contains(expected.TokenLogp, v => Math.Abs(v) > 0.5f);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void GradientsMatchTheBuiltInModel(bool tied)
    {
        TransformerModel reference = Reference(tied);
        IPolicyModel model = Create(reference.Config, reference.Weights);
        TokenBatch batch = Batch(reference.Config.VocabSize);
        float[] upstream = Upstream(batch);
        reference.ZeroGradients();
        reference.Backward(reference.Forward(batch), upstream);
        model.ZeroGradients();
        model.Backward(model.Score(batch), upstream);
        float[] actual = model.ExportGradients();
        float largest = reference.Gradients.Max(Math.Abs);
        Assert.True(largest > 1f, $"the reference gradients are too small for a 1e-3 comparison to mean anything ({largest})");
        foreach (ParameterInfo p in reference.Layout.Entries)
        {
            AssertClose(reference.Gradients.AsSpan(p.Offset, p.Length), actual.AsSpan(p.Offset, p.Length), GradientTolerance, $"the gradient of {p.Name}");
        }

        // A second backward accumulates; zeroing clears.
        model.Backward(model.Score(batch), upstream);
        AssertClose([.. actual.Select(g => 2 * g)], model.ExportGradients(), GradientTolerance, "accumulated gradients");
        model.ZeroGradients();
        Assert.All(model.ExportGradients(), g => Assert.Equal(0f, g));
    }

    [Fact]
    public void ClippingAndAdamWMatchTheBuiltInOptimizer()
    {
        TransformerModel reference = Reference(tied: false);
        IPolicyModel model = Create(reference.Config, reference.Weights);
        TokenBatch batch = Batch(reference.Config.VocabSize);
        float[] upstream = Upstream(batch);
        var options = new AdamWOptions(WeightDecay: 0.1f);
        var referenceOptimizer = new AdamW(reference.Layout, options);
        IPolicyOptimizer optimizer = model.CreateOptimizer(options);
        for (int step = 0; step < 3; step++)
        {
            reference.ZeroGradients();
            reference.Backward(reference.Forward(batch), upstream);
            float expectedNorm = GradientClipping.ClipGlobalNorm(reference.Gradients, 0.5f);
            referenceOptimizer.Step(reference, 1e-2f);
            model.ZeroGradients();
            model.Backward(model.Score(batch), upstream);
            float norm = model.ClipGradients(0.5f);
            optimizer.Step(1e-2f);
            Assert.True(Math.Abs(norm - expectedNorm) <= 1e-3f * expectedNorm, $"step {step}: gradient norm {norm}, built-in {expectedNorm}");
        }

        Assert.Equal(3, optimizer.StepCount);
        AssertClose(reference.Weights, model.ExportWeights(), 1e-4f, "weights after three AdamW steps");
        Assert.Contains(reference.Weights.Zip(Reference(tied: false).Weights), w => Math.Abs(w.First - w.Second) > 1e-2f);
    }

    [Fact]
    public void OptimizerStateExportsAndImportsExactly()
    {
        TransformerModel reference = Reference(tied: true);
        TokenBatch batch = Batch(reference.Config.VocabSize);
        float[] upstream = Upstream(batch);
        IPolicyModel straight = Create(reference.Config, reference.Weights);
        IPolicyOptimizer straightOptimizer = straight.CreateOptimizer(new AdamWOptions());
        IPolicyModel resumed = Create(reference.Config, reference.Weights);
        IPolicyOptimizer first = resumed.CreateOptimizer(new AdamWOptions());
        Step(straight, straightOptimizer);
        Step(resumed, first);
        IPolicyOptimizer second = resumed.CreateOptimizer(new AdamWOptions());
        second.ImportState(first.ExportState());
        Assert.Equal(1, second.StepCount);
        Step(straight, straightOptimizer);
        Step(resumed, second);
        Assert.Equal(straight.ExportWeights(), resumed.ExportWeights());
        Assert.Equal(straightOptimizer.ExportState().SecondMoment, second.ExportState().SecondMoment);
        Assert.Throws<ArgumentException>(() => second.ImportState(new AdamWState(new float[3], new float[3], 1)));

        void Step(IPolicyModel m, IPolicyOptimizer o)
        {
            m.ZeroGradients();
            m.Backward(m.Score(batch), upstream);
            m.ClipGradients(1f);
            o.Step(1e-3f);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void IncrementalDecodingMatchesTheFullForward(bool tied)
    {
        TransformerModel reference = Reference(tied);
        IPolicyModel model = Create(reference.Config, reference.Weights);
        int v = reference.Config.VocabSize;
        int[][] sequences = [[1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12], [3, 1, 4, 1, 5, 9]];
        int[] promptLengths = [3, 1, 2];
        IIncrementalDecoder decoder = model.CreateDecoder(3, 8);

        // Every row gets its prompt (of different lengths), then one token at a time, some rows skipping a round.
        float[] logits = decoder.Prefill([.. new[] { 0, 1, 2 }.Select(r => (IReadOnlyList<int>)sequences[r][..promptLengths[r]])]);
        AssertRowsMatch([0, 1, 2], logits, promptLengths);
        var lengths = (int[])promptLengths.Clone();
        for (int round = 0; round < 3; round++)
        {
            int[] rows = round == 1 ? [1, 2] : [0, 1, 2];
            logits = decoder.Step(rows, [.. rows.Select(r => sequences[r][lengths[r]])]);
            foreach (int r in rows)
            {
                lengths[r]++;
            }

            AssertRowsMatch(rows, logits, lengths);
        }

        Assert.Equal(lengths[0], decoder.Length(0));

        void AssertRowsMatch(int[] rows, float[] actual, int[] fed)
        {
            for (int i = 0; i < rows.Length; i++)
            {
                int r = rows[i];
                int[] prefix = sequences[r][..fed[r]];
                TokenBatch one = TokenBatch.FromSequences([[.. prefix, 0]], [prefix.Length], 0);
                float[] expected = reference.Forward(one).Logits.Slice((prefix.Length - 1) * v, v).ToArray();
                AssertClose(expected, actual.AsSpan(i * v, v), ScoreTolerance, $"row {r}'s logits after {fed[r]} tokens");
            }
        }
    }

    [Fact]
    public void ACloneIsIndependentAndCheckpointsLoadIntoTheBuiltInModel()
    {
        TransformerModel reference = Reference(tied: false);
        IPolicyModel model = Create(reference.Config, reference.Weights);
        IPolicyModel clone = model.ClonePolicy();
        float[] changed = reference.Weights.Select(w => w * 0.5f).ToArray();
        clone.WriteWeights(changed);
        Assert.Equal(reference.Weights, model.ExportWeights());

        using var stream = new MemoryStream();
        ModelCheckpoint.Save(stream, clone, new Dictionary<string, string> { ["policy_version"] = "3" });
        stream.Position = 0;
        TransformerModel loaded = ModelCheckpoint.Load(stream);
        Assert.Equal(changed, loaded.Weights);
        stream.Position = 0;
        IPolicyModel back = Create(reference.Config, new float[reference.Layout.TotalLength]);
        ModelCheckpoint.LoadInto(stream, back);
        Assert.Equal(changed, back.ExportWeights());
    }

    protected static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, float tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        float worst = 0;
        int at = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            float gap = Math.Abs(expected[i] - actual[i]);
            if (!(gap <= worst))
            {
                worst = gap;
                at = i;
            }
        }

        Assert.True(worst <= tolerance, $"{what}: entry {at} differs by {worst} (tolerance {tolerance}): {(at >= 0 ? expected[at] : 0)} vs {(at >= 0 ? actual[at] : 0)}");
    }
}
