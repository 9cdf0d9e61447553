namespace Basis.Estimators.Simulation;

/// <summary>MSE of one estimator at one checkpoint, over seeds.</summary>
public sealed record CheckpointResult(string Estimator, int RolloutsPerPrompt, long Checkpoint, Interval Mse, IReadOnlyList<double> PerSeed)
{
    /// <summary>Row label, e.g. "basis" or "group-mean-8".</summary>
    public string Label => Estimator is "rloo" or "group-mean" ? $"{Estimator}-{RolloutsPerPrompt}" : Estimator;
}

/// <summary>A ratio of mean MSEs per checkpoint (with a t interval over per-seed ratios), and its mean and max.</summary>
public sealed record RatioSummary(string Name, IReadOnlyList<(long Checkpoint, Interval Ratio)> PerCheckpoint)
{
    public double Mean => PerCheckpoint.Average(p => p.Ratio.Mean);

    public double Max => PerCheckpoint.Max(p => p.Ratio.Mean);
}

public sealed record BenchmarkReport(Scenario Scenario, string BasisSettings, IReadOnlyList<CheckpointResult> Results, IReadOnlyList<RatioSummary> Ratios);

/// <summary>
/// The value-MSE benchmark: a synthetic training run on a prompt population with known true values. Each step a batch
/// of prompts (epochs without replacement) gets one rollout each; the single-rollout estimators see every batch in
/// order. At a checkpoint each estimator's value estimate for that step's batch is scored against V_t; group-mean and
/// RLOO estimators draw G fresh rollouts of the same prompts.
/// </summary>
public static class ValueMseBenchmark
{
    public const string Reference = "reinforce++";
    public const string GroupMean8 = "group-mean-8";

    private static readonly int[] s_groupSizes = [1, 2, 4, 8];
    private static readonly string[] s_sequential = ["basis", "basis-initial", "basis-spec", "kae", "reinforce++"];

    /// <param name="progress">Called with (seeds done, seeds total) after each seed.</param>
    public static BenchmarkReport Run(Scenario scenario, Action<int, int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        ScenarioValidation.Validate(scenario);
        var checkpoints = scenario.Checkpoints.Distinct().Order().ToArray();
        var rows = new List<(string Name, int G)>();
        rows.AddRange(s_sequential.Select(n => (n, 1)));
        rows.AddRange(s_groupSizes.Select(g => ("group-mean", g)));
        rows.AddRange(s_groupSizes.Where(g => g > 1).Select(g => ("rloo", g)));

        int seeds = scenario.Seeds.Count;
        var mse = new double[rows.Count, checkpoints.Length, seeds];
        for (int s = 0; s < seeds; s++)
        {
            RunSeed(scenario, checkpoints, (ulong)scenario.Seeds[s], rows, mse, s);
            progress?.Invoke(s + 1, seeds);
        }

        var results = new List<CheckpointResult>();
        for (int r = 0; r < rows.Count; r++)
        {
            for (int c = 0; c < checkpoints.Length; c++)
            {
                var perSeed = new double[seeds];
                for (int s = 0; s < seeds; s++)
                {
                    perSeed[s] = mse[r, c, s];
                }

                results.Add(new CheckpointResult(rows[r].Name, rows[r].G, checkpoints[c], Interval.Of(perSeed), perSeed));
            }
        }

        var ratios = new List<RatioSummary>
        {
            Ratio(results, checkpoints, "basis", Reference),
            Ratio(results, checkpoints, "basis", GroupMean8),
        };
        return new BenchmarkReport(scenario, BasisOptions.Default.Describe(), results, ratios);
    }

    private static RatioSummary Ratio(List<CheckpointResult> results, long[] checkpoints, string numerator, string denominator)
    {
        var perCheckpoint = new List<(long, Interval)>();
        foreach (long checkpoint in checkpoints)
        {
            CheckpointResult top = results.Single(r => r.Label == numerator && r.Checkpoint == checkpoint);
            CheckpointResult bottom = results.Single(r => r.Label == denominator && r.Checkpoint == checkpoint);
            var perSeed = top.PerSeed.Zip(bottom.PerSeed, (a, b) => a / b).ToArray();
            Interval spread = Interval.Of(perSeed);
            double ratio = top.Mse.Mean / bottom.Mse.Mean;

            // Centre on the ratio of mean MSEs; the width comes from the per-seed ratios.
            perCheckpoint.Add((checkpoint, new Interval(ratio, ratio - (spread.Mean - spread.Low), ratio + (spread.High - spread.Mean))));
        }

        return new RatioSummary($"{numerator}/{denominator}", perCheckpoint);
    }

    private static void RunSeed(Scenario scenario, long[] checkpoints, ulong seed, List<(string Name, int G)> rows, double[,,] mse, int seedIndex)
    {
        var population = Population.Draw(scenario, seed);
        var sequential = s_sequential.Select(EstimatorCatalog.Create).ToArray();
        int batchSize = scenario.BatchSize;
        int batchesPerEpoch = scenario.Prompts / batchSize;
        var order = Enumerable.Range(0, scenario.Prompts).ToArray();
        var trajectory = SimulationRandom.Derive(seed, 1, 0);
        var values = new double[batchSize];
        var rollouts = new ScoredRollout[batchSize];
        long lastStep = checkpoints[^1];
        int nextCheckpoint = 0;
        for (long step = 0; step <= lastStep; step++)
        {
            int slot = (int)(step % batchesPerEpoch);
            if (slot == 0)
            {
                trajectory.Shuffle(order);
            }

            for (int b = 0; b < batchSize; b++)
            {
                int prompt = order[slot * batchSize + b];
                values[b] = population.Value(prompt, step);
                double reward = trajectory.Bernoulli(values[b]) ? 1 : 0;
                rollouts[b] = new ScoredRollout(population.Ids[prompt], 0, reward, Offline: population.Offline[prompt]);
            }

            var batch = new RolloutBatch(step, rollouts.ToArray());
            bool score = step == checkpoints[nextCheckpoint];
            for (int e = 0; e < sequential.Length; e++)
            {
                AdvantageResult result = sequential[e].Estimate(batch);
                if (score)
                {
                    var estimates = result.Rollouts.Select(x => x.Baseline).ToArray();
                    mse[e, nextCheckpoint, seedIndex] = ValueMse.Exact(estimates, values);
                }
            }

            if (score)
            {
                ScoreGroups(seed, step, batch, values, rows, mse, nextCheckpoint, seedIndex, sequential.Length);
                nextCheckpoint++;
            }
        }
    }

    private static void ScoreGroups(
        ulong seed, long step, RolloutBatch batch, double[] values, List<(string Name, int G)> rows, double[,,] mse, int checkpoint, int seedIndex, int firstRow)
    {
        const int maxGroup = 8;
        int n = values.Length;
        var fresh = SimulationRandom.Derive(seed, 2, (ulong)step);
        var draws = new double[n, maxGroup];
        for (int b = 0; b < n; b++)
        {
            for (int g = 0; g < maxGroup; g++)
            {
                draws[b, g] = fresh.Bernoulli(values[b]) ? 1 : 0;
            }
        }

        for (int r = firstRow; r < rows.Count; r++)
        {
            (string name, int size) = rows[r];
            double sum = 0;
            int count = 0;
            for (int b = 0; b < n; b++)
            {
                double groupSum = 0;
                for (int g = 0; g < size; g++)
                {
                    groupSum += draws[b, g];
                }

                if (name == "group-mean")
                {
                    double d = groupSum / size - values[b];
                    sum += d * d;
                    count++;
                }
                else
                {
                    // RLOO: each rollout's baseline is the mean of the other G - 1 rollouts.
                    for (int g = 0; g < size; g++)
                    {
                        double d = (groupSum - draws[b, g]) / (size - 1) - values[b];
                        sum += d * d;
                        count++;
                    }
                }
            }

            mse[r, checkpoint, seedIndex] = sum / count;
        }
    }

    /// <summary>The prompts of one seed: reference pass rates, per-prompt improvement parameters, offline counts.</summary>
    private sealed class Population
    {
        private readonly double[] _p0;
        private readonly double[] _rate;
        private readonly double[] _noise;
        private readonly ImprovementModel _improvement;

        private Population(string[] ids, double[] p0, double[] rate, double[] noise, OfflineCounts[] offline, ImprovementModel improvement)
        {
            Ids = ids;
            _p0 = p0;
            _rate = rate;
            _noise = noise;
            Offline = offline;
            _improvement = improvement;
        }

        public string[] Ids { get; }

        public OfflineCounts[] Offline { get; }

        public double Value(int prompt, long step) => _improvement.Value(_p0[prompt], _rate[prompt], _noise[prompt], step);

        public static Population Draw(Scenario scenario, ulong seed)
        {
            var random = SimulationRandom.Derive(seed, 0, 0);
            int n = scenario.Prompts;
            double totalWeight = scenario.Difficulty.Sum(d => d.Weight);
            var ids = new string[n];
            var p0 = new double[n];
            var rate = new double[n];
            var noise = new double[n];
            var offline = new OfflineCounts[n];
            for (int x = 0; x < n; x++)
            {
                ids[x] = "p" + x.ToString(System.Globalization.CultureInfo.InvariantCulture);
                double pick = random.NextDouble() * totalWeight;
                DifficultyComponent component = scenario.Difficulty[^1];
                foreach (DifficultyComponent d in scenario.Difficulty)
                {
                    if (pick < d.Weight)
                    {
                        component = d;
                        break;
                    }

                    pick -= d.Weight;
                }

                // Keep p0 off exact 0 and 1 so logits stay finite.
                p0[x] = Math.Clamp(random.Beta(component.Alpha, component.Beta), 1e-9, 1 - 1e-9);
                if (scenario.Improvement is LogitShiftImprovement shift)
                {
                    double z = random.Normal();
                    rate[x] = shift.MeanRate * Math.Exp(shift.RateSpread * z - shift.RateSpread * shift.RateSpread / 2);
                    noise[x] = shift.Noise * random.Normal();
                }

                offline[x] = new OfflineCounts(random.Binomial(scenario.OfflineSamples, p0[x]), scenario.OfflineSamples);
            }

            return new Population(ids, p0, rate, noise, offline, scenario.Improvement);
        }
    }
}
