using System.CommandLine;
using System.Text;
using System.Text.Json.Nodes;
using Xunit;

namespace Basis.Cli.Tests;

public sealed class VerifyCommandTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "basis-verify-" + Guid.NewGuid().ToString("N"));

    public VerifyCommandTests() => Directory.CreateDirectory(_folder);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void ScoresEachLineAndKeepsTheInputFields()
    {
        string input = Write(
            """{"task": "exact", "completion": "95", "gold": "95", "id": 1}""",
            """{"task": "gsm8k", "completion": "So she makes $18.\n#### 18", "gold": "18"}""",
            """{"task": "boxed", "completion": "\\boxed{\\frac{1}{2}}", "gold": "0.5"}""",
            """{"task": "boxed", "completion": "\\boxed{3}", "gold": 4}""",
            """{"task": "gsm8k", "completion": "no idea", "gold": "7"}""");

        (int exit, List<JsonObject> lines, string stderr) = Run(input);

        Assert.Equal(0, exit);
        Assert.Equal([1.0, 1.0, 1.0, 0.0, 0.0], lines.Select(l => (double)l["reward"]!));
        Assert.Equal(["correct", "correct", "correct", "wrong-answer", "no-answer"], lines.Select(l => (string)l["reason"]!));
        Assert.Equal(1, (int)lines[0]["id"]!);
        Assert.Equal("95", (string)lines[0]["completion"]!);
        Assert.Contains("5 lines", stderr);
        Assert.Contains("3 correct, 1 wrong-answer, 1 no-answer", stderr);
    }

    [Fact]
    public void BadLinesBecomeBadInputAndProcessingContinues()
    {
        string input = Write(
            "not json at all",
            """{"task": "python", "completion": "1", "gold": "1"}""",
            """{"task": "exact", "gold": "1"}""",
            "",
            "[1, 2]",
            """{"task": "exact", "task": "gsm8k", "completion": "1", "gold": "1"}""",
            """{"task": "exact", "completion": "1", "gold": "1"}""");

        (int exit, List<JsonObject> lines, string stderr) = Run(input);

        Assert.Equal(0, exit);
        Assert.Equal(7, lines.Count);
        Assert.All(lines.Take(6), l => Assert.Equal("bad-input", (string)l["reason"]!));
        Assert.All(lines.Take(6), l => Assert.Equal(0.0, (double)l["reward"]!));
        Assert.Equal("line 1: invalid JSON", ((string)lines[0]["error"]!)[..20]);
        Assert.Equal("not json at all", (string)lines[0]["input"]!);
        Assert.Contains("unknown task 'python'", (string)lines[1]["error"]!);
        Assert.Equal("python", (string)lines[1]["task"]!);
        Assert.Contains("'completion'", (string)lines[2]["error"]!);
        Assert.Contains("Duplicate", (string)lines[5]["error"]!, StringComparison.OrdinalIgnoreCase);
        Assert.Equal("correct", (string)lines[6]["reason"]!);
        Assert.Contains("1 correct, 6 bad-input", stderr);
    }

    [Fact]
    public void MissingInputFileIsAClearErrorWithExitCodeOne()
    {
        string missing = Path.Combine(_folder, "absent.jsonl");

        (int exit, string stderr) = Invoke(["verify", "--input", missing, "--output", Path.Combine(_folder, "out.jsonl")]);

        Assert.Equal(1, exit);
        Assert.StartsWith($"basis verify: cannot open input file '{missing}'", stderr);
        Assert.DoesNotContain("   at ", stderr);
    }

    [Fact]
    public void UnwritableOutputIsAClearErrorWithExitCodeOne()
    {
        string input = Write("""{"task": "exact", "completion": "1", "gold": "1"}""");
        string output = Path.Combine(_folder, "no-such-folder", "out.jsonl");

        (int exit, string stderr) = Invoke(["verify", "--input", input, "--output", output]);

        Assert.Equal(1, exit);
        Assert.StartsWith($"basis verify: cannot open output file '{output}'", stderr);
    }

    [Fact]
    public void BothOptionsAreRequired()
    {
        (int exit, string stderr) = Invoke(["verify", "--input", "x.jsonl"]);

        Assert.NotEqual(0, exit);
        Assert.Contains("--output", stderr);
    }

    private (int Exit, List<JsonObject> Lines, string Stderr) Run(string input)
    {
        string output = Path.Combine(_folder, "out.jsonl");
        (int exit, string stderr) = Invoke(["verify", "--input", input, "--output", output]);
        List<JsonObject> lines = File.ReadAllLines(output).Select(l => (JsonObject)JsonNode.Parse(l)!).ToList();
        return (exit, lines, stderr);
    }

    private static (int Exit, string Stderr) Invoke(string[] args)
    {
        var stderr = new StringWriter();
        var configuration = new InvocationConfiguration { Error = stderr, Output = new StringWriter() };
        int exit = Program.BuildRootCommand().Parse(args).Invoke(configuration);
        return (exit, stderr.ToString());
    }

    private string Write(params string[] lines)
    {
        string path = Path.Combine(_folder, "in.jsonl");
        File.WriteAllText(path, string.Join("\n", lines) + "\n", new UTF8Encoding(false));
        return path;
    }
}
