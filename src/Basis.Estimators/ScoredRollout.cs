namespace Basis.Estimators;

/// <summary>Offline evidence for a prompt: successes out of samples drawn from the reference policy.</summary>
public readonly record struct OfflineCounts(int Successes, int Samples)
{
    public double PassRate => Samples > 0 ? (double)Successes / Samples : double.NaN;
}

/// <summary>One scored rollout as the estimators see it.</summary>
/// <param name="PromptId">Identifies the prompt; rollouts with the same id in a batch form a group.</param>
/// <param name="GroupIndex">Position of the rollout within its prompt's group (informational).</param>
/// <param name="Reward">Verifier reward; must be finite.</param>
/// <param name="TokenKl">Optional per-token k1 KL (log pi - log pi_ref); used by REINFORCE++.</param>
/// <param name="OfflinePassRate">Optional offline pass rate p0 when counts are not known.</param>
/// <param name="Offline">Optional offline counts; preferred over <paramref name="OfflinePassRate"/>.</param>
public readonly record struct ScoredRollout(
    string PromptId,
    int GroupIndex,
    double Reward,
    ReadOnlyMemory<double> TokenKl = default,
    double? OfflinePassRate = null,
    OfflineCounts? Offline = null);

/// <summary>The rollouts of one training step.</summary>
public sealed class RolloutBatch
{
    public RolloutBatch(long step, IReadOnlyList<ScoredRollout> rollouts)
    {
        ArgumentNullException.ThrowIfNull(rollouts);
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        Step = step;
        Rollouts = rollouts;
    }

    /// <summary>Training step; stateful estimators measure the age of their history in steps.</summary>
    public long Step { get; }

    public IReadOnlyList<ScoredRollout> Rollouts { get; }

    public int Count => Rollouts.Count;

    /// <summary>Refuses NaN or infinite rewards, naming the offending rollout.</summary>
    public void EnsureFiniteRewards()
    {
        for (int i = 0; i < Rollouts.Count; i++)
        {
            ScoredRollout rollout = Rollouts[i];
            if (!double.IsFinite(rollout.Reward))
            {
                throw new ArgumentException(
                    $"Rollout {i} (prompt '{rollout.PromptId}', group index {rollout.GroupIndex}) has a non-finite reward ({rollout.Reward}).",
                    nameof(Rollouts));
            }

            if (rollout.OfflinePassRate is double p && !(p >= 0 && p <= 1))
            {
                throw new ArgumentException(
                    $"Rollout {i} (prompt '{rollout.PromptId}') has offline pass rate {p}; it must lie in [0, 1].",
                    nameof(Rollouts));
            }

            if (rollout.Offline is OfflineCounts c && (c.Samples < 0 || c.Successes < 0 || c.Successes > c.Samples))
            {
                throw new ArgumentException(
                    $"Rollout {i} (prompt '{rollout.PromptId}') has offline counts {c.Successes}/{c.Samples}; need 0 <= successes <= samples.",
                    nameof(Rollouts));
            }

            ReadOnlySpan<double> kl = rollout.TokenKl.Span;
            for (int t = 0; t < kl.Length; t++)
            {
                if (!double.IsFinite(kl[t]))
                {
                    throw new ArgumentException(
                        $"Rollout {i} (prompt '{rollout.PromptId}') has a non-finite KL at token {t}.",
                        nameof(Rollouts));
                }
            }
        }
    }
}
