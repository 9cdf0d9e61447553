using System.CommandLine;
using System.Globalization;
using Basis.Hocon;
using Basis.Hocon.Configuration;
using Basis.Model;
using Basis.Model.Checkpoints;
using Basis.Model.Sampling;
using Basis.Tasks;
using Basis.Tasks.Datasets;
using Basis.Tasks.OfflineTable;
using Basis.Tasks.Synthetic;
using Basis.Tasks.Verification;
using Basis.Training.Policy;
using Basis.Training.Run;

namespace Basis.Cli.Commands;

/// <summary><c>basis offline-table</c>: BASIS's reference pass rates, sampled from a policy checkpoint.</summary>
internal static class OfflineTableCommand
{
    public static Command Create()
    {
        var policy = new Option<FileInfo>("--policy") { Description = "Reference policy: a safetensors checkpoint of the built-in transformer (e.g. RUN/sft.safetensors).", Required = true };
        var task = new Option<string>("--task")
        {
            Description = "Prompts: 'synthetic' (the arithmetic generator; see --tiers, --train-size, --seed) or a JSONL file with question/prompt and answer fields.",
            DefaultValueFactory = _ => "synthetic",
        };
        var config = new Option<string[]>("--config")
        {
            Description = $"HOCON file layered on hocon/reference.conf (repeatable; later files win). Default: {TrainCommand.DefaultConfig}. "
                + "Its basis.task, basis.offline-table and basis.train sections give every default below, so the table is the one `basis train` would build.",
            DefaultValueFactory = _ => [],
        };
        var samples = new Option<int?>("--samples") { Description = "Completions sampled per prompt (N). Default: basis.offline-table.samples." };
        var output = new Option<FileInfo>("--out") { Description = "The table file (JSONL). An interrupted build resumes from it.", Required = true };
        var tiers = new Option<string[]>("--tiers")
        {
            Description = "Synthetic difficulty tiers, space- or comma-separated. Default: basis.task.tiers.",
            AllowMultipleArgumentsPerToken = true,
        };
        var trainSize = new Option<int?>("--train-size") { Description = "Synthetic training prompts. Default: basis.task.train-size." };
        var evalSize = new Option<int?>("--eval-size") { Description = "Synthetic held-out prompts, which the training prompts exclude. Default: basis.task.eval-size." };
        var seed = new Option<ulong?>("--seed") { Description = "Run seed: the task generator's seed and, as in `basis train`, the source of the sampling seed. Default: basis.run.seed." };
        var temperature = new Option<float?>("--temperature") { Description = "Sampling temperature. Default: basis.offline-table.temperature." };
        var maxTokens = new Option<int?>("--max-new-tokens") { Description = "Completion length limit. Default: basis.train.max-new-tokens." };
        var allowMismatch = new Option<bool>("--allow-policy-mismatch") { Description = "Resume a table that a different policy (hash) started, instead of refusing." };
        var command = new Command(
            "offline-table",
            "Build the offline value table: N completions per prompt from the reference policy, verified, stored as successes and N per prompt id "
            + "with the policy's and the task set's hashes. Resumable: run it again after an interruption. Exit code 1 on bad input.")
        {
            policy, task, config, samples, output, tiers, trainSize, evalSize, seed, temperature, maxTokens, allowMismatch,
        };
        command.SetAction(parseResult =>
        {
            TextWriter stdout = parseResult.InvocationConfiguration.Output;
            TextWriter stderr = parseResult.InvocationConfiguration.Error;
            try
            {
                // Without --config, local.conf next to the reference.conf in use, so the command works from any folder.
                string[] files = parseResult.GetValue(config) is { Length: > 0 } given ? given
                    : [Path.Combine(Path.GetDirectoryName(HoconConfiguration.LocateReferenceFile())!, Path.GetFileName(TrainCommand.DefaultConfig))];
                TrainSettings settings = TrainSettingsLoader.Load(files);
                if (parseResult.GetValue(seed) is ulong runSeed)
                {
                    settings.Run.Seed = runSeed;
                    settings.Task.Seed = runSeed;
                }

                settings.Task.TrainSize = parseResult.GetValue(trainSize) ?? settings.Task.TrainSize;
                settings.Task.EvalSize = parseResult.GetValue(evalSize) ?? settings.Task.EvalSize;
                if (parseResult.GetValue(tiers) is { Length: > 0 } names)
                {
                    settings.Task.Tiers = names.SelectMany(n => n.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();
                }

                TransformerModel model;
                FileInfo policyFile = parseResult.GetValue(policy)!;
                using (FileStream stream = policyFile.OpenRead())
                {
                    model = ModelCheckpoint.Load(stream, policyFile.FullName);
                }

                IReadOnlyList<TaskPrompt> prompts = LoadPrompts(parseResult.GetValue(task)!, settings.Task);
                var text = new PolicyText(TrainingRun.CreateTokenizer());
                var sampling = new SamplingOptions(
                    parseResult.GetValue(temperature) ?? (float)settings.OfflineTable.Temperature,
                    MaxNewTokens: parseResult.GetValue(maxTokens) ?? settings.Train.MaxNewTokens);
                var builder = new OfflineTableBuilder(new TransformerCompletionSampler(model, text, sampling), VerifierRegistry.CreateDefault());
                OfflineTableBuildResult result = builder.Build(
                    prompts,
                    model.ComputeHash(),
                    parseResult.GetValue(output)!.FullName,
                    new OfflineTableBuildOptions
                    {
                        SamplesPerPrompt = parseResult.GetValue(samples) ?? settings.OfflineTable.Samples,
                        BatchSize = TrainingRun.OfflineTableBatchSize,
                        Seed = TrainingRun.OfflineTableSeed(settings.Run.Seed),
                        AllowPolicyMismatch = parseResult.GetValue(allowMismatch) || settings.OfflineTable.AllowPolicyMismatch,
                    });
                double mean = result.Table.Counts.Values.Select(c => c.PassRate).DefaultIfEmpty(0).Average();
                stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"offline table: {result.Table.Counts.Count} prompts x {result.Table.Header.SamplesPerPrompt} samples ({result.ResumedPrompts} resumed, {result.SampledPrompts} sampled), mean pass rate {mean:F3}"));
                stdout.WriteLine(Histogram(result.Table));
                return 0;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or CheckpointFormatException or OfflineTableException or DatasetFormatException
                or ArgumentException or HoconException or HoconOptionsException or InvalidOperationException)
            {
                stderr.WriteLine($"basis offline-table: {e.Message}");
                return 1;
            }
        });
        return command;
    }

    private static IReadOnlyList<TaskPrompt> LoadPrompts(string task, TaskSettings settings)
    {
        if (!string.Equals(task, "synthetic", StringComparison.Ordinal))
        {
            return JsonlDataset.Read(task).ToList();
        }

        return TrainingRun.GenerateTasks(settings).Train;
    }

    /// <summary>Prompts per pass-rate bucket k/N, as a bar chart in text.</summary>
    internal static string Histogram(OfflineTableData table)
    {
        int n = table.Header.SamplesPerPrompt;
        var counts = new int[n + 1];
        foreach (PromptPassCount c in table.Counts.Values)
        {
            counts[Math.Clamp(c.Successes, 0, n)]++;
        }

        int max = Math.Max(1, counts.Max());
        var lines = new List<string>();
        for (int k = 0; k <= n; k++)
        {
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"  {k,2}/{n} {counts[k],6} {new string('#', (int)Math.Round(40.0 * counts[k] / max))}"));
        }

        return string.Join(Environment.NewLine, lines);
    }
}
