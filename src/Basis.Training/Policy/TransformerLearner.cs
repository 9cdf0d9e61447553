using Basis.Learning;
using Basis.Model;
using Basis.Model.Optim;
using Basis.Training.Graph;

namespace Basis.Training.Policy;

/// <summary>Settings of the learner's optimisation.</summary>
public sealed record LearnerOptions
{
    public float LearningRate { get; init; } = 2e-4f;

    public float MinLearningRate { get; init; } = 2e-5f;

    public int WarmupSteps { get; init; } = 5;

    public int TotalSteps { get; init; } = 200;

    public float MaxGradNorm { get; init; } = 1f;

    public float WeightDecay { get; init; }

    /// <summary>
    /// AdamW updates per training batch: the batch is cut into this many slot-ordered minibatches.
    /// With more than one, later minibatches are scored by weights the earlier ones already moved, so
    /// the behaviour policy serves as PPO's "old" policy and the clip bounds how far one batch moves it.
    /// </summary>
    public int Minibatches { get; init; } = 1;

    /// <summary>
    /// 0: the model's matrix products are split across its threads. N ≥ 1: each minibatch is cut into N shards of whole
    /// sequences, scored and back-propagated by one-thread replicas on N threads, gradients summed in shard order
    /// (<see cref="LearnerShards"/>).
    /// </summary>
    public int Shards { get; init; }

    public PolicyLossOptions Loss { get; init; } = new();
}

/// <summary>What one policy update did.</summary>
public sealed record LearnerStepMetrics(
    long Version,
    double Loss,
    float GradNorm,
    float LearningRate,
    double ClipFraction,
    double ApproxKl,
    double MeanEntropy,
    double MeanImportanceWeight,
    double MaxBehaviourGap,
    int Sequences,
    int Tokens);

/// <summary>
/// The learner: scores a step's rollouts under the current weights, turns advantages into a loss,
/// back-propagates it, takes one AdamW step and publishes the next weight version.
/// </summary>
public sealed class TransformerLearner : IPolicyLearner
{
    private readonly IPolicyModel _model;
    private readonly IPolicyOptimizer _optimizer;
    private readonly PolicyLossFunction _loss;
    private readonly LearningRateSchedule _schedule;
    private readonly LearnerOptions _options;
    private readonly int _padId;
    private readonly WeightBoard<PolicyWeights>? _board;
    private readonly IPolicyModel? _reference;
    private readonly LearnerShards? _shards;

    /// <param name="board">Where each new version is published for the generators; null when nothing samples.</param>
    /// <param name="reference">The frozen policy of the k3 KL term (the warm start); required when the loss has a KL coefficient.</param>
    public TransformerLearner(IPolicyModel model, int padId, LearnerOptions options, WeightBoard<PolicyWeights>? board = null, long version = 0, IPolicyOptimizer? optimizer = null, IPolicyModel? reference = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Loss.KlCoefficient > 0 && reference is null)
        {
            throw new ArgumentException("a KL coefficient needs the reference policy.", nameof(reference));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(options.Shards);
        _reference = options.Loss.KlCoefficient > 0 ? reference : null;
        _model = model;
        _shards = options.Shards > 0 ? new LearnerShards(model as TransformerModel ?? throw new ArgumentException("learner shards replicate the built-in model; the other backends parallelise inside their kernels.", nameof(options)), options.Shards) : null;
        _padId = padId;
        _options = options;
        _loss = new PolicyLossFunction(options.Loss);
        _optimizer = optimizer ?? model.CreateOptimizer(new AdamWOptions(WeightDecay: options.WeightDecay));
        _schedule = new LearningRateSchedule(options.LearningRate, options.WarmupSteps, Math.Max(options.TotalSteps, options.WarmupSteps + 1), options.MinLearningRate);
        Version = version;
        _board = board;
        _board?.Publish(version, Snapshot());
    }

    public IPolicyModel Model => _model;

    public IPolicyOptimizer Optimizer => _optimizer;

    /// <summary>The version of the current weights: the number of updates applied since the start.</summary>
    public long Version { get; private set; }

    /// <summary>The detailed metrics of the last update.</summary>
    public LearnerStepMetrics? LastStep { get; private set; }

    public PolicyWeights Snapshot() => PolicyWeights.Capture(_model);

    LearnerSummary IPolicyLearner.Update(TrainingBatch batch)
    {
        LearnerStepMetrics m = Update(batch);
        return new LearnerSummary(m.Version, m.Loss, m.GradNorm, m.LearningRate, m.ClipFraction, m.MeanEntropy, m.Sequences, m.Tokens);
    }

    public LearnerStepMetrics Update(TrainingBatch batch)
    {
        LearnerStepMetrics metrics = Step(batch);
        LastStep = metrics;
        _board?.Publish(Version, Snapshot());
        return metrics;
    }

    private LearnerStepMetrics Step(TrainingBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var trainable = new List<int>();
        for (int i = 0; i < batch.Rollouts.Count; i++)
        {
            VerifiedRollout rollout = batch.Rollouts[i];
            if (!rollout.Quarantined && rollout.Rollout.CompletionTokens.Length > 0)
            {
                trainable.Add(i);
            }
        }

        float learningRate = _schedule.At((int)Math.Min(Version, int.MaxValue));
        if (trainable.Count == 0)
        {
            // Nothing to learn from (every rollout quarantined): the version still advances so
            // generators waiting on it are not stranded.
            Version++;
            return new LearnerStepMetrics(Version, 0, 0, learningRate, 0, 0, 0, 1, 0, 0, 0);
        }

        int minibatches = Math.Clamp(_options.Minibatches, 1, trainable.Count);
        var total = default(MinibatchTotals);
        for (int m = 0; m < minibatches; m++)
        {
            int from = m * trainable.Count / minibatches;
            int to = (m + 1) * trainable.Count / minibatches;
            total.Add(Update(batch, trainable.GetRange(from, to - from), learningRate, behaviourIsOld: minibatches > 1));
        }

        Version++;
        return new LearnerStepMetrics(
            Version,
            total.Loss / minibatches,
            total.LastGradNorm,
            learningRate,
            total.Clipped / total.Tokens,
            total.ApproxKl / total.Tokens,
            total.Entropy / total.Tokens,
            total.ImportanceWeight / total.Tokens,
            total.MaxGap,
            trainable.Count,
            total.Tokens);
    }

    /// <summary>One forward, backward and AdamW update on the rollouts <paramref name="rows"/> of the batch.</summary>
    private MinibatchResult Update(TrainingBatch batch, List<int> rows, float learningRate, bool behaviourIsOld)
    {
        var sequences = new IReadOnlyList<int>[rows.Count];
        var scoreFrom = new int[rows.Count];
        var offsets = new int[rows.Count + 1];
        var advantages = new double[rows.Count];
        for (int k = 0; k < rows.Count; k++)
        {
            Rollout rollout = batch.Rollouts[rows[k]].Rollout;
            sequences[k] = [.. rollout.PromptTokens, .. rollout.CompletionTokens];
            scoreFrom[k] = rollout.PromptTokens.Length;
            offsets[k + 1] = offsets[k] + rollout.CompletionTokens.Length;
            advantages[k] = batch.Estimates[rows[k]].Advantage;
        }

        // One token batch (kernel-parallel) or one per shard; row k of the minibatch is row rowIn[k] of batch shardOf[k].
        int[] bounds = _shards is null ? [0, rows.Count] : LearnerShards.Boundaries([.. sequences.Select(q => q.Count)], _shards.Count);
        var batches = new TokenBatch[bounds.Length - 1];
        var shardOf = new int[rows.Count];
        var rowIn = new int[rows.Count];
        for (int b = 0; b < batches.Length; b++)
        {
            batches[b] = TokenBatch.FromSequences(sequences[bounds[b]..bounds[b + 1]], scoreFrom[bounds[b]..bounds[b + 1]], _padId);
            for (int k = bounds[b]; k < bounds[b + 1]; k++)
            {
                shardOf[k] = b;
                rowIn[k] = k - bounds[b];
            }
        }

        IScoredBatch[] passes = _shards is null ? [_model.Score(batches[0])] : _shards.Forward((TransformerModel)_model, batches);
        float[][]? referenceLogp = _reference is null ? null : [.. batches.Select(b => _reference.Score(b).TokenLogp)];

        // Gather the scored positions row by row: they are exactly the completion tokens, in order.
        int total = offsets[^1];
        var logp = new float[total];
        var behaviour = new float[total];
        var positions = new int[total];
        float[]? reference = _reference is null ? null : new float[total];
        double entropy = 0;
        double maxGap = 0;
        for (int k = 0; k < rows.Count; k++)
        {
            Rollout rollout = batch.Rollouts[rows[k]].Rollout;
            IScoredBatch pass = passes[shardOf[k]];
            int row = rowIn[k] * batches[shardOf[k]].SeqLen;
            for (int j = 0; j < rollout.CompletionTokens.Length; j++)
            {
                int position = row + scoreFrom[k] - 1 + j;
                int flat = offsets[k] + j;
                positions[flat] = position;
                logp[flat] = pass.TokenLogp[position];
                behaviour[flat] = rollout.BehaviourLogProbs[j];
                if (reference is not null)
                {
                    reference[flat] = referenceLogp![shardOf[k]][position];
                }

                entropy += pass.Entropy[position];
                if (rollout.PolicyVersion == Version)
                {
                    maxGap = Math.Max(maxGap, Math.Abs(logp[flat] - behaviour[flat]));
                }
            }
        }

        // With one update per batch the proximal ("old") policy is the current one, so PPO's ratio is 1
        // and clipping only matters through the truncated importance weights of stale rollouts. With
        // several, the behaviour policy is the old one and the ratio clip does the work.
        PolicyGradientBatch gradientBatch = behaviourIsOld
            ? new PolicyGradientBatch(offsets, advantages, behaviour, referenceLogProbs: reference)
            : new PolicyGradientBatch(offsets, advantages, (float[])logp.Clone(), behaviour, reference);
        PolicyLossResult result = _loss.Compute(gradientBatch, logp);

        float[][] dLogp = [.. batches.Select(b => new float[b.TokenCount])];
        for (int k = 0; k < rows.Count; k++)
        {
            for (int t = offsets[k]; t < offsets[k + 1]; t++)
            {
                dLogp[shardOf[k]][positions[t]] = result.LogProbGradient[t];
            }
        }

        if (_shards is null)
        {
            _model.ZeroGradients();
            _model.Backward(passes[0], dLogp[0]);
        }
        else
        {
            _shards.Backward((TransformerModel)_model, [.. passes.Cast<ForwardPass>()], dLogp);
        }

        float norm = _model.ClipGradients(_options.MaxGradNorm);
        _optimizer.Step(learningRate);
        return new MinibatchResult(result, norm, entropy, maxGap, total);
    }

    private readonly record struct MinibatchResult(PolicyLossResult Loss, float GradNorm, double Entropy, double MaxGap, int Tokens);

    private struct MinibatchTotals
    {
        public double Loss;
        public float LastGradNorm;
        public double Clipped;
        public double ApproxKl;
        public double Entropy;
        public double ImportanceWeight;
        public double MaxGap;
        public int Tokens;

        public void Add(MinibatchResult r)
        {
            Loss += r.Loss.Loss;
            LastGradNorm = r.GradNorm;
            Clipped += r.Loss.ClipFraction * r.Tokens;
            ApproxKl += r.Loss.ApproxKl * r.Tokens;
            Entropy += r.Entropy;
            ImportanceWeight += r.Loss.MeanImportanceWeight * r.Tokens;
            MaxGap = Math.Max(MaxGap, r.MaxGap);
            Tokens += r.Tokens;
        }
    }
}
