using System.Text.Json;
using Xunit;

namespace Basis.Cli.Tests;

public sealed class MseBenchCommandTests : IDisposable
{
    private const string TinyScenario = """
        { "prompts": 60, "batch_size": 20, "offline_samples": 4, "checkpoints": [0, 3], "seeds": 2,
          "improvement": { "kind": "tilt", "beta_start": 5, "beta_end": 1, "tau": 2 } }
        """;

    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("basis-mse-bench-");

    public void Dispose() => _directory.Delete(recursive: true);

    [Fact]
    public void WritesJsonInTheIssueShapeAndAnSvgPlot()
    {
        string scenario = Write("tiny.json", TinyScenario);
        string json = Path.Combine(_directory.FullName, "out.json");
        string plot = Path.Combine(_directory.FullName, "out.svg");

        int exitCode = Program.Main(["mse-bench", "--scenario", scenario, "--json", json, "--plot", plot]);

        Assert.Equal(0, exitCode);
        using JsonDocument document = JsonDocument.Parse(File.ReadAllText(json));
        JsonElement root = document.RootElement;
        Assert.Equal(60, root.GetProperty("scenario").GetProperty("prompts").GetInt32());
        Assert.Equal("tilt", root.GetProperty("scenario").GetProperty("improvement").GetProperty("kind").GetString());
        JsonElement[] results = [.. root.GetProperty("results").EnumerateArray()];
        JsonElement basis = results.First(r => r.GetProperty("estimator").GetString() == "basis" && r.GetProperty("checkpoint").GetInt64() == 3);
        Assert.Equal(1, basis.GetProperty("rollouts_per_prompt").GetInt32());
        double mse = basis.GetProperty("mse").GetDouble();
        JsonElement[] ci = [.. basis.GetProperty("ci95").EnumerateArray()];
        Assert.InRange(mse, ci[0].GetDouble(), ci[1].GetDouble());
        Assert.Contains(results, r => r.GetProperty("estimator").GetString() == "rloo" && r.GetProperty("rollouts_per_prompt").GetInt32() == 4);
        Assert.Contains(results, r => r.GetProperty("estimator").GetString() == "group-mean" && r.GetProperty("rollouts_per_prompt").GetInt32() == 8);
        foreach (string ratio in new[] { "basis/reinforce++", "basis/group-mean-8" })
        {
            JsonElement summary = root.GetProperty("ratios").GetProperty(ratio);
            Assert.True(summary.GetProperty("max").GetDouble() >= summary.GetProperty("mean").GetDouble());
        }

        string svg = File.ReadAllText(plot);
        Assert.StartsWith("<svg", svg, StringComparison.Ordinal);
        Assert.Contains(">group-mean-8</text>", svg, StringComparison.Ordinal);
        Assert.Contains("log scale", svg, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"batch_size\": \"big\"}", "batch_size")]
    [InlineData("{\"improvement\": {\"kind\": \"logit-shift\", \"noise\": -1}}", "improvement.noise")]
    [InlineData("[1, 2]", "(document)")]
    public void MalformedScenarioExitsWithTwoNamingTheField(string content, string field)
    {
        string scenario = Write("bad.json", content);
        string json = Path.Combine(_directory.FullName, "never.json");
        TextWriter original = Console.Error;
        var error = new StringWriter();
        int exitCode;
        try
        {
            Console.SetError(error);
            exitCode = Program.Main(["mse-bench", "--scenario", scenario, "--json", json]);
        }
        finally
        {
            Console.SetError(original);
        }

        Assert.Equal(2, exitCode);
        Assert.Contains($"field {field}", error.ToString(), StringComparison.Ordinal);
        Assert.False(File.Exists(json));
    }

    [Fact]
    public void MissingScenarioFileExitsWithTwo()
    {
        Assert.Equal(2, Program.Main(["mse-bench", "--scenario", Path.Combine(_directory.FullName, "absent.json")]));
    }

    private string Write(string name, string content)
    {
        string path = Path.Combine(_directory.FullName, name);
        File.WriteAllText(path, content);
        return path;
    }
}
