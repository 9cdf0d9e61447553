using Basis.Model;
using Basis.Training.Reporting;

namespace Basis.Training.Run;

/// <summary>One estimator's runs over the seeds of a comparison.</summary>
public sealed record ComparedEstimator(string Estimator, IReadOnlyList<RunSummary> Runs, IReadOnlyList<IReadOnlyList<StepRecord>> Curves)
{
    public double MeanFinalAccuracy => Runs.Average(r => r.FinalAccuracy);

    public double MeanStartAccuracy => Runs.Average(r => r.StartAccuracy);

    /// <summary>95% interval of the mean final accuracy (Student t over seeds; a point when there is one seed).</summary>
    public (double Low, double High) FinalAccuracyInterval => Statistics.MeanInterval(Runs.Select(r => r.FinalAccuracy).ToArray());

    public double MeanRlSeconds => Runs.Average(r => r.RlSeconds);

    public long Rollouts => Runs.Count == 0 ? 0 : Runs[0].Rollouts;

    /// <summary>
    /// The held-out evaluations averaged over seeds: (mean rollouts, mean RL seconds, mean accuracy) at each
    /// evaluation, the evaluation before RL first. Every seed evaluates at the same steps.
    /// </summary>
    public IReadOnlyList<(double Rollouts, double Seconds, double Accuracy)> MeanCurve()
    {
        var evaluations = Curves.Select(c => c.Where(r => r.HeldOutAccuracy.HasValue).ToArray()).ToArray();
        int points = evaluations.Length == 0 ? 0 : evaluations.Min(e => e.Length);
        return Enumerable.Range(0, points)
            .Select(i => (evaluations.Average(e => (double)e[i].Rollouts), evaluations.Average(e => e[i].ElapsedSeconds), evaluations.Average(e => e[i].HeldOutAccuracy!.Value)))
            .ToArray();
    }

    /// <summary>The first point of the mean curve at or above <paramref name="accuracy"/>; null if it never gets there.</summary>
    public (double Rollouts, double Seconds)? FirstReaching(double accuracy)
    {
        foreach ((double rollouts, double seconds, double value) in MeanCurve())
        {
            if (value >= accuracy)
            {
                return (rollouts, seconds);
            }
        }

        return null;
    }
}

/// <summary>
/// `basis compare`: every estimator trained from the same warm start, offline table and prompt schedule
/// for each seed, with the same rollout budget (the same rollouts per step and the same number of steps).
/// </summary>
public static class EstimatorComparison
{
    public static async Task<IReadOnlyList<ComparedEstimator>> RunAsync(
        TrainSettings settings,
        IReadOnlyList<string> estimators,
        long budgetRollouts,
        int seeds,
        string folder,
        Func<string, ulong, ITrainingObserver> observerFor,
        bool resume,
        IPolicyBackend backend,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(estimators);
        ArgumentOutOfRangeException.ThrowIfLessThan(seeds, 1);
        if (estimators.Count == 0)
        {
            throw new ArgumentException("name at least one estimator.", nameof(estimators));
        }

        int steps = (int)(budgetRollouts / settings.Train.BatchSize);
        if (steps < 1)
        {
            throw new ArgumentException($"--budget-rollouts {budgetRollouts} is less than one step of basis.train.batch-size = {settings.Train.BatchSize} rollouts.");
        }

        var runs = estimators.ToDictionary(e => e, _ => new List<(RunSummary Summary, IReadOnlyList<StepRecord> Curve)>());
        for (int s = 0; s < seeds; s++)
        {
            ulong seed = settings.Run.Seed + (ulong)s;
            string seedFolder = Path.Combine(folder, $"seed-{seed}");
            string? warmStartFolder = null;
            foreach (string estimator in estimators)
            {
                string runDir = Path.Combine(seedFolder, estimator.Replace(':', '-'));
                Directory.CreateDirectory(runDir);
                if (warmStartFolder is not null)
                {
                    // Same seed, same warm start and offline table: the cache keys match, so nothing is retrained.
                    File.Copy(Path.Combine(warmStartFolder, "sft.safetensors"), Path.Combine(runDir, "sft.safetensors"), overwrite: true);
                    File.Copy(Path.Combine(warmStartFolder, "offline-table.jsonl"), Path.Combine(runDir, "offline-table.jsonl"), overwrite: true);
                }

                TrainSettings run = settings with
                {
                    Run = Copy(settings.Run, r => r.Seed = seed),
                    Task = Copy(settings.Task, t => t.Seed = seed),
                    Estimator = Copy(settings.Estimator, e => e.Name = estimator),
                    Train = Copy(settings.Train, t => t.Steps = steps),
                };
                // Resuming continues each run from its journal: a finished run is read back, a stopped one continues, a missing one starts.
                var training = new TrainingRun(run, runDir, observerFor(estimator, seed)) { Resume = resume, Backend = backend };
                RunSummary summary = await training.RunAsync(cancellationToken).ConfigureAwait(false);
                if (!summary.Cancelled && summary.Steps != steps)
                {
                    throw new InvalidOperationException($"{runDir} holds a run of {summary.Steps} steps, but --budget-rollouts {budgetRollouts} asks for {steps}: resume with the budget it was started with.");
                }

                runs[estimator].Add((summary, training.Records));
                warmStartFolder ??= runDir;
                if (summary.Cancelled)
                {
                    return Collect(runs);
                }
            }
        }

        return Collect(runs);
    }

    /// <summary>Mean held-out accuracy over seeds against rollouts and against RL wall-clock seconds.</summary>
    public static void WritePlots(string folder, IReadOnlyList<ComparedEstimator> results)
    {
        var byRollouts = new SvgLineChart("held-out accuracy at equal rollout budgets (mean over seeds)", "rollouts", "held-out accuracy");
        var byTime = new SvgLineChart("held-out accuracy against RL wall-clock (mean over seeds)", "RL wall-clock seconds", "held-out accuracy");
        foreach (ComparedEstimator result in results)
        {
            var curve = result.MeanCurve();
            double[] accuracy = curve.Select(p => p.Accuracy).ToArray();
            byRollouts.Add(new ChartSeries(result.Estimator, curve.Select(p => p.Rollouts).ToArray(), accuracy));
            byTime.Add(new ChartSeries(result.Estimator, curve.Select(p => p.Seconds).ToArray(), accuracy));
        }

        File.WriteAllText(Path.Combine(folder, "compare-by-rollouts.svg"), byRollouts.Render());
        File.WriteAllText(Path.Combine(folder, "compare-by-time.svg"), byTime.Render());
    }

    private static List<ComparedEstimator> Collect(Dictionary<string, List<(RunSummary Summary, IReadOnlyList<StepRecord> Curve)>> runs) =>
        runs.Where(r => r.Value.Count > 0).Select(r => new ComparedEstimator(r.Key, r.Value.Select(v => v.Summary).ToArray(), r.Value.Select(v => v.Curve).ToArray())).ToList();

    private static T Copy<T>(T settings, Action<T> change)
        where T : class
    {
        // Settings classes are mutable for the configuration binder; a comparison must not change the caller's.
        T copy = System.Text.Json.JsonSerializer.Deserialize<T>(System.Text.Json.JsonSerializer.Serialize(settings))!;
        change(copy);
        return copy;
    }
}

/// <summary>Small statistics for reports.</summary>
public static class Statistics
{
    // Two-sided 97.5% quantiles of Student's t for 1..10 degrees of freedom.
    private static readonly double[] s_t975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228];

    public static (double Low, double High) MeanInterval(IReadOnlyList<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count == 0)
        {
            return (double.NaN, double.NaN);
        }

        double mean = values.Average();
        if (values.Count == 1)
        {
            return (mean, mean);
        }

        double variance = values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1);
        int df = values.Count - 1;
        double t = df <= s_t975.Length ? s_t975[df - 1] : 1.96;
        double half = t * Math.Sqrt(variance / values.Count);
        return (mean - half, mean + half);
    }
}
