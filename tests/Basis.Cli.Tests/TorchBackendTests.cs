using Basis.Model;
using Basis.Model.Checkpoints;
using Microsoft.Data.Sqlite;
using Xunit;

namespace Basis.Cli.Tests;

/// <summary><c>basis train --backend torchsharp</c> end to end: the RL run on libtorch, its journal replayed and verified, its checkpoints read by the built-in model.</summary>
public sealed class TorchBackendTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("basis-torch-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public void AFiftyStepRunOnTorchSharpCompletesAndItsJournalVerifies()
    {
        string run = Path.Combine(_directory, "run");
        string steps = Path.Combine(_directory, "fifty-steps.conf");
        File.WriteAllText(steps, "basis.train.steps = 50\n");

        (int exitCode, string output, string error) = Cli.Run("train", "--config", Cli.Profile("ci.conf"), "--config", steps, "--backend", "torchsharp", "--run-dir", run);

        Assert.True(exitCode == 0, error);
        Assert.Contains("parameters on the torchsharp:cpu backend", output);
        Assert.Contains("after 50 steps, 400 rollouts", output);

        (exitCode, output, error) = Cli.Run("replay", run, "--verify");
        Assert.True(exitCode == 0, error);
        Assert.Contains("50 PolicyUpdated.v1", output);
        Assert.Contains("verify: 50 batches, 400 advantages recomputed, all bit-identical", output);

        // The checkpoints the libtorch run wrote are the built-in model's format, and RL moved the policy.
        TransformerModel warmStart = Load(Path.Combine(run, "sft.safetensors"));
        TransformerModel final = Load(Path.Combine(run, "checkpoints", "final.safetensors"));
        Assert.Equal(warmStart.Config, final.Config);
        Assert.NotEqual(warmStart.ComputeHash(), final.ComputeHash());
    }

    [Fact]
    public void AnUnknownBackendIsRefused()
    {
        (int exitCode, _, string error) = Cli.Run("train", "--config", Cli.Profile("ci.conf"), "--backend", "onnx", "--run-dir", Path.Combine(_directory, "run"));

        Assert.NotEqual(0, exitCode);
        Assert.Contains("onnx", error);
    }

    private static TransformerModel Load(string path)
    {
        using FileStream stream = File.OpenRead(path);
        return ModelCheckpoint.Load(stream, path);
    }
}
