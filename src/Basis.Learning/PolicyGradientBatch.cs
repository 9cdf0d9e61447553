namespace Basis.Learning;

/// <summary>
/// The response tokens of a batch of sequences laid end to end. Sequence s owns the tokens
/// [Offsets[s], Offsets[s + 1]). Every per-token array has Offsets[^1] entries.
/// </summary>
public sealed class PolicyGradientBatch
{
    public PolicyGradientBatch(int[] offsets, double[] advantages, float[] oldLogProbs, float[]? behaviourLogProbs = null, float[]? referenceLogProbs = null)
    {
        ArgumentNullException.ThrowIfNull(offsets);
        ArgumentNullException.ThrowIfNull(advantages);
        ArgumentNullException.ThrowIfNull(oldLogProbs);
        if (offsets.Length < 1 || offsets[0] != 0)
        {
            throw new ArgumentException("offsets must start at 0.", nameof(offsets));
        }

        for (int s = 1; s < offsets.Length; s++)
        {
            if (offsets[s] < offsets[s - 1])
            {
                throw new ArgumentException($"offsets must not decrease (sequence {s - 1}).", nameof(offsets));
            }
        }

        if (advantages.Length != offsets.Length - 1)
        {
            throw new ArgumentException($"{advantages.Length} advantages for {offsets.Length - 1} sequences.", nameof(advantages));
        }

        int tokens = offsets[^1];
        CheckLength(oldLogProbs, tokens, nameof(oldLogProbs));
        CheckLength(behaviourLogProbs, tokens, nameof(behaviourLogProbs));
        CheckLength(referenceLogProbs, tokens, nameof(referenceLogProbs));
        for (int i = 0; i < advantages.Length; i++)
        {
            if (!double.IsFinite(advantages[i]))
            {
                throw new ArgumentException($"advantage of sequence {i} is {advantages[i]}.", nameof(advantages));
            }
        }

        Offsets = offsets;
        Advantages = advantages;
        OldLogProbs = oldLogProbs;
        BehaviourLogProbs = behaviourLogProbs;
        ReferenceLogProbs = referenceLogProbs;
    }

    public int[] Offsets { get; }

    /// <summary>One advantage per sequence, broadcast to its tokens.</summary>
    public double[] Advantages { get; }

    /// <summary>Log-probabilities under the learner's policy before this update (detached).</summary>
    public float[] OldLogProbs { get; }

    /// <summary>Log-probabilities under the generator's (possibly stale) policy; null when on-policy.</summary>
    public float[]? BehaviourLogProbs { get; }

    /// <summary>Log-probabilities under the frozen reference policy, for the k3 KL term.</summary>
    public float[]? ReferenceLogProbs { get; }

    public int SequenceCount => Offsets.Length - 1;

    public int TokenCount => Offsets[^1];

    private static void CheckLength(float[]? values, int tokens, string name)
    {
        if (values is not null && values.Length != tokens)
        {
            throw new ArgumentException($"{name} has {values.Length} entries for {tokens} tokens.", name);
        }
    }
}

/// <summary>The loss of one update, its gradient with respect to each token's log-probability, and diagnostics.</summary>
public sealed record PolicyLossResult(double Loss, float[] LogProbGradient, double ClipFraction, double ApproxKl, double MeanImportanceWeight, double Kl);
