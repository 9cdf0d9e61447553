namespace Basis.Dashboard;

/// <summary>One point of one chart series: x is the training step.</summary>
public readonly record struct ChartPoint(string Series, double X, double Y);

/// <summary>The series the page draws, with the source each comes from.</summary>
public static class DashboardSeries
{
    /// <summary>Mean reward of a step's rollouts, quarantined ones left out (journal: BatchFormed).</summary>
    public const string Reward = "reward";

    /// <summary>Held-out accuracy (journal: PolicyUpdated; the evaluation before RL from metrics.csv step -1).</summary>
    public const string HeldOutAccuracy = "heldout_accuracy";

    /// <summary>The estimator's shrinkage weight (journal: BatchFormed).</summary>
    public const string Beta = "beta";

    /// <summary>Prompts in the estimator's active set (journal: BatchFormed).</summary>
    public const string ActiveSet = "active_set";

    /// <summary>The learner's loss (journal: PolicyUpdated).</summary>
    public const string Loss = "loss";

    /// <summary>The global gradient norm before clipping (journal: PolicyUpdated).</summary>
    public const string GradNorm = "grad_norm";

    /// <summary>Value-estimate MSE per estimator at the run's checkpoints, from value-mse.json (see <see cref="ValueMseFile"/>).</summary>
    public const string ValueMse = "value_mse";

    /// <summary>Completion tokens per second of RL wall-clock (metrics.csv).</summary>
    public const string TokensPerSecond = "tokens_per_s";

    /// <summary>Prefix of the per-stage queue-depth series ("queue:generator"), from queues.csv.</summary>
    public const string QueuePrefix = "queue:";
}
