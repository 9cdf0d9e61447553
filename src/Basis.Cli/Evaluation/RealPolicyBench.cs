using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Basis.Cli.Commands;
using Basis.Estimators;
using Basis.Estimators.Simulation;
using Basis.Hocon;
using Basis.Hocon.Configuration;
using Basis.Model;
using Basis.Model.Checkpoints;
using Basis.Rollouts;
using Basis.Tasks;
using Basis.Tasks.Datasets;
using Basis.Tasks.OfflineTable;
using Basis.Training.Run;

namespace Basis.Cli.Evaluation;

/// <summary>
/// <c>basis mse-bench</c> on a real policy: a served model or the built-in policy on a prompt set (estimators start
/// with no history; BASIS's offline table is built from N extra rollouts of the same policy), or the checkpoints of a
/// training run (<see cref="RunValueMse"/>).
/// </summary>
internal sealed class RealPolicyBench(
    PolicyOptions.Values policy, DirectoryInfo? run, string? checkpoints, int monteCarlo, int? batchSize, int batches, int offlineSamples, string? estimators, FileInfo? json)
{
    private const int GroupRollouts = 8;

    public async Task<int> RunAsync(TextWriter output, TextWriter error, bool interactive, CancellationToken cancellationToken)
    {
        IReadOnlyList<(string Label, string? Checkpoint, int History, PolicyMseReport Report, double Seconds)> results;
        string source;
        try
        {
            IReadOnlyList<string> rows = ParseRows(estimators);
            Check(monteCarlo >= 2, $"--mc must be at least 2 (got {monteCarlo}).");
            Check(batchSize is null or >= 3, $"--batch-size must be at least 3 (got {batchSize}).");
            Check(batches >= 1, $"--batches must be at least 1 (got {batches}).");
            Check(offlineSamples >= 1, $"--offline-samples must be at least 1 (got {offlineSamples}).");
            var progress = new ProgressLines(output, interactive);
            if (run is not null)
            {
                (source, results) = await MeasureRunAsync(rows, progress, output, cancellationToken);
            }
            else
            {
                (source, results) = await MeasurePolicyAsync(rows, progress, cancellationToken);
            }
        }
        catch (Exception e) when (e is ArgumentException or FormatException or HoconException or HoconOptionsException or FileNotFoundException
            or OfflineTableException or CheckpointFormatException or InvalidOperationException or RolloutBackendException or IOException)
        {
            error.WriteLine($"basis mse-bench: {e.Message}");
            // Bad options and input files are 2; a failing server or disk is 1.
            return e is RolloutBackendException || (e is IOException && e is not FileNotFoundException) ? 1 : 2;
        }

        foreach (var r in results)
        {
            WriteReport(output, r.Label, r.Report, r.Seconds);
        }

        if (json is not null)
        {
            try
            {
                await File.WriteAllTextAsync(json.FullName, ToJson(source, results), cancellationToken);
                output.WriteLine($"JSON written to {json.FullName}");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                error.WriteLine($"basis mse-bench: cannot write {json.FullName}: {e.Message}");
                return 1;
            }
        }

        return 0;
    }

    private async Task<(string, IReadOnlyList<(string, string?, int, PolicyMseReport, double)>)> MeasureRunAsync(
        IReadOnlyList<string> rows, ProgressLines progress, TextWriter output, CancellationToken cancellationToken)
    {
        var steps = new List<long>();
        foreach (string part in (checkpoints ?? "50,400,800").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            Check(long.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out long step), $"--checkpoints: '{part}' is not a step number.");
            steps.Add(step);
        }

        Check(steps.Count > 0, "--checkpoints names no step.");
        Check(batchSize is null, "--batch-size does not apply to --run: the run's own batch size is used.");
        // A run folder keeps the configuration it started with (config.json); without --config that is the one to use.
        string saved = Path.Combine(run!.FullName, "config.json");
        string[] files = policy.ConfigFiles.Length > 0 ? policy.ConfigFiles : File.Exists(saved) ? [saved] : [TrainCommand.DefaultConfig];
        output.WriteLine($"configuration: {string.Join(", ", files)}");
        TrainSettings settings = TrainSettingsLoader.Load(files);
        var options = new RunValueMseOptions(run.FullName, steps, monteCarlo, batches, rows, settings, policy.Seed);
        IReadOnlyList<RunCheckpointMse> measured = await RunValueMse.MeasureAsync(
            options, output.WriteLine, (step, done, total) => progress.Report($"step {step}: sampled", done, total), cancellationToken);
        return ($"run {run.FullName}", measured.Select(m => ($"step {m.Step}", (string?)m.Checkpoint, m.HistoryBatches, m.Report, m.Seconds)).ToArray());
    }

    private async Task<(string, IReadOnlyList<(string, string?, int, PolicyMseReport, double)>)> MeasurePolicyAsync(
        IReadOnlyList<string> rows, ProgressLines progress, CancellationToken cancellationToken)
    {
        Check(checkpoints is null, "--checkpoints applies only with --run.");
        using PolicySource source = PolicySource.Open(policy);
        TaskPrompt[] prompts = [.. source.Prompts];
        Check(prompts.Length >= 3, $"the protocol needs at least 3 prompts (got {prompts.Length}).");

        // Batches are random sets of prompts, not runs of neighbouring dataset lines.
        var random = new DeterministicRandom(policy.Seed ^ 0xBA7C_4E5UL);
        for (int i = prompts.Length - 1; i > 0; i--)
        {
            int j = (int)(random.NextUInt64() % (ulong)(i + 1));
            (prompts[i], prompts[j]) = (prompts[j], prompts[i]);
        }

        var clock = Stopwatch.StartNew();
        int n = monteCarlo + 1 + GroupRollouts + offlineSamples;
        double[][] rewards = await source.CreateSampler().SampleAsync(
            prompts, n, policy.Seed, done => progress.Report($"sampled {n} completions per prompt", done, prompts.Length), cancellationToken);
        var samples = new PromptSamples[prompts.Length];
        for (int i = 0; i < samples.Length; i++)
        {
            double[] r = rewards[i];
            int successes = (int)r[(n - offlineSamples)..].Count(x => x >= 0.5);
            samples[i] = new PromptSamples(prompts[i].Id, r[..monteCarlo], r[monteCarlo], r[(monteCarlo + 1)..(monteCarlo + 1 + GroupRollouts)], new OfflineCounts(successes, offlineSamples));
        }

        PolicyMseReport report = PolicyValueMse.Measure(samples, batchSize ?? 64, 0, rows, EstimatorCatalog.Create);
        return (source.Description, [(source.Backend.Name, null, 0, report, clock.Elapsed.TotalSeconds)]);
    }

    private static IReadOnlyList<string> ParseRows(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return PolicyValueMse.DefaultRows;
        }

        string[] rows = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (string row in rows)
        {
            Check(PolicyValueMse.KnownRows.Contains(row), $"--estimators: unknown row '{row}'; known: {string.Join(", ", PolicyValueMse.KnownRows)}.");
        }

        return rows.Distinct().ToArray();
    }

    private static void Check(bool condition, string message)
    {
        if (!condition)
        {
            throw new ArgumentException(message);
        }
    }

    private static void WriteReport(TextWriter output, string label, PolicyMseReport report, double seconds)
    {
        output.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"{label}: {report.Prompts} prompts in {report.Batches} batches, M = {report.MonteCarloRollouts}, mean V_MC = {report.MeanValue:0.000}, {seconds:0.0} s"));
        output.WriteLine($"  {"estimator",-14} {"G",2}  {"MSE (MC-corrected)",18}  {"95% CI over batches",24}");
        foreach (PolicyMseRow row in report.Rows)
        {
            output.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"  {row.Estimator,-14} {row.RolloutsPerPrompt,2}  {row.Mse.Mean,18:0.00000}  {Ci(row.Mse),24}"));
        }

        foreach (PolicyMseRatio ratio in report.Ratios)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {ratio.Name} = {ratio.Ratio.Mean:0.000} {Ci(ratio.Ratio)}"));
        }
    }

    private static string Ci(Interval interval) =>
        double.IsFinite(interval.Low) ? string.Create(CultureInfo.InvariantCulture, $"[{interval.Low:0.00000}, {interval.High:0.00000}]") : "(one batch: no interval)";

    private string ToJson(string source, IReadOnlyList<(string Label, string? Checkpoint, int History, PolicyMseReport Report, double Seconds)> results)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteString("source", source);
            writer.WriteString("backend", run is null ? policy.Backend : "builtin");
            writer.WriteNumber("monte_carlo_rollouts", monteCarlo);
            if (run is null)
            {
                writer.WriteNumber("offline_samples", offlineSamples);
            }

            writer.WriteString("basis_settings", BasisOptions.Default.Describe());
            writer.WriteStartArray("checkpoints");
            foreach (var r in results)
            {
                writer.WriteStartObject();
                writer.WriteString("label", r.Label);
                writer.WriteNumber("step", r.Report.Step);
                if (r.Checkpoint is not null)
                {
                    writer.WriteString("checkpoint", r.Checkpoint);
                    writer.WriteNumber("history_batches", r.History);
                }

                writer.WriteNumber("prompts", r.Report.Prompts);
                writer.WriteNumber("batches", r.Report.Batches);
                WriteNumberOrNull(writer, "mean_value", r.Report.MeanValue);
                writer.WriteNumber("seconds", Math.Round(r.Seconds, 2));
                writer.WriteStartArray("results");
                foreach (PolicyMseRow row in r.Report.Rows)
                {
                    writer.WriteStartObject();
                    writer.WriteString("estimator", row.Estimator);
                    writer.WriteNumber("rollouts_per_prompt", row.RolloutsPerPrompt);
                    WriteNumberOrNull(writer, "mse", row.Mse.Mean);
                    WriteInterval(writer, row.Mse);
                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
                writer.WriteStartObject("ratios");
                foreach (PolicyMseRatio ratio in r.Report.Ratios)
                {
                    writer.WriteStartObject(ratio.Name);
                    WriteNumberOrNull(writer, "ratio", ratio.Ratio.Mean);
                    WriteInterval(writer, ratio.Ratio);
                    writer.WriteEndObject();
                }

                writer.WriteEndObject();
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    // JSON has no NaN or infinity: a ratio over a zero MSE is written as null.
    private static void WriteNumberOrNull(Utf8JsonWriter writer, string name, double value)
    {
        if (double.IsFinite(value))
        {
            writer.WriteNumber(name, value);
        }
        else
        {
            writer.WriteNull(name);
        }
    }

    private static void WriteInterval(Utf8JsonWriter writer, Interval interval)
    {
        writer.WriteStartArray("ci95");
        foreach (double value in new[] { interval.Low, interval.High })
        {
            if (double.IsFinite(value))
            {
                writer.WriteNumberValue(value);
            }
            else
            {
                writer.WriteNullValue();
            }
        }

        writer.WriteEndArray();
    }
}

/// <summary>Progress as a line at every tenth of the work (or a carriage-return line on a terminal).</summary>
internal sealed class ProgressLines(TextWriter output, bool interactive)
{
    private readonly Lock _gate = new();
    private string? _lastKey;
    private int _lastTenth = -1;

    public void Report(string what, int done, int total)
    {
        lock (_gate)
        {
            int tenth = total == 0 ? 10 : done * 10 / total;
            if (interactive)
            {
                output.Write(string.Create(CultureInfo.InvariantCulture, $"\r{what} {done}/{total} prompts   "));
                if (done == total)
                {
                    output.WriteLine();
                }

                return;
            }

            if (what != _lastKey)
            {
                _lastKey = what;
                _lastTenth = -1;
            }

            if (tenth > _lastTenth)
            {
                _lastTenth = tenth;
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{what}: {done}/{total} prompts"));
            }
        }
    }
}
