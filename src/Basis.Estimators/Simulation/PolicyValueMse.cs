namespace Basis.Estimators.Simulation;

/// <summary>
/// Rewards of one evaluation prompt under one policy, in disjoint sets of independent rollouts: the Monte-Carlo set
/// that defines V_MC, one rollout for the single-rollout estimators, and a group for group-mean and RLOO.
/// </summary>
/// <param name="Offline">The prompt's offline counts for BASIS (from the run's table or from extra samples).</param>
public sealed record PromptSamples(string PromptId, double[] MonteCarlo, double Single, double[] Group, OfflineCounts? Offline);

/// <summary>One estimator's value MSE over the evaluation batches (t interval over batches).</summary>
public sealed record PolicyMseRow(string Estimator, int RolloutsPerPrompt, Interval Mse, IReadOnlyList<double> PerBatch);

/// <summary>A ratio of mean MSEs, with the spread of the per-batch ratios.</summary>
public sealed record PolicyMseRatio(string Name, Interval Ratio);

public sealed record PolicyMseReport(
    long Step, int Prompts, int Batches, int MonteCarloRollouts, double MeanValue, IReadOnlyList<PolicyMseRow> Rows, IReadOnlyList<PolicyMseRatio> Ratios);

/// <summary>
/// The value-MSE protocol on rollouts of a real policy (spec: "Value-MSE protocol"). Prompts are cut, in the given
/// order, into batches of B; in each batch every single-rollout estimator (BASIS, REINFORCE++ ...) scores the batch's
/// one rollout per prompt and its baselines are its value estimates, while group-mean-G and RLOO-G use the first G
/// rollouts of each prompt's group. Each batch's MSE is Monte-Carlo corrected,
/// mean (V_hat - V_MC)^2 - mean V_MC (1 - V_MC)/(M - 1), and the interval is over batches.
/// </summary>
public static class PolicyValueMse
{
    public const string Reference = "reinforce++";
    public const string GroupMean8 = "group-mean-8";

    /// <summary>Every row the protocol can report, in report order.</summary>
    public static IReadOnlyList<string> KnownRows { get; } =
    [
        "basis", "basis-initial", "basis-spec", "kae", "reinforce++",
        "group-mean-1", "group-mean-2", "group-mean-4", "group-mean-8", "rloo-2", "rloo-4", "rloo-8",
    ];

    /// <summary>The rows measured when none are named.</summary>
    public static IReadOnlyList<string> DefaultRows { get; } =
        ["basis", "reinforce++", "group-mean-1", "group-mean-2", "group-mean-4", "group-mean-8", "rloo-2", "rloo-4", "rloo-8"];

    /// <param name="prompts">Evaluation prompts in batch order; all with the same M and group size.</param>
    /// <param name="batchSize">B; the last batch keeps the remainder when it has at least 3 prompts.</param>
    /// <param name="step">The step the single-rollout estimators see (history ages are measured from it).</param>
    /// <param name="rows">Names from <see cref="KnownRows"/>.</param>
    /// <param name="create">A fresh estimator in the state it has at the checkpoint, for each batch (so batches stay
    /// independent): a stateful one must not carry one evaluation batch into the next.</param>
    public static PolicyMseReport Measure(
        IReadOnlyList<PromptSamples> prompts, int batchSize, long step, IReadOnlyList<string> rows, Func<string, IAdvantageEstimator> create)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(create);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 3);
        if (prompts.Count < 3)
        {
            throw new ArgumentException($"The value-MSE protocol needs at least 3 evaluation prompts (got {prompts.Count}).", nameof(prompts));
        }

        int m = prompts[0].MonteCarlo.Length;
        int groupSize = prompts[0].Group.Length;
        if (m < 2 || prompts.Any(p => p.MonteCarlo.Length != m || p.Group.Length != groupSize))
        {
            throw new ArgumentException("Every prompt needs the same number (at least 2) of Monte-Carlo rollouts and the same group size.", nameof(prompts));
        }

        foreach (string row in rows)
        {
            if (!KnownRows.Contains(row))
            {
                throw new ArgumentException($"Unknown value-MSE row '{row}'. Known: {string.Join(", ", KnownRows)}.", nameof(rows));
            }

            if (GroupSizeOf(row) is int g && g > groupSize)
            {
                throw new ArgumentException($"Row '{row}' needs {g} group rollouts per prompt; the samples have {groupSize}.", nameof(rows));
            }
        }

        List<(int Start, int Count)> batches = Batches(prompts.Count, batchSize);
        var perBatch = rows.ToDictionary(r => r, _ => new double[batches.Count]);
        for (int b = 0; b < batches.Count; b++)
        {
            (int start, int count) = batches[b];
            var vMc = new double[count];
            var rollouts = new ScoredRollout[count];
            for (int i = 0; i < count; i++)
            {
                PromptSamples p = prompts[start + i];
                vMc[i] = p.MonteCarlo.Average();
                rollouts[i] = new ScoredRollout(p.PromptId, 0, p.Single, Offline: p.Offline);
            }

            var batch = new RolloutBatch(step, rollouts);
            var estimates = new double[count];
            foreach (string row in rows)
            {
                if (GroupSizeOf(row) is int g)
                {
                    perBatch[row][b] = GroupMse(prompts, start, count, vMc, m, g, row.StartsWith("rloo", StringComparison.Ordinal));
                    continue;
                }

                AdvantageResult result = create(row).Estimate(batch);
                for (int i = 0; i < count; i++)
                {
                    estimates[i] = result.Rollouts[i].Baseline;
                }

                perBatch[row][b] = ValueMse.MonteCarloCorrected(estimates, vMc, m);
            }
        }

        var report = rows.Select(r => new PolicyMseRow(r, GroupSizeOf(r) ?? 1, Interval.Of(perBatch[r]), perBatch[r])).ToArray();
        var ratios = new List<PolicyMseRatio>();
        foreach (string denominator in new[] { Reference, GroupMean8 })
        {
            if (perBatch.ContainsKey("basis") && perBatch.ContainsKey(denominator))
            {
                ratios.Add(Ratio(report.Single(r => r.Estimator == "basis"), report.Single(r => r.Estimator == denominator)));
            }
        }

        double meanValue = prompts.Average(p => p.MonteCarlo.Average());
        return new PolicyMseReport(step, prompts.Count, batches.Count, m, meanValue, report, ratios);
    }

    /// <summary>G for "group-mean-G" and "rloo-G"; null for a single-rollout estimator.</summary>
    public static int? GroupSizeOf(string row)
    {
        int dash = row.LastIndexOf('-');
        return (row.StartsWith("group-mean-", StringComparison.Ordinal) || row.StartsWith("rloo-", StringComparison.Ordinal))
            && int.TryParse(row.AsSpan(dash + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int g)
            ? g
            : null;
    }

    private static List<(int Start, int Count)> Batches(int prompts, int batchSize)
    {
        var batches = new List<(int, int)>();
        for (int start = 0; start < prompts; start += batchSize)
        {
            batches.Add((start, Math.Min(batchSize, prompts - start)));
        }

        // A remainder too small for BASIS's active set joins the batch before it.
        if (batches.Count > 1 && batches[^1].Item2 < 3)
        {
            (_, int lastCount) = batches[^1];
            batches.RemoveAt(batches.Count - 1);
            batches[^1] = (batches[^1].Item1, batches[^1].Item2 + lastCount);
        }

        return batches;
    }

    private static double GroupMse(IReadOnlyList<PromptSamples> prompts, int start, int count, double[] vMc, int m, int g, bool leaveOneOut)
    {
        // RLOO scores each of the G rollouts' baselines (the mean of the other G - 1); each is an estimate of V.
        var estimates = new List<double>(count * g);
        var values = new List<double>(count * g);
        for (int i = 0; i < count; i++)
        {
            double[] group = prompts[start + i].Group;
            double sum = 0;
            for (int k = 0; k < g; k++)
            {
                sum += group[k];
            }

            if (!leaveOneOut)
            {
                estimates.Add(sum / g);
                values.Add(vMc[i]);
                continue;
            }

            for (int k = 0; k < g; k++)
            {
                estimates.Add((sum - group[k]) / (g - 1));
                values.Add(vMc[i]);
            }
        }

        return ValueMse.MonteCarloCorrected(estimates.ToArray(), values.ToArray(), m);
    }

    private static PolicyMseRatio Ratio(PolicyMseRow top, PolicyMseRow bottom)
    {
        double ratio = top.Mse.Mean / bottom.Mse.Mean;
        if (top.PerBatch.Count < 2)
        {
            return new PolicyMseRatio($"{top.Estimator}/{bottom.Estimator}", new Interval(ratio, double.NaN, double.NaN));
        }

        // Centred on the ratio of mean MSEs; the width comes from the per-batch ratios (as in the simulated benchmark).
        Interval spread = Interval.Of(top.PerBatch.Zip(bottom.PerBatch, (a, b) => a / b).ToArray());
        return new PolicyMseRatio(
            $"{top.Estimator}/{bottom.Estimator}", new Interval(ratio, ratio - (spread.Mean - spread.Low), ratio + (spread.High - spread.Mean)));
    }
}
