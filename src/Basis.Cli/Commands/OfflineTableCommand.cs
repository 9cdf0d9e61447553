using System.CommandLine;
using System.Globalization;
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
        var samples = new Option<int>("--samples") { Description = "Completions sampled per prompt (N).", DefaultValueFactory = _ => 8 };
        var output = new Option<FileInfo>("--out") { Description = "The table file (JSONL). An interrupted build resumes from it.", Required = true };
        var tiers = new Option<string[]>("--tiers") { Description = "Synthetic difficulty tiers, as in basis.task.tiers (default: all eight tiers of the generator).", AllowMultipleArgumentsPerToken = true };
        var trainSize = new Option<int>("--train-size") { Description = "Synthetic training prompts.", DefaultValueFactory = _ => 4000 };
        var seed = new Option<ulong>("--seed") { Description = "Task generator seed (synthetic) and sampling seed.", DefaultValueFactory = _ => 42 };
        var temperature = new Option<float>("--temperature") { Description = "Sampling temperature.", DefaultValueFactory = _ => 1f };
        var maxTokens = new Option<int>("--max-new-tokens") { Description = "Completion length limit.", DefaultValueFactory = _ => 8 };
        var allowMismatch = new Option<bool>("--allow-policy-mismatch") { Description = "Resume a table that a different policy (hash) started, instead of refusing." };
        var command = new Command(
            "offline-table",
            "Build the offline value table: N completions per prompt from the reference policy, verified, stored as successes and N per prompt id "
            + "with the policy's and the task set's hashes. Resumable: run it again after an interruption. Exit code 1 on bad input.")
        {
            policy, task, samples, output, tiers, trainSize, seed, temperature, maxTokens, allowMismatch,
        };
        command.SetAction(parseResult =>
        {
            TextWriter stdout = parseResult.InvocationConfiguration.Output;
            TextWriter stderr = parseResult.InvocationConfiguration.Error;
            try
            {
                TransformerModel model;
                FileInfo policyFile = parseResult.GetValue(policy)!;
                using (FileStream stream = policyFile.OpenRead())
                {
                    model = ModelCheckpoint.Load(stream, policyFile.FullName);
                }

                IReadOnlyList<TaskPrompt> prompts = LoadPrompts(parseResult.GetValue(task)!, parseResult.GetValue(tiers), parseResult.GetValue(trainSize), parseResult.GetValue(seed));
                var text = new PolicyText(TrainingRun.CreateTokenizer());
                var sampler = new TransformerCompletionSampler(model, text, new SamplingOptions(parseResult.GetValue(temperature), MaxNewTokens: parseResult.GetValue(maxTokens)));
                var builder = new OfflineTableBuilder(sampler, VerifierRegistry.CreateDefault());
                OfflineTableBuildResult result = builder.Build(
                    prompts,
                    model.ComputeHash(),
                    parseResult.GetValue(output)!.FullName,
                    new OfflineTableBuildOptions
                    {
                        SamplesPerPrompt = parseResult.GetValue(samples),
                        BatchSize = 64,
                        Seed = parseResult.GetValue(seed),
                        AllowPolicyMismatch = parseResult.GetValue(allowMismatch),
                    });
                double mean = result.Table.Counts.Values.Select(c => c.PassRate).DefaultIfEmpty(0).Average();
                stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"offline table: {result.Table.Counts.Count} prompts x {result.Table.Header.SamplesPerPrompt} samples ({result.ResumedPrompts} resumed, {result.SampledPrompts} sampled), mean pass rate {mean:F3}"));
                stdout.WriteLine(Histogram(result.Table));
                return 0;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or CheckpointFormatException or OfflineTableException or DatasetFormatException or ArgumentException)
            {
                stderr.WriteLine($"basis offline-table: {e.Message}");
                return 1;
            }
        });
        return command;
    }

    private static IReadOnlyList<TaskPrompt> LoadPrompts(string task, string[]? tiers, int trainSize, ulong seed)
    {
        if (!string.Equals(task, "synthetic", StringComparison.Ordinal))
        {
            return JsonlDataset.Read(task).ToList();
        }

        IReadOnlyList<ArithmeticTier> selected = TrainingRun.SelectTiers(tiers ?? []);
        return ArithmeticTaskGenerator.Generate(new ArithmeticTaskConfig { Seed = seed, TrainSize = trainSize, EvalSize = 0, Tiers = selected }).Train;
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
