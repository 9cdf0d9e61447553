using Basis.Estimators.Simulation;

namespace Basis.Estimators.Tests;

public sealed class SimulationTests
{
    private const string Tiny = """
        { "prompts": 120, "batch_size": 40, "offline_samples": 8, "checkpoints": [0, 6], "seeds": [1, 2, 3],
          "improvement": { "kind": "logit-shift", "mean_rate": 0.05, "rate_spread": 0.5, "noise": 0.1 } }
        """;

    [Fact]
    public void EmptyScenarioIsTheDocumentedDefault()
    {
        Scenario s = ScenarioJson.Parse("{}");
        Assert.Equal(2000, s.Prompts);
        Assert.Equal(256, s.BatchSize);
        Assert.Equal(8, s.OfflineSamples);
        Assert.Equal([0L, 50, 100, 150, 200], s.Checkpoints);
        Assert.Equal(new LogitShiftImprovement(0.006, 0.5, 0.1), s.Improvement);
        Assert.Equal([new DifficultyComponent(0.6, 0.5, 1.5), new DifficultyComponent(0.4, 3, 1.5)], s.Difficulty);
    }

    [Theory]
    [InlineData("{\"prompts\": \"many\"}", "prompts")]
    [InlineData("{\"batch_size\": 5000}", "batch_size")]
    [InlineData("{\"checkpoints\": [0, -1]}", "checkpoints[1]")]
    [InlineData("{\"seeds\": [1, \"x\"]}", "seeds[1]")]
    [InlineData("{\"difficulty\": [{\"weight\": 1, \"alpha\": 0, \"beta\": 1}]}", "difficulty[0].alpha")]
    [InlineData("{\"difficulty\": [{\"weight\": 1, \"alpha\": 1}]}", "difficulty[0].beta")]
    [InlineData("{\"improvement\": {\"kind\": \"tilt\", \"tau\": \"slow\"}}", "improvement.tau")]
    [InlineData("{\"improvement\": {\"kind\": \"warp\"}}", "improvement.kind")]
    [InlineData("{\"improvement\": {\"kind\": \"logit-shift\", \"meanrate\": 1}}", "improvement.meanrate")]
    [InlineData("{\"promts\": 10}", "promts")]
    [InlineData("{\"prompts\": 10,", "(document)")]
    public void MalformedScenarioNamesTheField(string json, string field)
    {
        var error = Assert.Throws<ScenarioFormatException>(() => ScenarioJson.Parse(json));
        Assert.Equal(field, error.Field);
    }

    [Fact]
    public void BenchmarkIsDeterministicAndCoversEveryEstimator()
    {
        Scenario scenario = ScenarioJson.Parse(Tiny);
        BenchmarkReport a = ValueMseBenchmark.Run(scenario);
        BenchmarkReport b = ValueMseBenchmark.Run(scenario);
        Assert.Equal(a.Results.Select(r => r.Mse), b.Results.Select(r => r.Mse));
        string[] labels = a.Results.Select(r => r.Label).Distinct().ToArray();
        foreach (string expected in new[] { "basis", "basis-initial", "reinforce++", "kae", "rloo-2", "rloo-4", "rloo-8", "group-mean-1", "group-mean-2", "group-mean-4", "group-mean-8" })
        {
            Assert.Contains(expected, labels);
        }

        Assert.All(a.Results, r => Assert.True(r.Mse.Low <= r.Mse.Mean && r.Mse.Mean <= r.Mse.High));
        Assert.Equal(["basis/reinforce++", "basis/group-mean-8"], a.Ratios.Select(r => r.Name));
    }

    [Fact]
    public void GroupMeanOfOneHasTheBernoulliVarianceAsItsMse()
    {
        // A single fresh rollout estimates V with MSE V(1 - V); averaged over prompts that is E[V(1 - V)], which
        // for a Beta(2, 2) population is 1/2 - (1/4 + 1/20) = 0.2. 40 seeds x 200 prompts keep the noise small.
        Scenario scenario = ScenarioJson.Parse("""
            { "prompts": 200, "batch_size": 200, "checkpoints": [0], "seeds": 40,
              "difficulty": [{ "weight": 1, "alpha": 2, "beta": 2 }],
              "improvement": { "kind": "logit-shift", "mean_rate": 0, "rate_spread": 0, "noise": 0 } }
            """);
        CheckpointResult result = ValueMseBenchmark.Run(scenario).Results.Single(r => r.Label == "group-mean-1");
        Assert.InRange(0.2, result.Mse.Low, result.Mse.High);
    }

    [Fact]
    public void MonteCarloCorrectionRemovesTheSamplingNoise()
    {
        // Hand example: estimates equal to the true values, V_MC from M = 4 rollouts.
        double[] estimates = [0.5, 0.25];
        double[] mc = [0.75, 0.25];
        double expected = ((0.25 * 0.25) + 0) / 2 - (0.75 * 0.25 + 0.25 * 0.75) / 2 / 3;
        Assert.Equal(expected, ValueMse.MonteCarloCorrected(estimates, mc, 4), 15);

        // Expectation over the binomial draws is the exact MSE: with V = 0.3, M = 4, estimate 0.5, E = 0.04.
        double sum = 0;
        for (int k = 0; k <= 4; k++)
        {
            double probability = Binomial(4, k) * Math.Pow(0.3, k) * Math.Pow(0.7, 4 - k);
            sum += probability * ValueMse.MonteCarloCorrected([0.5], [k / 4.0], 4);
        }

        Assert.Equal(0.04, sum, 12);
    }

    [Fact]
    public void StudentQuantileMatchesTables()
    {
        Assert.Equal(2.262, Interval.StudentT975(9), 2);
        Assert.Equal(2.131, Interval.StudentT975(15), 2);
        Assert.Equal(2.042, Interval.StudentT975(30), 3);
    }

    [Fact]
    public void RandomStreamIsFixedForASeed()
    {
        var a = new SimulationRandom(42);
        var b = new SimulationRandom(42);
        Assert.Equal(Enumerable.Range(0, 5).Select(_ => a.NextUInt64()), Enumerable.Range(0, 5).Select(_ => b.NextUInt64()));
        var beta = new SimulationRandom(7);
        double mean = Enumerable.Range(0, 20000).Average(_ => beta.Beta(0.5, 1.5));
        Assert.InRange(mean, 0.24, 0.26);
    }

    private static double Binomial(int n, int k) => Enumerable.Range(1, k).Aggregate(1.0, (acc, i) => acc * (n - k + i) / i);
}
