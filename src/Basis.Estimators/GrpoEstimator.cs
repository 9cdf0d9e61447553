namespace Basis.Estimators;

/// <summary>GRPO: A = (r - mean_g) / (std_g + 1e-6) with Bessel std; a group of one gives A = r.</summary>
public sealed class GrpoEstimator(int rolloutsPerPrompt) : IAdvantageEstimator
{
    public const double StdEpsilon = 1e-6;

    public string Name => "grpo";

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
            double std = PromptGroups.StdDev(batch.Rollouts, members, mean);
            foreach (int i in members)
            {
                double r = batch.Rollouts[i].Reward;
                result[i] = members.Length == 1
                    ? new RolloutEstimate(0, r, double.NaN, BaselineSource.Direct)
                    : new RolloutEstimate(mean, (r - mean) / (std + StdEpsilon), double.NaN, BaselineSource.Direct);
            }
        }

        return new AdvantageResult(result, new BatchDiagnostics { Estimator = Name });
    }
}
