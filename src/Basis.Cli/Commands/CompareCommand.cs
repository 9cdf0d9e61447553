using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Basis.Hocon;
using Basis.Hocon.Configuration;
using Basis.Model.Training;
using Basis.Training.Run;
using Spectre.Console;

namespace Basis.Cli.Commands;

/// <summary><c>basis compare</c>: estimators side by side at the same rollout budget, over seeds.</summary>
internal static class CompareCommand
{
    public static Command Create()
    {
        var estimators = new Option<string>("--estimators") { Description = "Comma-separated estimator specs, e.g. basis,reinforce++,grpo:8.", DefaultValueFactory = _ => "basis,reinforce++,grpo:8" };
        var budget = new Option<long>("--budget-rollouts") { Description = "Rollouts each estimator may generate (steps = budget / basis.train.batch-size).", DefaultValueFactory = _ => 51_200 };
        var seeds = new Option<int>("--seeds") { Description = "Seeds (each its own warm start, offline table and schedule, shared by every estimator).", DefaultValueFactory = _ => 3 };
        var config = new Option<string[]>("--config") { Description = $"HOCON files layered on hocon/reference.conf (default {TrainCommand.DefaultConfig}).", DefaultValueFactory = _ => [] };
        var runDir = new Option<string>("--run-dir") { Description = "Folder for every run, the plots and compare.json.", DefaultValueFactory = _ => Path.Combine("runs", "compare") };
        var json = new Option<FileInfo?>("--json") { Description = "Also write the results as JSON here." };
        var reference = new Option<string>("--reference")
        {
            Description = "Estimator the others are measured against: when (rollouts, RL seconds) each first reaches 95% of its final accuracy.",
            DefaultValueFactory = _ => "grpo:8",
        };
        var resume = new Option<bool>("--resume")
        {
            Description = "Continue an interrupted comparison in --run-dir: finished runs are read back from their journals, a stopped run "
                + "continues from its last snapshot, runs not yet begun start. The configuration must be the one the runs were started with.",
        };
        var command = new Command(
            "compare",
            "Train with several advantage estimators from the same warm starts, offline tables and prompt schedules, at the same rollout budget, "
            + "over several seeds. Prints final held-out accuracy (mean and 95% interval over seeds), rollouts and RL wall-clock; plots accuracy "
            + "against rollouts and against wall-clock.")
        {
            estimators, budget, seeds, config, runDir, json, reference, resume,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            TextWriter output = parseResult.InvocationConfiguration.Output;
            TextWriter error = parseResult.InvocationConfiguration.Error;
            string[] files = parseResult.GetValue(config) is { Length: > 0 } given ? given : [TrainCommand.DefaultConfig];
            string[] specs = parseResult.GetValue(estimators)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            string folder = parseResult.GetValue(runDir)!;
            try
            {
                TrainSettings settings = TrainSettingsLoader.Load(files);
                foreach (string spec in specs)
                {
                    Basis.Estimators.EstimatorCatalog.Create(spec);
                }

                IReadOnlyList<ComparedEstimator> results = await EstimatorComparison.RunAsync(
                    settings,
                    specs,
                    parseResult.GetValue(budget),
                    parseResult.GetValue(seeds),
                    folder,
                    (estimator, seed) => new PrefixObserver(output, $"[{estimator} seed {seed}]"),
                    parseResult.GetValue(resume),
                    PolicyBackends.Create(settings.Model),
                    cancellationToken);
                EstimatorComparison.WritePlots(folder, results);
                ComparedEstimator? baseline = results.FirstOrDefault(r => r.Estimator == parseResult.GetValue(reference));
                string report = Report(results, baseline, parseResult.GetValue(budget), parseResult.GetValue(seeds));
                await File.WriteAllTextAsync(Path.Combine(folder, "compare.json"), report, CancellationToken.None);
                if (parseResult.GetValue(json) is FileInfo file)
                {
                    await File.WriteAllTextAsync(file.FullName, report, CancellationToken.None);
                }

                PrintTable(results, baseline, output);
                output.WriteLine($"plots: {Path.Combine(folder, "compare-by-rollouts.svg")}, {Path.Combine(folder, "compare-by-time.svg")}");
                return 0;
            }
            catch (Exception e) when (e is HoconException or HoconOptionsException or ArgumentException or FileNotFoundException or InvalidOperationException)
            {
                error.WriteLine($"basis compare: {e.Message}");
                return 1;
            }
        });
        return command;
    }

    private static void PrintTable(IReadOnlyList<ComparedEstimator> results, ComparedEstimator? baseline, TextWriter output)
    {
        string reach = baseline is null ? string.Empty : $"   reaches 95% of {baseline.Estimator} (RL seconds, share of its time)";
        output.WriteLine($"estimator        start acc   final acc (95% interval over seeds)   rollouts   RL seconds{reach}");
        foreach (ComparedEstimator r in results)
        {
            (double low, double high) = r.FinalAccuracyInterval;
            string line = string.Create(CultureInfo.InvariantCulture, $"{r.Estimator,-16} {r.MeanStartAccuracy,9:P1}   {r.MeanFinalAccuracy,9:P1} [{low:P1}, {high:P1}]{string.Empty,10}   {r.Rollouts,8}   {r.MeanRlSeconds,10:F0}");
            if (baseline is not null)
            {
                line += Reach(r, baseline) is { } hit
                    ? string.Create(CultureInfo.InvariantCulture, $"   {hit.Seconds,8:F0} s ({hit.Seconds / baseline.MeanRlSeconds:P0})")
                    : "   never";
            }

            output.WriteLine(line);
        }
    }

    /// <summary>Where <paramref name="result"/>'s mean curve first reaches 95% of the reference's final mean accuracy.</summary>
    private static (double Rollouts, double Seconds)? Reach(ComparedEstimator result, ComparedEstimator reference) =>
        result.FirstReaching(0.95 * reference.MeanFinalAccuracy);

    private static string Report(IReadOnlyList<ComparedEstimator> results, ComparedEstimator? baseline, long budget, int seeds) => JsonSerializer.Serialize(
        new
        {
            budget_rollouts = budget,
            seeds,
            reference = baseline?.Estimator,
            results = results.Select(r => new
            {
                estimator = r.Estimator,
                final_accuracy = new { mean = r.MeanFinalAccuracy, ci95 = new[] { r.FinalAccuracyInterval.Low, r.FinalAccuracyInterval.High } },
                start_accuracy = r.MeanStartAccuracy,
                rollouts = r.Rollouts,
                wall_clock_seconds = r.MeanRlSeconds,
                per_seed = r.Runs.Select(run => new { seed = run.Seed, start = run.StartAccuracy, final = run.FinalAccuracy, rl_seconds = run.RlSeconds }),
                reaches_95pct_of_reference = baseline is null ? null : ReachJson(r, baseline),
                curve = r.MeanCurve().Select(p => new { rollouts = p.Rollouts, rl_seconds = p.Seconds, accuracy = p.Accuracy }),
            }),
        },
        new JsonSerializerOptions { WriteIndented = true });

    /// <summary>Null fields when the estimator never reaches the target.</summary>
    private static object ReachJson(ComparedEstimator result, ComparedEstimator reference)
    {
        (double Rollouts, double Seconds)? hit = Reach(result, reference);
        return new
        {
            target_accuracy = 0.95 * reference.MeanFinalAccuracy,
            rollouts = hit?.Rollouts,
            rl_seconds = hit?.Seconds,
            share_of_reference_seconds = hit?.Seconds / reference.MeanRlSeconds,
        };
    }

    /// <summary>Plain progress lines, prefixed by estimator and seed; RL steps every tenth.</summary>
    private sealed class PrefixObserver(TextWriter output, string prefix) : ITrainingObserver
    {
        public void Phase(string phase, string detail) => output.WriteLine($"{prefix} [{phase}] {detail}");

        public void Sft(SftProgress progress)
        {
            if (progress.Step == progress.TotalSteps)
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{prefix} [sft] done, loss {progress.Loss:F3}"));
            }
        }

        public void OfflineTable(int donePrompts, int totalPrompts)
        {
        }

        public void Step(StepRecord record)
        {
            if (record.HeldOutAccuracy.HasValue)
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{prefix} step {record.Step + 1}: reward {record.MeanReward:F3}, held-out {record.HeldOutAccuracy:P1}, {record.Rollouts} rollouts, {record.ElapsedSeconds:F0} s"));
            }
        }
    }
}
