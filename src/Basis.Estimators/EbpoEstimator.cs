namespace Basis.Estimators;

/// <summary>
/// EBPO: empirical-Bayes shrinkage of each group mean toward a running global mean. With a pooled within-group
/// variance s_w^2 and a between-prompt variance tau^2 = max(var(group means) - s_w^2 / mean G, 0), a group of n is
/// shrunk by lambda = (s_w^2 / n) / (s_w^2 / n + tau^2). Groups of one have no within-group degrees of freedom; the
/// Bernoulli variance of the global mean stands in for s_w^2. The running mean is an exponential average of batch means.
/// </summary>
public sealed class EbpoEstimator : IStatefulAdvantageEstimator
{
    public const double DefaultGlobalDecay = 0.9;

    private double? _globalMean;

    public EbpoEstimator(int rolloutsPerPrompt, double globalDecay = DefaultGlobalDecay)
    {
        RolloutsPerPrompt = EstimatorCatalog.CheckGroupSize(rolloutsPerPrompt);
        if (!(globalDecay >= 0 && globalDecay < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(globalDecay), "EBPO's global decay must lie in [0, 1).");
        }

        GlobalDecay = globalDecay;
    }

    public string Name => "ebpo";

    public int RolloutsPerPrompt { get; }

    public bool BaselineExcludesOwnReward => false;

    public double GlobalDecay { get; }

    public AdvantageResult Estimate(RolloutBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        batch.EnsureFiniteRewards();
        IReadOnlyList<ScoredRollout> rollouts = batch.Rollouts;
        var result = new RolloutEstimate[rollouts.Count];
        if (rollouts.Count == 0)
        {
            return new AdvantageResult(result, new BatchDiagnostics { Estimator = Name });
        }

        var groups = PromptGroups.Build(rollouts);
        int k = groups.Members.Length;
        var means = new double[k];
        double within = 0;
        int dof = 0;
        double batchSum = 0;
        for (int g = 0; g < k; g++)
        {
            int[] members = groups.Members[g];
            means[g] = PromptGroups.Mean(rollouts, members);
            foreach (int j in members)
            {
                double d = rollouts[j].Reward - means[g];
                within += d * d;
                batchSum += rollouts[j].Reward;
            }

            dof += members.Length - 1;
        }

        double batchMean = batchSum / rollouts.Count;
        double global = _globalMean ?? batchMean;
        double withinVariance = dof > 0 ? within / dof : Math.Clamp(global * (1 - global), 0, 0.25);
        double meanOfMeans = means.Sum() / k;
        double between = 0;
        for (int g = 0; g < k; g++)
        {
            between += (means[g] - meanOfMeans) * (means[g] - meanOfMeans);
        }

        between = k > 1 ? between / (k - 1) : 0;
        double averageGroup = (double)rollouts.Count / k;
        double tau2 = Math.Max(between - withinVariance / averageGroup, 0);
        for (int g = 0; g < k; g++)
        {
            int[] members = groups.Members[g];
            double noise = withinVariance / members.Length;
            double lambda = noise + tau2 > 0 ? noise / (noise + tau2) : 0;
            double baseline = lambda * global + (1 - lambda) * means[g];
            foreach (int i in members)
            {
                result[i] = new RolloutEstimate(baseline, rollouts[i].Reward - baseline, double.NaN, BaselineSource.Direct);
            }
        }

        _globalMean = _globalMean is double previous ? GlobalDecay * previous + (1 - GlobalDecay) * batchMean : batchMean;
        return new AdvantageResult(result, new BatchDiagnostics { Estimator = Name });
    }

    public EstimatorState ExportState() => new EbpoState(_globalMean);

    public void ImportState(EstimatorState state)
    {
        if (state is not EbpoState ebpo || ebpo.GlobalMean is double m && !double.IsFinite(m))
        {
            throw new ArgumentException($"EBPO cannot import this state ({state?.GetType().Name ?? "null"}).", nameof(state));
        }

        _globalMean = ebpo.GlobalMean;
    }
}
