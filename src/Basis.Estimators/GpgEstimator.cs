namespace Basis.Estimators;

/// <summary>GPG: A = alpha (r - mean_g), alpha = N / (N - rollouts in all-equal groups), N the batch size.</summary>
public sealed class GpgEstimator(int rolloutsPerPrompt) : IAdvantageEstimator
{
    public string Name => "gpg";

    public int RolloutsPerPrompt { get; } = EstimatorCatalog.CheckGroupSize(rolloutsPerPrompt);

    public bool BaselineExcludesOwnReward => false;

    public AdvantageResult Estimate(RolloutBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        batch.EnsureFiniteRewards();
        var groups = PromptGroups.Build(batch.Rollouts);
        int degenerate = 0;
        foreach (int[] members in groups.Members)
        {
            double first = batch.Rollouts[members[0]].Reward;
            if (members.All(j => batch.Rollouts[j].Reward == first))
            {
                degenerate += members.Length;
            }
        }

        // Every group all-equal: every advantage is zero, alpha is moot; keep it 1 instead of dividing by zero.
        double alpha = degenerate == batch.Count ? 1 : (double)batch.Count / (batch.Count - degenerate);
        var result = new RolloutEstimate[batch.Count];
        foreach (int[] members in groups.Members)
        {
            double mean = PromptGroups.Mean(batch.Rollouts, members);
            foreach (int i in members)
            {
                result[i] = new RolloutEstimate(mean, alpha * (batch.Rollouts[i].Reward - mean), double.NaN, BaselineSource.Direct);
            }
        }

        return new AdvantageResult(result, new BatchDiagnostics { Estimator = Name, Alpha = alpha });
    }
}
