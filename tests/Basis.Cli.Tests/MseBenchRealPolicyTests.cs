using System.Globalization;
using System.Text.Json;
using Basis.Estimators;
using Basis.Estimators.Simulation;
using Xunit;

namespace Basis.Cli.Tests;

/// <summary><c>basis mse-bench</c> on real policies: the protocol itself, a served model (fake server) and a run's checkpoints.</summary>
public sealed class MseBenchRealPolicyTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("basis-mse-real-");

    public void Dispose() => _directory.Delete(recursive: true);

    [Fact]
    public void GroupAndBatchMeanRowsAreMonteCarloCorrectedSquaredErrors()
    {
        // Three prompts, M = 4, a group of 2.
        PromptSamples[] samples =
        [
            new("a", [1, 1, 1, 0], 1, [1, 0], null),
            new("b", [0, 0, 0, 0], 0, [0, 0], null),
            new("c", [1, 0, 1, 0], 1, [1, 1], null),
        ];
        double[] vMc = [0.75, 0, 0.5];
        double noise = vMc.Average(v => v * (1 - v)) / 3;

        PolicyMseReport report = PolicyValueMse.Measure(samples, 3, 0, ["reinforce++", "group-mean-2", "rloo-2"], EstimatorCatalog.Create);

        double batchMean = 2.0 / 3;
        double expectedReinforce = vMc.Average(v => (batchMean - v) * (batchMean - v)) - noise;
        double[] groupMeans = [0.5, 0, 1];
        double expectedGroup = vMc.Select((v, i) => (groupMeans[i] - v) * (groupMeans[i] - v)).Average() - noise;

        // RLOO with G = 2: each rollout's baseline is the other rollout.
        double[] rlooErrors = [(0 - 0.75) * (0 - 0.75), (1 - 0.75) * (1 - 0.75), 0, 0, 0.25, 0.25];
        double expectedRloo = rlooErrors.Average() - noise;
        Assert.Equal(expectedReinforce, Row(report, "reinforce++"), 12);
        Assert.Equal(expectedGroup, Row(report, "group-mean-2"), 12);
        Assert.Equal(expectedRloo, Row(report, "rloo-2"), 12);
        Assert.Equal(1, report.Batches);
        Assert.Equal(vMc.Average(), report.MeanValue, 12);
    }

    [Fact]
    public void EachBatchIsScoredSeparatelyAndTheRatioIsOfMeanMses()
    {
        var random = new Random(3);
        PromptSamples[] samples = Enumerable.Range(0, 40).Select(i =>
        {
            double p = (i % 10) / 10.0;
            double Draw() => random.NextDouble() < p ? 1 : 0;
            return new PromptSamples($"p{i}", Enumerable.Range(0, 16).Select(_ => Draw()).ToArray(), Draw(), Enumerable.Range(0, 8).Select(_ => Draw()).ToArray(), new OfflineCounts((int)(p * 8), 8));
        }).ToArray();

        PolicyMseReport report = PolicyValueMse.Measure(samples, 10, 0, ["basis", "reinforce++", "group-mean-8"], EstimatorCatalog.Create);

        Assert.Equal(4, report.Batches);
        PolicyMseRow basis = report.Rows.Single(r => r.Estimator == "basis");
        PolicyMseRow reinforce = report.Rows.Single(r => r.Estimator == "reinforce++");
        Assert.Equal(4, basis.PerBatch.Count);
        Assert.Equal(basis.PerBatch.Average(), basis.Mse.Mean, 12);
        PolicyMseRatio ratio = report.Ratios.Single(r => r.Name == "basis/reinforce++");
        Assert.Equal(basis.Mse.Mean / reinforce.Mse.Mean, ratio.Ratio.Mean, 12);
        Assert.Contains(report.Ratios, r => r.Name == "basis/group-mean-8");
    }

    [Fact]
    public void UnknownRowsAndTooSmallGroupsAreRejected()
    {
        PromptSamples[] samples = [new("a", [1, 0], 1, [1, 0], null), new("b", [1, 0], 1, [1, 0], null), new("c", [1, 0], 1, [1, 0], null)];

        Assert.Contains("Unknown value-MSE row 'grpo'", Assert.Throws<ArgumentException>(() => PolicyValueMse.Measure(samples, 3, 0, ["grpo"], EstimatorCatalog.Create)).Message);
        Assert.Contains("needs 8 group rollouts", Assert.Throws<ArgumentException>(() => PolicyValueMse.Measure(samples, 3, 0, ["group-mean-8"], EstimatorCatalog.Create)).Message);
    }

    [Fact]
    public async Task AServedModelIsMeasuredWithOneSeededRequestPerPromptAndRepeatsItself()
    {
        var prompts = new Dictionary<string, (string Gold, double P)>();
        string dataset = Path.Combine(_directory.FullName, "served.jsonl");
        using (var writer = new StreamWriter(dataset))
        {
            for (int i = 0; i < 24; i++)
            {
                string question = string.Create(CultureInfo.InvariantCulture, $"What is {i} times 3?");
                string gold = (3 * i).ToString(CultureInfo.InvariantCulture);
                writer.WriteLine(JsonSerializer.Serialize(new { question, answer = $"#### {gold}" }));
                prompts[question] = (gold, (i % 6) / 5.0);
            }
        }

        await using EvalFakeCompletionsServer server = EvalFakeCompletionsServer.Start(prompts);
        string first = Path.Combine(_directory.FullName, "first.json");
        string second = Path.Combine(_directory.FullName, "second.json");
        string[] Args(string json) =>
        [
            "mse-bench", "--backend", "openai", "--endpoint", server.Endpoint, "--model", "served", "--dataset", dataset,
            "--mc", "8", "--batch-size", "8", "--offline-samples", "4", "--json", json,
        ];

        (int exitCode, string output, string error) = Cli.Run(Args(first));

        Assert.True(exitCode == 0, error + output);
        Assert.Equal(24, server.Requests.Count);
        Assert.All(server.Requests, r => Assert.Equal(8 + 1 + 8 + 4, r.GetProperty("n").GetInt32()));
        Assert.Equal(24, server.Requests.Select(r => r.GetProperty("seed").GetInt64()).Distinct().Count());
        Assert.Contains("basis/reinforce++ = ", output);
        using (JsonDocument document = JsonDocument.Parse(File.ReadAllText(first)))
        {
            JsonElement checkpoint = Assert.Single(document.RootElement.GetProperty("checkpoints").EnumerateArray());
            Assert.Equal(24, checkpoint.GetProperty("prompts").GetInt32());
            Assert.Equal(3, checkpoint.GetProperty("batches").GetInt32());
            string[] rows = [.. checkpoint.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("estimator").GetString()!)];
            Assert.Equal(PolicyValueMse.DefaultRows, rows);
            Assert.True(checkpoint.GetProperty("ratios").TryGetProperty("basis/group-mean-8", out _));
        }

        Assert.Equal(0, Cli.Run(Args(second)).ExitCode);
        Assert.Equal(Results(first), Results(second));
    }

    [Fact]
    public void ARunIsMeasuredAtItsCheckpointsWithTheEstimatorsReplayedFromItsJournal()
    {
        string runDir = Path.Combine(_directory.FullName, "run");
        string everyStep = Path.Combine(_directory.FullName, "every-step.conf");
        File.WriteAllText(everyStep, "basis.run.checkpoint-every = 1\n");
        (int trained, string trainOutput, string trainError) = Cli.Run("train", "--config", Cli.Profile("ci.conf"), "--config", everyStep, "--run-dir", runDir);
        Assert.True(trained == 0, trainError + trainOutput);
        string json = Path.Combine(_directory.FullName, "run.json");
        string[] filesBefore = RunFiles(runDir);

        (int exitCode, string output, string error) = Cli.Run(
            "mse-bench", "--run", runDir, "--checkpoints", "0,2", "--mc", "4", "--batches", "2", "--json", json);

        Assert.True(exitCode == 0, error + output);

        // Without --config the run's own saved configuration rebuilds its task set.
        Assert.Contains($"configuration: {Path.Combine(runDir, "config.json")}", output);
        Assert.Contains("task set and prompt schedule match the journal", output);
        using JsonDocument document = JsonDocument.Parse(File.ReadAllText(json));
        JsonElement[] checkpoints = [.. document.RootElement.GetProperty("checkpoints").EnumerateArray()];
        Assert.Equal([0L, 2L], checkpoints.Select(c => c.GetProperty("step").GetInt64()));
        Assert.Equal([0, 2], checkpoints.Select(c => c.GetProperty("history_batches").GetInt32()));
        Assert.Equal("sft.safetensors", checkpoints[0].GetProperty("checkpoint").GetString());
        Assert.Equal(Path.Combine("checkpoints", "step-000002.safetensors"), checkpoints[1].GetProperty("checkpoint").GetString());
        Assert.All(checkpoints, c => Assert.Equal(2 * 8, c.GetProperty("prompts").GetInt32()));
        Assert.Equal(filesBefore, RunFiles(runDir));
    }

    [Fact]
    public void ARunMeasuredWithAnotherTaskConfigurationIsRefused()
    {
        string runDir = Path.Combine(_directory.FullName, "run");
        Assert.Equal(0, Cli.Run("train", "--config", Cli.Profile("ci.conf"), "--run-dir", runDir).ExitCode);
        string other = Path.Combine(_directory.FullName, "other.conf");
        File.WriteAllText(other, "basis.task.train-size = 40\n");

        (int exitCode, _, string error) = Cli.Run("mse-bench", "--run", runDir, "--config", Cli.Profile("ci.conf"), "--config", other, "--checkpoints", "0");

        Assert.Equal(2, exitCode);
        Assert.Contains("pass the --config the run was trained with", error);
    }

    [Theory]
    [InlineData("--mc", "1", "--mc must be at least 2")]
    [InlineData("--estimators", "basis,grpo", "--estimators: unknown row 'grpo'")]
    public void BadOptionsAreNamed(string option, string value, string expected)
    {
        (int exitCode, _, string error) = Cli.Run("mse-bench", "--backend", "openai", "--endpoint", "http://127.0.0.1:9", "--model", "m", "--dataset", "x.jsonl", option, value);

        Assert.Equal(2, exitCode);
        Assert.Contains(expected, error);
    }

    // Names, sizes and write times: the run folder is only read.
    private static string[] RunFiles(string runDir) =>
        [.. Directory.EnumerateFiles(runDir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            .Select(f => $"{f} {new FileInfo(f).Length} {File.GetLastWriteTimeUtc(f):O}")];

    private static double Row(PolicyMseReport report, string name) => report.Rows.Single(r => r.Estimator == name).Mse.Mean;

    private static string Results(string json)
    {
        using JsonDocument document = JsonDocument.Parse(File.ReadAllText(json));
        return string.Join("\n", document.RootElement.GetProperty("checkpoints").EnumerateArray().Select(c => c.GetProperty("results").GetRawText() + c.GetProperty("ratios").GetRawText()));
    }
}
