using Basis.Estimators;
using Basis.Model;
using Basis.Tasks;
using Basis.Training.Graph;
using Basis.Training.Policy;
using FsCheck;
using FsCheck.Fluent;
using Xunit;

namespace Basis.Training.Tests;

public class TransformerLearnerTests
{
    [Fact]
    public void AnUpdateRaisesTheLikelihoodOfPositiveAdvantageRolloutsAndLowersTheNegativeOnes()
    {
        var config = new TransformerConfig(VocabSize: 12, ModelDim: 16, Layers: 1, Heads: 2, FfnDim: 24, MaxSeqLen: 16);
        TransformerModel model = TransformerModel.Create(config, seed: 5);
        var board = new WeightBoard<PolicyWeights>();
        var learner = new TransformerLearner(model, padId: 0, new LearnerOptions { LearningRate = 1e-2f, MinLearningRate = 1e-2f, WarmupSteps = 0, TotalSteps = 10 }, board);
        int[] prompt = [1, 4, 5];
        int[] good = [6, 7, 2];
        int[] bad = [8, 9, 2];
        float[] before = [SequenceLogp(model, prompt, good), SequenceLogp(model, prompt, bad)];

        VerifiedRollout Rollout(int slot, int[] completion, double reward) =>
            new(new Rollout(new WorkItem(0, slot, 0, new TaskPrompt($"p{slot}", "x", "y", "easy", "exact"), null, 0), "c", prompt, completion, TokenLogps(model, prompt, completion), 0), reward, "r", false);

        var batch = new TrainingBatch(
            0,
            [Rollout(0, good, 1), Rollout(1, bad, 0)],
            [new RolloutEstimate(0.5, 0.5, double.NaN, BaselineSource.Direct), new RolloutEstimate(0.5, -0.5, double.NaN, BaselineSource.Direct)],
            new BatchDiagnostics { Estimator = "test" });

        LearnerStepMetrics metrics = learner.Update(batch);

        Assert.True(SequenceLogp(model, prompt, good) > before[0], "the positive-advantage completion became less likely");
        Assert.True(SequenceLogp(model, prompt, bad) < before[1], "the negative-advantage completion became more likely");
        Assert.Equal(1, metrics.Version);
        Assert.Equal(1, board.LatestVersion);
        Assert.True(metrics.MaxBehaviourGap < 1e-4, $"behaviour log-probabilities differ from the learner's by {metrics.MaxBehaviourGap}");
        Assert.Equal(1.0, metrics.MeanImportanceWeight, 4);
    }

    [Fact]
    public void MinibatchesTakeOneUpdateEachAndClipAgainstTheBehaviourPolicy()
    {
        var config = new TransformerConfig(VocabSize: 12, ModelDim: 16, Layers: 1, Heads: 2, FfnDim: 24, MaxSeqLen: 16);
        TransformerModel model = TransformerModel.Create(config, seed: 5);
        var learner = new TransformerLearner(model, padId: 0, new LearnerOptions { LearningRate = 5e-2f, MinLearningRate = 5e-2f, WarmupSteps = 0, TotalSteps = 10, Minibatches = 2 });
        int[] prompt = [1, 4, 5];
        int[] good = [6, 7, 2];
        float before = SequenceLogp(model, prompt, good);
        float[] behaviour = TokenLogps(model, prompt, good);

        VerifiedRollout Rollout(int slot) =>
            new(new Rollout(new WorkItem(0, slot, 0, new TaskPrompt($"p{slot}", "x", "y", "easy", "exact"), null, 0), "c", prompt, good, behaviour, 0), 1, "r", false);

        var batch = new TrainingBatch(
            0,
            [Rollout(0), Rollout(1)],
            [new RolloutEstimate(0, 1, double.NaN, BaselineSource.Direct), new RolloutEstimate(0, 1, double.NaN, BaselineSource.Direct)],
            new BatchDiagnostics { Estimator = "test" });

        LearnerStepMetrics metrics = learner.Update(batch);

        Assert.Equal(2, learner.Optimizer.StepCount);
        Assert.Equal(1, metrics.Version);
        Assert.True(SequenceLogp(model, prompt, good) > before, "the positive-advantage completion became less likely");

        // The second minibatch is scored by weights the first moved far: the ratio clip stops its gradient.
        Assert.True(metrics.ClipFraction > 0, "the second minibatch was not clipped against the behaviour policy");
    }

    [Fact]
    public void TheKlTermPullsThePolicyBackTowardsItsReference()
    {
        var config = new TransformerConfig(VocabSize: 12, ModelDim: 16, Layers: 1, Heads: 2, FfnDim: 24, MaxSeqLen: 16);
        TransformerModel model = TransformerModel.Create(config, seed: 5);
        TransformerModel reference = model.Clone();
        int[] prompt = [1, 4, 5];
        int[] good = [6, 7, 2];
        TrainingBatch Batch(double advantage) => new(
            0,
            [new(new Rollout(new WorkItem(0, 0, 0, new TaskPrompt("p0", "x", "y", "easy", "exact"), null, 0), "c", prompt, good, TokenLogps(model, prompt, good), 0), 1, "r", false)],
            [new RolloutEstimate(0, advantage, double.NaN, BaselineSource.Direct)],
            new BatchDiagnostics { Estimator = "test" });

        // Move the policy away from the reference, then take a KL-only step (advantage 0).
        new TransformerLearner(model, padId: 0, new LearnerOptions { LearningRate = 5e-2f, MinLearningRate = 5e-2f, WarmupSteps = 0, TotalSteps = 10 }).Update(Batch(1));
        float gap = SequenceLogp(model, prompt, good) - SequenceLogp(reference, prompt, good);
        var options = new LearnerOptions { LearningRate = 5e-2f, MinLearningRate = 5e-2f, WarmupSteps = 0, TotalSteps = 10, Loss = new Basis.Learning.PolicyLossOptions { KlCoefficient = 1 } };
        new TransformerLearner(model, padId: 0, options, reference: reference).Update(Batch(0));
        float after = SequenceLogp(model, prompt, good) - SequenceLogp(reference, prompt, good);

        Assert.True(gap > 0, "the first step did not move the policy");
        Assert.True(Math.Abs(after) < Math.Abs(gap), $"the KL step moved the log-likelihood gap from {gap} to {after}");
        Assert.Throws<ArgumentException>(() => new TransformerLearner(model, padId: 0, options));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ShardedUpdatesMatchTheKernelParallelUpdateAndRepeatThemselves(bool withKl)
    {
        var config = new TransformerConfig(VocabSize: 12, ModelDim: 16, Layers: 2, Heads: 2, FfnDim: 24, MaxSeqLen: 16);
        TransformerModel start = TransformerModel.Create(config, seed: 9);
        var random = new Random(3);
        var rollouts = new List<VerifiedRollout>();
        var estimates = new List<RolloutEstimate>();
        for (int slot = 0; slot < 11; slot++)
        {
            // Prompts and completions of different lengths, so the shards pad differently from the whole batch.
            int[] prompt = [1, .. Enumerable.Range(0, 1 + random.Next(5)).Select(_ => 3 + random.Next(8))];
            int[] completion = [.. Enumerable.Range(0, 1 + random.Next(6)).Select(_ => 3 + random.Next(8)), 2];
            rollouts.Add(new(new Rollout(new WorkItem(0, slot, 0, new TaskPrompt($"p{slot}", "x", "y", "easy", "exact"), null, 0), "c", prompt, completion, TokenLogps(start, prompt, completion), 0), slot % 2, "r", false));
            estimates.Add(new RolloutEstimate(0.5, random.NextDouble() - 0.5, double.NaN, BaselineSource.Direct));
        }

        var batch = new TrainingBatch(0, rollouts, estimates, new BatchDiagnostics { Estimator = "test" });
        var loss = new Basis.Learning.PolicyLossOptions { KlCoefficient = withKl ? 0.1 : 0 };
        (TransformerModel Model, LearnerStepMetrics Metrics) Train(int shards)
        {
            TransformerModel model = start.Clone();
            TransformerModel reference = start.Clone();
            reference.CopyWeightsFrom(TransformerModel.Create(config, seed: 10)); // a reference the policy differs from
            var learner = new TransformerLearner(model, padId: 0, new LearnerOptions { LearningRate = 1e-2f, MinLearningRate = 1e-2f, WarmupSteps = 0, TotalSteps = 10, Shards = shards, Loss = loss }, reference: reference);
            return (model, learner.Update(batch));
        }

        (TransformerModel kernel, LearnerStepMetrics kernelMetrics) = Train(0);
        (TransformerModel sharded, LearnerStepMetrics shardedMetrics) = Train(3);
        (TransformerModel again, _) = Train(3);

        // The same gradient up to the order of float sums (the gradients left in the model are the clipped ones the step used).
        float scale = kernel.Gradients.Max(Math.Abs);
        Assert.True(scale > 0);
        for (int i = 0; i < kernel.Gradients.Length; i++)
        {
            Assert.True(Math.Abs(kernel.Gradients[i] - sharded.Gradients[i]) <= 1e-4f * scale, $"gradient {i}: {kernel.Gradients[i]} kernel-parallel, {sharded.Gradients[i]} sharded");
        }

        Assert.Equal(kernelMetrics.Loss, shardedMetrics.Loss, 5);
        Assert.Equal(kernelMetrics.MeanEntropy, shardedMetrics.MeanEntropy, 5);
        Assert.Equal(kernelMetrics.Tokens, shardedMetrics.Tokens);
        Assert.Equal(sharded.Weights, again.Weights); // deterministic for a given shard count
    }

    [Fact]
    public void ShardBoundariesAreContiguousNonEmptyAndBalancedByTokens()
    {
        Prop.ForAll(
            Arb.From(from n in Gen.Choose(1, 40) from lengths in Gen.ArrayOf(Gen.Choose(1, 30), n) select lengths),
            Arb.From(Gen.Choose(1, 6)),
            (lengths, shards) =>
            {
                int[] bounds = LearnerShards.Boundaries(lengths, shards);
                int total = lengths.Sum();
                bool contiguous = bounds[0] == 0 && bounds[^1] == lengths.Length && bounds.Zip(bounds.Skip(1)).All(p => p.First < p.Second);
                bool balanced = bounds.Zip(bounds.Skip(1)).All(p => lengths[p.First..p.Second].Sum() <= ((double)total / shards) + lengths.Max());
                // Every shard is used unless one sequence alone is worth a whole shard's share.
                bool allUsed = lengths.Max() * shards >= total || bounds.Length - 1 == shards;
                return contiguous && bounds.Length - 1 <= Math.Min(shards, lengths.Length) && balanced && allUsed;
            }).QuickCheckThrowOnFailure();
    }

    private static float SequenceLogp(TransformerModel model, int[] prompt, int[] completion) => TokenLogps(model, prompt, completion).Sum();

    private static float[] TokenLogps(TransformerModel model, int[] prompt, int[] completion)
    {
        ForwardPass pass = model.Forward(TokenBatch.FromSequences([[.. prompt, .. completion]], [prompt.Length], 0));
        return pass.TokenLogp.Skip(prompt.Length - 1).Take(completion.Length).ToArray();
    }
}
