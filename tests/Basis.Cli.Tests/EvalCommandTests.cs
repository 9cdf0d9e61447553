using System.Globalization;
using System.Text.Json;
using Basis.Cli.Evaluation;
using FsCheck;
using FsCheck.Fluent;
using Xunit;

namespace Basis.Cli.Tests;

public sealed class EvalCommandTests : IDisposable
{
    private const string Template = "Question: {prompt}\nAnswer:";
    private static readonly double[] s_successRates = [0.0, 1.0, 0.5, 0.2, 0.8, 0.35];
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("basis-eval-");

    public void Dispose() => _directory.Delete(recursive: true);

    [Fact]
    public void PassAtKMatchesCountingEverySubsetOfSamples()
    {
        Prop.ForAll(Gen.Choose(1, 10).SelectMany(n => Gen.Choose(0, n).SelectMany(c => Gen.Choose(1, n).Select(k => (n, c, k)))).ToArbitrary(), t =>
        {
            (int n, int c, int k) = t;

            // Samples 0..c-1 are the correct ones; count the k-subsets that hold at least one of them.
            int subsets = 0;
            int hits = 0;
            for (int mask = 0; mask < 1 << n; mask++)
            {
                if (System.Numerics.BitOperations.PopCount((uint)mask) == k)
                {
                    subsets++;
                    hits += (mask & ((1 << c) - 1)) != 0 ? 1 : 0;
                }
            }

            return Math.Abs(PassAtK.Estimate(n, c, k) - ((double)hits / subsets)) < 1e-12;
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void PassAtOneIsTheFractionCorrect()
    {
        Assert.Equal(3.0 / 8, PassAtK.Estimate(8, 3, 1), 12);
        Assert.Equal(0.0, PassAtK.Estimate(8, 0, 8));
        Assert.Equal(1.0, PassAtK.Estimate(8, 1, 8));
    }

    [Fact]
    public async Task ReportsPassAtKFromTheServedCompletions()
    {
        (string dataset, Dictionary<string, (string, double)> prompts) = WriteDataset(s_successRates);
        await using EvalFakeCompletionsServer server = EvalFakeCompletionsServer.Start(prompts);
        string json = Path.Combine(_directory.FullName, "eval.json");

        (int exitCode, string output, string error) = Cli.Run(
            "eval", "--backend", "openai", "--endpoint", server.Endpoint, "--model", "fake-model", "--dataset", dataset,
            "--prompt-template", Template, "--samples", "8", "--k", "1,4,8", "--max-tokens", "64", "--seed", "5", "--json", json);

        Assert.True(exitCode == 0, error + output);
        Assert.Contains("sampled: 6/6 prompts", output);

        // One request per prompt with every sample in it, the template applied, seeded.
        Assert.Equal(s_successRates.Length, server.Requests.Count);
        foreach (JsonElement request in server.Requests)
        {
            Assert.Equal("fake-model", request.GetProperty("model").GetString());
            Assert.Equal(8, request.GetProperty("n").GetInt32());
            Assert.Equal(64, request.GetProperty("max_tokens").GetInt32());
            Assert.StartsWith("Question: ", request.GetProperty("prompt").GetString(), StringComparison.Ordinal);
            Assert.True(request.TryGetProperty("seed", out _));
        }

        // The expected figures follow from what the server sent: c correct of 8 per prompt.
        int[] correct = prompts.Keys.Select(server.CorrectSent).ToArray();
        Assert.Equal(0, correct[0]);
        Assert.Equal(8, correct[1]);
        using JsonDocument document = JsonDocument.Parse(File.ReadAllText(json));
        JsonElement passAt = document.RootElement.GetProperty("pass_at_k");
        Assert.Equal(correct.Average(c => c / 8.0), passAt.GetProperty("1").GetProperty("value").GetDouble(), 12);
        Assert.Equal(correct.Average(c => PassAtK.Estimate(8, c, 4)), passAt.GetProperty("4").GetProperty("value").GetDouble(), 12);
        Assert.Equal(correct.Average(c => c > 0 ? 1.0 : 0.0), passAt.GetProperty("8").GetProperty("value").GetDouble(), 12);
        Assert.Equal(6, document.RootElement.GetProperty("prompts").GetInt32());
    }

    [Fact]
    public async Task TheSameSeedGivesTheSameFigures()
    {
        (string dataset, Dictionary<string, (string, double)> prompts) = WriteDataset(s_successRates);
        await using EvalFakeCompletionsServer server = EvalFakeCompletionsServer.Start(prompts);
        string[] Args(string json) =>
            ["eval", "--endpoint", server.Endpoint, "--model", "m", "--dataset", dataset, "--prompt-template", Template, "--samples", "4", "--k", "1,2", "--json", json];
        string first = Path.Combine(_directory.FullName, "a.json");
        string second = Path.Combine(_directory.FullName, "b.json");

        Assert.Equal(0, Cli.Run(Args(first)).ExitCode);
        Assert.Equal(0, Cli.Run(Args(second)).ExitCode);

        Assert.Equal(PassFigures(first), PassFigures(second));
    }

    [Fact]
    public async Task AServerErrorIsAClearMessageAndExitCodeOne()
    {
        (string dataset, Dictionary<string, (string, double)> prompts) = WriteDataset(s_successRates);
        await using EvalFakeCompletionsServer server = EvalFakeCompletionsServer.Start(prompts);
        server.FailWithStatus = 404;

        (int exitCode, _, string error) = Cli.Run("eval", "--endpoint", server.Endpoint, "--model", "missing", "--dataset", dataset, "--retries", "0");

        Assert.Equal(1, exitCode);
        Assert.Contains("basis eval: ", error);
        Assert.Contains(server.Endpoint + "/v1/completions", error);
        Assert.Contains("HTTP 404", error);
        Assert.Matches(@"prompt '[^']+-\d{6}'", error);
        Assert.DoesNotContain("   at ", error);
    }

    [Theory]
    [InlineData("--model", "--backend openai needs --endpoint")]
    [InlineData("--endpoint", "--backend openai needs --model")]
    public void MissingServerOptionsAreNamed(string given, string expected)
    {
        string dataset = WriteDataset([0.5]).Path;
        string[] args = given == "--model"
            ? ["eval", "--model", "m", "--dataset", dataset]
            : ["eval", "--endpoint", "http://127.0.0.1:9", "--dataset", dataset];

        (int exitCode, _, string error) = Cli.Run(args);

        Assert.Equal(2, exitCode);
        Assert.Contains(expected, error);
    }

    [Fact]
    public void KLargerThanTheSamplesIsRejected()
    {
        string dataset = WriteDataset([0.5]).Path;

        (int exitCode, _, string error) = Cli.Run("eval", "--endpoint", "http://127.0.0.1:9", "--model", "m", "--dataset", dataset, "--samples", "4", "--k", "8");

        Assert.Equal(2, exitCode);
        Assert.Contains("--k: '8' must be a whole number from 1 to --samples (4)", error);
    }

    [Fact]
    public void TheBuiltInPolicyIsEvaluatedOnTheHeldOutSplit()
    {
        string checkpoint = EvalTestModels.WriteTinyCheckpoint(_directory.FullName);
        string json = Path.Combine(_directory.FullName, "builtin.json");

        (int exitCode, string output, string error) = Cli.Run(
            "eval", "--checkpoint", checkpoint, "--config", Cli.Profile("ci.conf"), "--samples", "4", "--k", "1,4", "--json", json);

        Assert.True(exitCode == 0, error + output);
        using JsonDocument document = JsonDocument.Parse(File.ReadAllText(json));
        Assert.Equal("builtin", document.RootElement.GetProperty("backend").GetString());
        Assert.Equal(16, document.RootElement.GetProperty("prompts").GetInt32()); // ci.conf: eval-size = 16
        double passAt1 = document.RootElement.GetProperty("pass_at_k").GetProperty("1").GetProperty("value").GetDouble();
        double passAt4 = document.RootElement.GetProperty("pass_at_k").GetProperty("4").GetProperty("value").GetDouble();
        Assert.InRange(passAt1, 0, passAt4);
        Assert.InRange(passAt4, passAt1, 1);
    }

    [Fact]
    public void HelpNeverShowsTheApiKeyFromTheEnvironment()
    {
        const string key = "sk-eval-help-test-4242";
        string? previous = Environment.GetEnvironmentVariable("OPENAI_API_KEY");
        Environment.SetEnvironmentVariable("OPENAI_API_KEY", key);
        try
        {
            (int exitCode, string output, _) = Cli.Run("eval", "--help");

            Assert.Equal(0, exitCode);
            Assert.Contains("--api-key", output);
            Assert.DoesNotContain(key, output);
        }
        finally
        {
            Environment.SetEnvironmentVariable("OPENAI_API_KEY", previous);
        }
    }

    [Fact]
    public void ACorruptCheckpointIsNamedWithoutAStackTrace()
    {
        string checkpoint = Path.Combine(_directory.FullName, "corrupt.safetensors");
        File.WriteAllText(checkpoint, "not a checkpoint");

        (int exitCode, _, string error) = Cli.Run("eval", "--checkpoint", checkpoint, "--config", Cli.Profile("ci.conf"));

        Assert.Equal(2, exitCode);
        Assert.Contains(checkpoint, error);
        Assert.DoesNotContain("   at ", error);
    }

    private (string Path, Dictionary<string, (string, double)> Prompts) WriteDataset(double[] successRates)
    {
        string path = Path.Combine(_directory.FullName, $"eval-{successRates.Length}.jsonl");
        var prompts = new Dictionary<string, (string, double)>();
        using (var writer = new StreamWriter(path))
        {
            for (int i = 0; i < successRates.Length; i++)
            {
                string question = string.Create(CultureInfo.InvariantCulture, $"What is {i} + {i}?");
                string gold = (2 * i).ToString(CultureInfo.InvariantCulture);
                writer.WriteLine(JsonSerializer.Serialize(new { question, answer = $"{i} + {i} = {gold}\n#### {gold}" }));
                prompts[Template.Replace("{prompt}", question, StringComparison.Ordinal)] = (gold, successRates[i]);
            }
        }

        return (path, prompts);
    }

    private static string PassFigures(string json)
    {
        using JsonDocument document = JsonDocument.Parse(File.ReadAllText(json));
        return document.RootElement.GetProperty("pass_at_k").GetRawText();
    }
}
