namespace Basis.Learning;

/// <summary>Which policy-gradient objective turns advantages into a loss.</summary>
public enum PolicyLossKind
{
    /// <summary>PPO-clip on token ratios, optional dual clip.</summary>
    PpoClip,

    /// <summary>GSPO: one clipped ratio per sequence, the geometric mean of its token ratios.</summary>
    Gspo,

    /// <summary>GPG: -logp * A, no ratio and no clip.</summary>
    Gpg,
}

/// <summary>How per-token losses are reduced to one number.</summary>
public enum LossAggregation
{
    /// <summary>Sum over every token of the batch divided by the number of tokens.</summary>
    TokenMean,

    /// <summary>Mean over sequences of each sequence's token mean.</summary>
    SequenceMeanTokenMean,

    /// <summary>Mean over sequences of each sequence's token sum divided by a constant length (Dr.GRPO).</summary>
    SequenceMeanTokenSum,
}

/// <summary>Settings of the policy loss; the defaults are the usual PPO-clip values.</summary>
public sealed record PolicyLossOptions
{
    public PolicyLossKind Kind { get; init; } = PolicyLossKind.PpoClip;

    public LossAggregation Aggregation { get; init; } = LossAggregation.TokenMean;

    public double ClipLow { get; init; } = 0.2;

    public double ClipHigh { get; init; } = 0.28;

    /// <summary>Dual-clip bound c for negative advantages; 0 disables it.</summary>
    public double DualClip { get; init; } = 3.0;

    /// <summary>Cap on the truncated importance weight exp(old - behaviour); 0 disables the correction.</summary>
    public double ImportanceCap { get; init; } = 2.0;

    /// <summary>Coefficient of the k3 KL estimator added to the loss; 0 leaves the reference policy out.</summary>
    public double KlCoefficient { get; init; }

    /// <summary>Length constant that divides a sequence's token sum for <see cref="LossAggregation.SequenceMeanTokenSum"/>.</summary>
    public int ConstantLength { get; init; } = 16;

    public void Validate()
    {
        if (!(ClipLow > 0 && ClipLow < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(ClipLow), ClipLow, "clip-low must lie in (0, 1).");
        }

        if (!(ClipHigh > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(ClipHigh), ClipHigh, "clip-high must be positive.");
        }

        if (DualClip != 0 && !(DualClip > 1))
        {
            throw new ArgumentOutOfRangeException(nameof(DualClip), DualClip, "dual-clip must be 0 (off) or greater than 1.");
        }

        if (ImportanceCap < 0 || KlCoefficient < 0 || ConstantLength <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(ImportanceCap), "importance-cap and kl-coefficient must be non-negative and constant-length positive.");
        }
    }
}
