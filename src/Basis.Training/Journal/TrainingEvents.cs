namespace Basis.Training.Journal;

// The events of a training run. Each record is versioned by its registration in
// TrainingJournal (manifest "Name.vN"); a change of shape gets a new version and an upcaster.

/// <summary>The start of a run: what produced the events that follow.</summary>
public sealed record RunStarted(string Estimator, string EstimatorSettings, string PolicyHash, string? TaskSetHash, string OfflineTable, int SamplesPerPrompt, ulong Seed, int BatchSize, int RolloutsPerPrompt);

/// <summary>A rollout as its generator produced it.</summary>
public sealed record RolloutGenerated(long Step, int Slot, int GroupIndex, string PromptId, string Completion, int[] CompletionTokens, float[] BehaviourLogProbs, long PolicyVersion);

/// <summary>The verifier's verdict on a rollout; a quarantined rollout gets no gradient and feeds no baseline.</summary>
public sealed record RewardAssigned(long Step, int Slot, double Reward, string Reason, bool Quarantined);

/// <summary>
/// A complete step as the aggregator formed it: every rollout the learner saw, in slot order, with the
/// reward, offline counts and the estimator's baseline and advantage. Enough to recompute the advantages.
/// </summary>
public sealed record BatchFormed(
    long Step,
    string Estimator,
    int[] Slots,
    string[] PromptIds,
    int[] GroupIndices,
    double[] Rewards,
    bool[] Quarantined,
    int[] OfflineSuccesses,
    int[] OfflineSamples,
    double[] Baselines,
    double[] Advantages,
    double? Beta,
    int? ActiveSetSize);

/// <summary>The learner's update that produced weight version <see cref="Version"/>.</summary>
public sealed record PolicyUpdated(long Version, long Step, string? Checkpoint, double Loss, double GradNorm, double LearningRate, double Entropy, double? HeldOutAccuracy);
