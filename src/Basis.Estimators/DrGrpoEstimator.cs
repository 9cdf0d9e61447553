namespace Basis.Estimators;

/// <summary>Dr.GRPO: A = r - mean_g (no std; the learner normalises the token sum by a constant length).</summary>
public sealed class DrGrpoEstimator(int rolloutsPerPrompt) : IAdvantageEstimator
{
    public string Name => "drgrpo";

    public int RolloutsPerPrompt { get; } = EstimatorCatalog.CheckGroupSize(rolloutsPerPrompt);

    public bool BaselineExcludesOwnReward => false;

    public AdvantageResult Estimate(RolloutBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        batch.EnsureFiniteRewards();
        var groups = PromptGroups.Build(batch.Rollouts);
        var result = new RolloutEstimate[batch.Count];
        foreach (int[] members in groups.Members)
        {
            double mean = PromptGroups.Mean(batch.Rollouts, members);
            foreach (int i in members)
            {
                result[i] = new RolloutEstimate(mean, batch.Rollouts[i].Reward - mean, double.NaN, BaselineSource.Direct);
            }
        }

        return new AdvantageResult(result, new BatchDiagnostics { Estimator = Name });
    }
}
