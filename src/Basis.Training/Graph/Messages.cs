using Basis.Estimators;
using Basis.Tasks;

namespace Basis.Training.Graph;

/// <summary>One rollout to generate: slot <see cref="Slot"/> of step <see cref="Step"/>.</summary>
/// <param name="Slot">Position within the step's batch (prompt slot times G plus group index).</param>
/// <param name="Seed">Sampling seed derived from (run seed, step, slot): the same rollout whichever generator draws it.</param>
public sealed record WorkItem(long Step, int Slot, int GroupIndex, TaskPrompt Prompt, OfflineCounts? Offline, ulong Seed);

/// <summary>A chunk of one step's work that a generator samples as one batch (KV-cached decoding is batched).</summary>
public sealed record WorkChunk(long Step, IReadOnlyList<WorkItem> Items);

/// <summary>A generated completion with what the learner needs to score it again.</summary>
/// <param name="PromptTokens">Token ids of the prompt as the policy saw it.</param>
/// <param name="CompletionTokens">Sampled token ids (stop token included when one ended the sequence).</param>
/// <param name="BehaviourLogProbs">Log-probability of each sampled token under the generator's weights.</param>
/// <param name="PolicyVersion">Weight version the generator sampled with.</param>
public sealed record Rollout(
    WorkItem Work,
    string Completion,
    int[] PromptTokens,
    int[] CompletionTokens,
    float[] BehaviourLogProbs,
    long PolicyVersion);

/// <summary>A rollout with its verdict. A quarantined rollout gets no gradient and never feeds a baseline.</summary>
public sealed record VerifiedRollout(Rollout Rollout, double Reward, string Reason, bool Quarantined)
{
    public WorkItem Work => Rollout.Work;
}

/// <summary>A complete step: every slot's rollout in slot order, plus the advantages the estimator gave them.</summary>
/// <param name="Estimates">One entry per rollout in <see cref="Rollouts"/>; quarantined rollouts carry advantage 0.</param>
public sealed record TrainingBatch(long Step, IReadOnlyList<VerifiedRollout> Rollouts, IReadOnlyList<RolloutEstimate> Estimates, BatchDiagnostics Diagnostics);
