namespace Basis.Estimators;

/// <summary>REINFORCE: no baseline, A = r.</summary>
public sealed class ReinforceEstimator : IAdvantageEstimator
{
    public string Name => "reinforce";

    public int RolloutsPerPrompt => 1;

    public bool BaselineExcludesOwnReward => true;

    public AdvantageResult Estimate(RolloutBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        batch.EnsureFiniteRewards();
        var result = new RolloutEstimate[batch.Count];
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = new RolloutEstimate(0, batch.Rollouts[i].Reward, double.NaN, BaselineSource.Direct);
        }

        return new AdvantageResult(result, new BatchDiagnostics { Estimator = Name });
    }
}
