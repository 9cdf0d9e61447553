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

        (int exitCode, string output, string error) = Cli.Run([.. common, "--policy", policy]);
        Assert.True(exitCode == 0, error);
        Assert.Contains("20 prompts x 2 samples (0 resumed, 20 sampled)", output);
        Assert.Contains(" 0/2 ", output);

        (exitCode, output, error) = Cli.Run([.. common, "--policy", policy]);
        Assert.True(exitCode == 0, error);
        Assert.Contains("(20 resumed, 0 sampled)", output);

        (exitCode, _, error) = Cli.Run([.. common, "--policy", other]);
        Assert.Equal(1, exitCode);
        Assert.Contains("policy", error, StringComparison.OrdinalIgnoreCase);
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

    private string Checkpoint(string name, ulong seed)
    {
        var config = new TransformerConfig(TrainingRun.CreateTokenizer().VocabSize, ModelDim: 16, Layers: 1, Heads: 2, FfnDim: 24, MaxSeqLen: 16);
        string path = Path.Combine(_directory, name);
        using FileStream stream = File.Create(path);
        ModelCheckpoint.Save(stream, TransformerModel.Create(config, seed));
        return path;
    }
}
