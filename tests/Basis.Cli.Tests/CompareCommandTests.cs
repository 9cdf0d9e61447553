using System.Text.Json;
using Xunit;

namespace Basis.Cli.Tests;

/// <summary><c>basis compare</c> on the CI profile: equal budgets, shared warm starts, the JSON and plots.</summary>
public sealed class CompareCommandTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("basis-compare-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void EveryEstimatorGetsTheSameBudgetAndTheSameWarmStartPerSeed()
    {
        string json = Path.Combine(_directory, "out.json");

        (int exitCode, string output, string error) = Cli.Run("compare", "--config", Cli.Profile("ci.conf"), "--estimators", "basis,grpo:4", "--budget-rollouts", "24", "--seeds", "2", "--run-dir", _directory, "--json", json);

        Assert.True(exitCode == 0, error + output);
        Assert.Equal(2, output.Split("reusing the cached warm start").Length - 1); // grpo:4 reuses basis's warm start for each seed
        using JsonDocument report = JsonDocument.Parse(File.ReadAllText(json));
        JsonElement results = report.RootElement.GetProperty("results");
        Assert.Equal(["basis", "grpo:4"], results.EnumerateArray().Select(r => r.GetProperty("estimator").GetString()));
        foreach (JsonElement result in results.EnumerateArray())
        {
            Assert.Equal(24, result.GetProperty("rollouts").GetInt64());
            Assert.Equal(2, result.GetProperty("per_seed").GetArrayLength());
            Assert.Equal(2, result.GetProperty("final_accuracy").GetProperty("ci95").GetArrayLength());
        }

        Assert.True(File.Exists(Path.Combine(_directory, "compare-by-rollouts.svg")));
        Assert.True(File.Exists(Path.Combine(_directory, "compare-by-time.svg")));
    }

    private static string[] FinalAccuracies(string json)
    {
        using JsonDocument report = JsonDocument.Parse(File.ReadAllText(json));
        return [.. report.RootElement.GetProperty("results").EnumerateArray().SelectMany(r => r.GetProperty("per_seed").EnumerateArray().Select(s => $"{r.GetProperty("estimator").GetString()} {s.GetProperty("final").GetDouble():R}"))];
    }

    [Fact]
    public void ResumeReadsFinishedRunsBackAndTrainsOnlyTheMissingOnes()
    {
        string first = Path.Combine(_directory, "first.json");
        string resumed = Path.Combine(_directory, "resumed.json");
        string[] args = ["compare", "--config", Cli.Profile("ci.conf"), "--estimators", "basis,reinforce++", "--budget-rollouts", "24", "--seeds", "1", "--run-dir", _directory];
        (int exitCode, string output, string error) = Cli.Run([.. args, "--json", first]);
        Assert.True(exitCode == 0, error + output);
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        string seed = Path.GetFileName(Assert.Single(Directory.GetDirectories(_directory, "seed-*")))["seed-".Length..];
        Directory.Delete(Path.Combine(_directory, $"seed-{seed}", "reinforce++"), recursive: true); // as if stopped before its run began

        (exitCode, output, error) = Cli.Run([.. args, "--json", resumed, "--resume"]);

        Assert.True(exitCode == 0, error + output);
        Assert.Matches($@"\[basis seed {seed}\] \[resume\] resumed at step (\d+) of \1: snapshot after step", output);
        Assert.DoesNotContain($"[basis seed {seed}] step ", output); // read back, not trained again
        Assert.Contains($"[reinforce++ seed {seed}] [resume] resumed at step 0 of", output);
        Assert.Contains($"[reinforce++ seed {seed}] step ", output);
        Assert.Equal(FinalAccuracies(first), FinalAccuracies(resumed));
    }

    [Fact]
    public void ResumeWithAnotherBudgetIsRefused()
    {
        string[] args = ["compare", "--config", Cli.Profile("ci.conf"), "--estimators", "basis", "--seeds", "1", "--run-dir", _directory];
        (int exitCode, string output, string error) = Cli.Run([.. args, "--budget-rollouts", "24"]);
        Assert.True(exitCode == 0, error + output);
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();

        (exitCode, _, error) = Cli.Run([.. args, "--budget-rollouts", "12", "--resume"]);

        Assert.Equal(1, exitCode);
        Assert.Contains("--budget-rollouts 12", error);
    }

    [Fact]
    public void AnUnknownEstimatorIsRefusedBeforeAnyTraining()
    {
        (int exitCode, string output, string error) = Cli.Run("compare", "--config", Cli.Profile("ci.conf"), "--estimators", "basis,nope", "--run-dir", _directory);

        Assert.Equal(1, exitCode);
        Assert.Contains("nope", error);
        Assert.DoesNotContain("[sft]", output);
    }

    [Fact]
    public void ABudgetBelowOneStepIsRefused()
    {
        (int exitCode, _, string error) = Cli.Run("compare", "--config", Cli.Profile("ci.conf"), "--estimators", "basis", "--budget-rollouts", "3", "--run-dir", _directory);

        Assert.Equal(1, exitCode);
        Assert.Contains("--budget-rollouts 3", error);
    }
}
