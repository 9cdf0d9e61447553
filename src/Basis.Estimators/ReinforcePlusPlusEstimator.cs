namespace Basis.Estimators;

/// <summary>
/// REINFORCE++: per-token return r - c * (k1 KL summed from the token to the end), then global whitening over every
/// token of the batch. A rollout without per-token KL counts as one token with return r. Its value estimate (the
/// reported baseline) is the batch mean reward.
/// </summary>
public sealed class ReinforcePlusPlusEstimator(double klCoefficient = ReinforcePlusPlusEstimator.DefaultKlCoefficient) : IAdvantageEstimator
{
    public const double DefaultKlCoefficient = 0.01;

    public string Name => "reinforce++";

    public int RolloutsPerPrompt => 1;

    public bool BaselineExcludesOwnReward => false;

    public double KlCoefficient { get; } = klCoefficient;

    public AdvantageResult Estimate(RolloutBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        batch.EnsureFiniteRewards();
        int n = batch.Count;
        var offsets = new int[n + 1];
        for (int i = 0; i < n; i++)
        {
            offsets[i + 1] = offsets[i] + Math.Max(1, batch.Rollouts[i].TokenKl.Length);
        }

        var returns = new double[offsets[n]];
        double rewardSum = 0;
        for (int i = 0; i < n; i++)
        {
            ScoredRollout rollout = batch.Rollouts[i];
            rewardSum += rollout.Reward;
            ReadOnlySpan<double> kl = rollout.TokenKl.Span;
            if (kl.Length == 0)
            {
                returns[offsets[i]] = rollout.Reward;
                continue;
            }

            double penaltyToEnd = 0;
            for (int t = kl.Length - 1; t >= 0; t--)
            {
                penaltyToEnd += KlCoefficient * kl[t];
                returns[offsets[i] + t] = rollout.Reward - penaltyToEnd;
            }
        }

        Whitening.Whiten(returns);
        double batchMean = n == 0 ? 0 : rewardSum / n;
        var result = new RolloutEstimate[n];
        var tokens = new double[n][];
        for (int i = 0; i < n; i++)
        {
            tokens[i] = returns[offsets[i]..offsets[i + 1]];
            result[i] = new RolloutEstimate(batchMean, tokens[i][0], double.NaN, BaselineSource.Direct);
        }

        return new AdvantageResult(result, new BatchDiagnostics { Estimator = Name, Whitened = true }, tokens);
    }
}
