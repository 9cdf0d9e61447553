using Basis.Estimators;

namespace Basis.Training.Graph;

/// <summary>Generates the rollouts of one chunk of work. A worker owns its policy replica; it is recreated on restart.</summary>
public interface IRolloutWorker
{
    /// <summary>
    /// Waits until the worker may sample <paramref name="chunk"/> (e.g. for weights the staleness bound allows). The
    /// graph awaits it before <see cref="GenerateAsync"/>, so a local worker's sampling then runs synchronously on
    /// its generator's own dispatcher thread, not on whichever thread completed the wait.
    /// </summary>
    ValueTask PrepareAsync(WorkChunk chunk, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    ValueTask<IReadOnlyList<Rollout>> GenerateAsync(WorkChunk chunk, CancellationToken cancellationToken);
}

/// <summary>Takes one policy-gradient step per training batch and publishes the next weight version.</summary>
public interface IPolicyLearner
{
    long Version { get; }

    LearnerSummary Update(TrainingBatch batch);
}

/// <summary>The learner's own account of a step, whatever the policy behind it.</summary>
public sealed record LearnerSummary(long Version, double Loss, double GradNorm, double LearningRate, double ClipFraction, double MeanEntropy, int Sequences, int Tokens);

/// <summary>Everything the run's observers (progress display, metrics file, journal) learn about a finished step.</summary>
public sealed record StepReport(TrainingBatch Batch, LearnerSummary Learner, int Quarantined, int Filtered, TimeSpan Elapsed)
{
    public long Step => Batch.Step;

    public double MeanReward => Batch.Rollouts.Where(r => !r.Quarantined).Select(r => r.Reward).DefaultIfEmpty(0).Average();

    public BatchDiagnostics Diagnostics => Batch.Diagnostics;
}
