namespace Basis.Estimators;

/// <summary>Turns a batch of scored rollouts into baselines and advantages.</summary>
/// <remarks>
/// Implementations are deterministic: identical input (and identical imported state) gives bit-identical output,
/// so a replay can recompute advantages and compare them exactly.
/// </remarks>
public interface IAdvantageEstimator
{
    /// <summary>Catalog name, e.g. "basis" or "grpo".</summary>
    string Name { get; }

    /// <summary>Rollouts per prompt (G) the estimator expects each batch to carry.</summary>
    int RolloutsPerPrompt { get; }

    /// <summary>True when b_i never depends on r_i, so the policy gradient stays unbiased.</summary>
    bool BaselineExcludesOwnReward { get; }

    /// <summary>Estimates the batch; a stateful estimator also records the batch in its state.</summary>
    /// <exception cref="ArgumentException">A reward is NaN or infinite (the message names the rollout).</exception>
    AdvantageResult Estimate(RolloutBatch batch);
}

/// <summary>An estimator that carries state across steps (reward history, previous beta, running means).</summary>
public interface IStatefulAdvantageEstimator : IAdvantageEstimator
{
    EstimatorState ExportState();

    /// <exception cref="ArgumentException">The state belongs to another estimator kind or is malformed.</exception>
    void ImportState(EstimatorState state);
}
