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
