namespace Basis.Estimators;

/// <summary>Where a rollout's baseline came from.</summary>
public enum BaselineSource
{
    /// <summary>A plain statistic (group mean, batch mean, none).</summary>
    Direct,

    /// <summary>BASIS: best linear unbiased estimate over the other active prompts.</summary>
    Blue,

    /// <summary>BASIS: shift-model fallback (too few active prompts, or a near-singular system).</summary>
    ShiftModel,

    /// <summary>BASIS: the prompt left the active set (value within delta of 0 or 1).</summary>
    Inactive,

    /// <summary>BASIS: no other active prompt; the prompt's own value v is the baseline.</summary>
    OwnValue,
}

/// <summary>Per-rollout output.</summary>
/// <param name="Baseline">b_i, the estimator's value estimate for this rollout's prompt.</param>
/// <param name="Advantage">Sequence-level advantage (after optional whitening).</param>
/// <param name="InitialValue">BASIS: the initial value v_i; NaN for estimators without one.</param>
/// <param name="Source">Which rule produced the baseline.</param>
public readonly record struct RolloutEstimate(double Baseline, double Advantage, double InitialValue, BaselineSource Source);

/// <summary>Batch-level diagnostics (fields an estimator does not use are null).</summary>
public sealed record BatchDiagnostics
{
    public required string Estimator { get; init; }

    /// <summary>BASIS: the beta used for this batch's baselines (previous-step, fixed or full-batch).</summary>
    public double? Beta { get; init; }

    /// <summary>BASIS: beta calibrated on this whole batch (used for the next step and the history).</summary>
    public double? CalibratedBeta { get; init; }

    public int? ActiveSetSize { get; init; }

    public int BlueCount { get; init; }

    public int ShiftFallbackCount { get; init; }

    public int InactiveCount { get; init; }

    public int OwnValueCount { get; init; }

    /// <summary>GPG: the rescaling factor alpha.</summary>
    public double? Alpha { get; init; }

    public bool Whitened { get; init; }
}

/// <summary>What an estimator returns for one batch; <see cref="Rollouts"/> is in batch order.</summary>
public sealed class AdvantageResult
{
    public AdvantageResult(RolloutEstimate[] rollouts, BatchDiagnostics diagnostics, double[][]? tokenAdvantages = null)
    {
        Rollouts = rollouts;
        Diagnostics = diagnostics;
        TokenAdvantages = tokenAdvantages;
    }

    public IReadOnlyList<RolloutEstimate> Rollouts { get; }

    public BatchDiagnostics Diagnostics { get; }

    /// <summary>
    /// Per-token advantages when the estimator produces them (REINFORCE++ with per-token KL); otherwise null
    /// and the sequence advantage is broadcast to every token.
    /// </summary>
    public IReadOnlyList<IReadOnlyList<double>>? TokenAdvantages { get; }
}
