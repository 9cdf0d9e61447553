namespace Basis.Estimators;

/// <summary>Options for <see cref="KaeEstimator"/>.</summary>
/// <param name="Bandwidth">h: a past reward of age a weighs max(1 - a / (t h), 0) at step t.</param>
/// <param name="MaxHistoryPerPrompt">Most recent entries kept per prompt.</param>
public sealed record KaeOptions(double Bandwidth = 0.5, int MaxHistoryPerPrompt = 64)
{
    public static KaeOptions Default { get; } = new();
}

/// <summary>
/// KAE: Nadaraya-Watson over the prompt's own reward history with a triangular kernel in relative age, plus the
/// other rollouts of the current group at weight 1. With no weight at all the baseline falls back to the mean of the
/// other rollouts of the batch. The own reward never enters its baseline.
/// </summary>
public sealed class KaeEstimator : IStatefulAdvantageEstimator
{
    private readonly KaeOptions _options;
    private readonly PromptHistoryStore _history;

    public KaeEstimator(int rolloutsPerPrompt = 1, KaeOptions? options = null)
    {
        _options = options ?? KaeOptions.Default;
        if (!(_options.Bandwidth > 0) || _options.MaxHistoryPerPrompt < 1)
        {
            throw new ArgumentException("KAE needs bandwidth > 0 and at least one history entry per prompt.", nameof(options));
        }

        RolloutsPerPrompt = EstimatorCatalog.CheckGroupSize(rolloutsPerPrompt);
        _history = new PromptHistoryStore(_options.MaxHistoryPerPrompt);
    }

    public string Name => "kae";

    public int RolloutsPerPrompt { get; }

    public bool BaselineExcludesOwnReward => true;

    public KaeOptions Options => _options;

    public AdvantageResult Estimate(RolloutBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        batch.EnsureFiniteRewards();
        IReadOnlyList<ScoredRollout> rollouts = batch.Rollouts;
        int n = rollouts.Count;
        var groups = PromptGroups.Build(rollouts);
        var rewards = new double[n];
        for (int i = 0; i < n; i++)
        {
            rewards[i] = rollouts[i].Reward;
        }

        double[] othersSum = LeaveOneOut.Sums(rewards);
        long t = batch.Step;
        var result = new RolloutEstimate[n];
        for (int i = 0; i < n; i++)
        {
            double weightSum = 0;
            double weighted = 0;
            if (t > 0 && _history.Get(rollouts[i].PromptId) is { } past)
            {
                double scale = t * _options.Bandwidth;
                foreach (HistoryEntry entry in past)
                {
                    double w = Math.Max(1 - (t - entry.Step) / scale, 0);
                    weightSum += w;
                    weighted += w * entry.Reward;
                }
            }

            foreach (int j in groups.Members[groups.GroupOf[i]])
            {
                if (j != i)
                {
                    weightSum += 1;
                    weighted += rewards[j];
                }
            }

            double baseline = weightSum > 0
                ? weighted / weightSum
                : n > 1 ? othersSum[i] / (n - 1) : 0;
            result[i] = new RolloutEstimate(baseline, rewards[i] - baseline, double.NaN, BaselineSource.Direct);
        }

        for (int i = 0; i < n; i++)
        {
            _history.Add(rollouts[i].PromptId, new HistoryEntry(t, rewards[i]));
        }

        return new AdvantageResult(result, new BatchDiagnostics { Estimator = Name });
    }

    public EstimatorState ExportState() => new KaeState(_history.Export());

    public void ImportState(EstimatorState state)
    {
        if (state is not KaeState kae)
        {
            throw new ArgumentException($"KAE cannot import a {state?.GetType().Name ?? "null"} state.", nameof(state));
        }

        _history.Import(kae.History);
    }
}
