using System.Text.Json;
using Basis.Model;
using Basis.Model.Checkpoints;
using Basis.Training.Run;
using Xunit;

namespace Basis.Cli.Tests;

/// <summary><c>basis offline-table</c>: builds, resumes, and refuses a table started by another policy.</summary>
public sealed class OfflineTableCommandTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("basis-offline-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void BuildsResumesAndRefusesAnotherPolicy()
    {
        string policy = Checkpoint("policy.safetensors", seed: 1);
        string other = Checkpoint("other.safetensors", seed: 2);
        string table = Path.Combine(_directory, "table.jsonl");
        string[] common = ["offline-table", "--samples", "2", "--out", table, "--train-size", "20", "--tiers", "add-1d", "--max-new-tokens", "3"];

        (int exitCode, string output, string error) = Cli.Run([.. common, "--eval-size", "0", "--policy", policy]);
        Assert.True(exitCode == 0, error);
        Assert.Contains("20 prompts x 2 samples (0 resumed, 20 sampled)", output);
        Assert.Contains(" 0/2 ", output);

        (exitCode, output, error) = Cli.Run([.. common, "--eval-size", "0", "--policy", policy]);
        Assert.True(exitCode == 0, error);
        Assert.Contains("(20 resumed, 0 sampled)", output);

        (exitCode, _, error) = Cli.Run([.. common, "--eval-size", "0", "--policy", other]);
        Assert.Equal(1, exitCode);
        Assert.Contains("policy", error, StringComparison.OrdinalIgnoreCase);

        // add-1d has 100 distinct prompts: 20 training plus 400 held-out ones cannot be drawn from it.
        (exitCode, _, error) = Cli.Run([.. common, "--eval-size", "400", "--policy", policy]);
        Assert.Equal(1, exitCode);
        Assert.StartsWith("basis offline-table: ", error, StringComparison.Ordinal);
        Assert.Contains("ran out of distinct prompts", error);
    }

    [Fact]
    public void TheConfigurationGivesTheTableThatTrainWouldBuild()
    {
        string policy = Checkpoint("policy.safetensors", seed: 1);
        string config = Path.Combine(_directory, "small.conf");
        File.WriteAllText(config, """
            basis {
              run.seed = 7
              task { train-size = 20, eval-size = 5, tiers = [add-1d, addsub-2d-nocarry] }
              offline-table.samples = 2
              train.max-new-tokens = 3
            }
            """);
        var task = new TaskSettings { Seed = 7, TrainSize = 20, EvalSize = 5, Tiers = ["add-1d", "addsub-2d-nocarry"] };

        string fromConfig = Path.Combine(_directory, "config.jsonl");
        (int exitCode, _, string error) = Cli.Run("offline-table", "--config", config, "--policy", policy, "--out", fromConfig);
        Assert.True(exitCode == 0, error);
        JsonElement header = Header(fromConfig);
        Assert.Equal(TrainingRun.GenerateTasks(task).TrainHash, header.GetProperty("taskSetHash").GetString());
        Assert.Equal(2, header.GetProperty("samplesPerPrompt").GetInt32());
        Assert.Equal(TrainingRun.OfflineTableSeed(7), header.GetProperty("seed").GetUInt64());

        // Options override the configuration; tiers may be comma-separated, as a HOCON list reads.
        string overridden = Path.Combine(_directory, "overridden.jsonl");
        (exitCode, _, error) = Cli.Run(
            "offline-table", "--config", config, "--policy", policy, "--out", overridden, "--tiers", "add-1d,addsub-2d-carry", "--seed", "8", "--samples", "3");
        Assert.True(exitCode == 0, error);
        header = Header(overridden);
        var other = new TaskSettings { Seed = 8, TrainSize = 20, EvalSize = 5, Tiers = ["add-1d", "addsub-2d-carry"] };
        Assert.Equal(TrainingRun.GenerateTasks(other).TrainHash, header.GetProperty("taskSetHash").GetString());
        Assert.Equal(3, header.GetProperty("samplesPerPrompt").GetInt32());
        Assert.Equal(TrainingRun.OfflineTableSeed(8), header.GetProperty("seed").GetUInt64());
    }

    [Fact]
    public void ATruncatedCheckpointIsAClearError()
    {
        string broken = Path.Combine(_directory, "broken.safetensors");
        File.WriteAllBytes(broken, [1, 2, 3]);

        (int exitCode, _, string error) = Cli.Run("offline-table", "--policy", broken, "--out", Path.Combine(_directory, "t.jsonl"));

        Assert.Equal(1, exitCode);
        Assert.StartsWith("basis offline-table: ", error, StringComparison.Ordinal);
        Assert.Contains("broken.safetensors", error);
    }

    private static JsonElement Header(string table) => JsonDocument.Parse(File.ReadLines(table).First()).RootElement.Clone();

    private string Checkpoint(string name, ulong seed)
    {
        var config = new TransformerConfig(TrainingRun.CreateTokenizer().VocabSize, ModelDim: 16, Layers: 1, Heads: 2, FfnDim: 24, MaxSeqLen: 16);
        string path = Path.Combine(_directory, name);
        using FileStream stream = File.Create(path);
        ModelCheckpoint.Save(stream, TransformerModel.Create(config, seed));
        return path;
    }
}
