namespace Basis.Estimators;

/// <summary>RLOO: A = r_i - mean of the other G - 1 rewards of the group (no baseline for a group of one).</summary>
public sealed class RlooEstimator(int rolloutsPerPrompt) : IAdvantageEstimator
{
    public string Name => "rloo";

    public int RolloutsPerPrompt { get; } = EstimatorCatalog.CheckGroupSize(rolloutsPerPrompt);

    public bool BaselineExcludesOwnReward => true;

    public AdvantageResult Estimate(RolloutBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        batch.EnsureFiniteRewards();
        var groups = PromptGroups.Build(batch.Rollouts);
        var result = new RolloutEstimate[batch.Count];
        foreach (int[] members in groups.Members)
        {
            foreach (int i in members)
            {
                double baseline = members.Length == 1 ? 0 : PromptGroups.MeanExcept(batch.Rollouts, members, i);
                result[i] = new RolloutEstimate(baseline, batch.Rollouts[i].Reward - baseline, double.NaN, BaselineSource.Direct);
            }
        }

        return new AdvantageResult(result, new BatchDiagnostics { Estimator = Name });
    }
}
