using System.Globalization;
using System.Text.Json;
using Xunit;

namespace Basis.Cli.Tests;

/// <summary><c>basis train</c> end to end on the tiny CI profile (seconds): every phase, every file of the run folder.</summary>
public sealed class TrainCommandTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("basis-train-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void TrainOnTheCiProfileWritesSummaryMetricsPlotsAndCheckpoints()
    {
        string runDir = Path.Combine(_directory, "run");

        (int exitCode, string output, string error) = Cli.Run("train", "--config", Cli.Profile("ci.conf"), "--run-dir", runDir);

        Assert.True(exitCode == 0, error + output);
        Assert.Contains("[sft]", output);
        Assert.Contains("[offline-table]", output);
        Assert.Contains("[rl] step 3/3", output);
        using JsonDocument summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(runDir, "summary.json")));
        Assert.Equal(3, summary.RootElement.GetProperty("steps").GetInt32());
        Assert.Equal(3 * 8, summary.RootElement.GetProperty("rollouts").GetInt64());
        double start = summary.RootElement.GetProperty("start_accuracy").GetDouble();
        Assert.InRange(start, 0, 1);

        string[] metrics = File.ReadAllLines(Path.Combine(runDir, "metrics.csv"));
        Assert.Equal(1 + 1 + 3, metrics.Length); // header, the evaluation before RL, three steps
        Assert.StartsWith("step,rollouts,", metrics[0], StringComparison.Ordinal);
        Assert.Equal(2, int.Parse(metrics[^1].Split(',')[0], CultureInfo.InvariantCulture));
        Assert.True(File.Exists(Path.Combine(runDir, "curves-by-step.svg")));
        Assert.True(File.Exists(Path.Combine(runDir, "curves-by-time.svg")));
        Assert.True(File.Exists(Path.Combine(runDir, "checkpoints", "final.safetensors")));
        Assert.True(File.Exists(Path.Combine(runDir, "sft.safetensors")));
    }

    [Fact]
    public void TheAsyncProfileTrainsWithLowPriorityGeneratorsAndAShardedLearner()
    {
        string runDir = Path.Combine(_directory, "async");
        string longer = Path.Combine(_directory, "longer.conf");
        File.WriteAllText(longer, "basis.train.steps = 6");

        (int exitCode, string output, string error) = Cli.Run("train", "--config", Cli.Profile("ci.conf"), "--config", Cli.Profile("async.conf"), "--config", longer, "--run-dir", runDir);

        Assert.True(exitCode == 0, error + output);
        Assert.Contains("[rl] step 6/6", output);
        Assert.Contains("[summary] stage busy during RL: prompt-source", output);
        using JsonDocument summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(runDir, "summary.json")));
        Assert.Equal(6 * 8, summary.RootElement.GetProperty("rollouts").GetInt64());
        JsonElement[] stages = [.. summary.RootElement.GetProperty("stages").EnumerateArray()];
        JsonElement learner = Assert.Single(stages, s => s.GetProperty("stage").GetString() == "learner");
        Assert.InRange(learner.GetProperty("busy_fraction").GetDouble(), double.Epsilon, 1); // it did work
        Assert.All(stages, s => Assert.InRange(s.GetProperty("busy_fraction").GetDouble(), 0, 1));
        Assert.Contains(stages, s => s.GetProperty("stage").GetString()!.StartsWith("generator-0", StringComparison.Ordinal));
    }

    [Fact]
    public void ASecondRunReusesTheCachedWarmStart()
    {
        string runDir = Path.Combine(_directory, "run");
        Assert.Equal(0, Cli.Run("train", "--config", Cli.Profile("ci.conf"), "--run-dir", runDir).ExitCode);

        (int exitCode, string output, string error) = Cli.Run("train", "--config", Cli.Profile("ci.conf"), "--run-dir", runDir);

        Assert.True(exitCode == 0, error);
        Assert.Contains("reusing the cached warm start", output);
    }

    [Fact]
    public void AnInvalidValueNamesItsKeyAndFileAndExitsWith1()
    {
        string bad = Path.Combine(_directory, "bad.conf");
        File.WriteAllText(bad, "basis.train.steps = 0\n");

        (int exitCode, _, string error) = Cli.Run("train", "--config", Cli.Profile("ci.conf"), "--config", bad);

        Assert.Equal(1, exitCode);
        Assert.Contains("basis.train.steps", error);
        Assert.Contains("bad.conf", error);
    }

    [Fact]
    public void AMissingConfigFileIsAClearError()
    {
        (int exitCode, _, string error) = Cli.Run("train", "--config", Path.Combine(_directory, "nope.conf"));

        Assert.Equal(1, exitCode);
        Assert.Contains("nope.conf", error);
        Assert.Contains("does not exist", error);
    }
}
