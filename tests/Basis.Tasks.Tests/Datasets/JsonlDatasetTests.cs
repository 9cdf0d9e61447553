using System.Text;
using Basis.Tasks.Datasets;

namespace Basis.Tasks.Tests.Datasets;

public sealed class JsonlDatasetTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData("train.jsonl", 7473)]
    [InlineData("test.jsonl", 1319)]
    public void Gsm8kLoadsCompletely(string file, int expected)
    {
        string path = Path.Combine(TestPaths.Data(), "gsm8k", file);
        var report = new DatasetLoadReport();

        List<TaskPrompt> prompts = JsonlDataset.Read(path, report: report).ToList();

        Assert.Equal(expected, prompts.Count);
        Assert.Equal(expected, report.Loaded);
        Assert.Equal(0, report.SkippedCount);
        Assert.All(prompts, p => Assert.Matches(@"^-?\d+(\.\d+)?$", p.Gold));
        Assert.All(prompts, p => Assert.StartsWith("steps-", p.Difficulty));
        Assert.Equal(expected, prompts.Select(p => p.Id).Distinct().Count());
    }

    [Fact]
    public void Gsm8kFirstTestItemHasItsGoldAndId()
    {
        string path = Path.Combine(TestPaths.Data(), "gsm8k", "test.jsonl");

        TaskPrompt first = JsonlDataset.Read(path).First();

        Assert.StartsWith("Janet\u2019s ducks lay 16 eggs", first.Text);
        Assert.Equal("18", first.Gold);
        Assert.Equal("gsm8k-test-000001", first.Id);
        Assert.Equal("steps-2", first.Difficulty);
        Assert.Equal("gsm8k", first.Verifier);
    }

    [Theory]
    [InlineData("#### 1,234", "1234")]
    [InlineData("a\nb\n#### -5 ", "-5")]
    [InlineData("first #### 1\nthen #### 2", "2")]
    [InlineData("42", "42")]
    [InlineData("  \\frac{1}{2} ", "\\frac{1}{2}")]
    public void FinalAnswerIsWhatFollowsTheLastMarker(string answer, string gold)
    {
        Assert.Equal(gold, JsonlDataset.ExtractFinalAnswer(answer));
    }

    [Fact]
    public void PromptFieldNumberAnswersIdsAndCrlfAreAccepted()
    {
        string path = Write("mixed.jsonl",
            "{\"prompt\": \"2+2=\", \"answer\": 4, \"id\": \"custom-1\"}\r\n"
            + "\r\n"
            + "{\"question\": \"q\", \"answer\": \"x\\n#### 7\"}\r\n");
        var report = new DatasetLoadReport();

        List<TaskPrompt> prompts = JsonlDataset.Read(path, new DatasetLoadOptions { IdPrefix = "mix", Verifier = "exact" }, report).ToList();

        Assert.Equal(
            [new TaskPrompt("custom-1", "2+2=", "4", "unrated", "exact"), new TaskPrompt("mix-000003", "q", "7", "steps-1", "exact")],
            prompts);
        Assert.Equal(1, report.BlankLines);
        Assert.Equal(3, report.LinesRead);
    }

    [Theory]
    [InlineData("{\"question\": \"q\", \"answer\": ", "invalid JSON")]
    [InlineData("[1, 2]", "expected a JSON object")]
    [InlineData("{\"answer\": \"1\"}", "'question'")]
    [InlineData("{\"question\": \"q\"}", "'answer'")]
    [InlineData("{\"question\": \"q\", \"answer\": \"work\\n#### \"}", "nothing after '####'")]
    public void MalformedLineIsAnErrorNamingFileAndLine(string badLine, string reason)
    {
        string path = Write("bad.jsonl", "{\"question\": \"ok\", \"answer\": \"#### 1\"}\n" + badLine + "\n");

        var error = Assert.Throws<DatasetFormatException>(() => JsonlDataset.Read(path).ToList());

        Assert.Equal(path, error.FilePath);
        Assert.Equal(2, error.LineNumber);
        Assert.StartsWith($"{path} line 2: ", error.Message);
        Assert.Contains(reason, error.Message);
    }

    [Fact]
    public void SkippedLinesAreCountedAndReported()
    {
        string path = Write("skip.jsonl",
            "{\"question\": \"a\", \"answer\": \"#### 1\"}\nnot json\n{\"question\": \"b\", \"answer\": \"#### 2\"}\n{}\n{\"question\": \"c\", \"answer\": \"#### 3\"}");
        var report = new DatasetLoadReport();

        List<TaskPrompt> prompts = JsonlDataset.Read(path, new DatasetLoadOptions { SkipMalformed = true }, report).ToList();

        Assert.Equal(["1", "2", "3"], prompts.Select(p => p.Gold));
        Assert.Equal(2, report.SkippedCount);
        Assert.Equal([2L, 4L], report.Skipped.Select(s => s.LineNumber));
        Assert.Contains("invalid JSON", report.Skipped[0].Reason);
        Assert.Equal(5, report.LinesRead);
        Assert.Contains("2 malformed skipped", report.ToString());
    }

    [Fact]
    public void OverlongLineIsMalformedWithoutBeingBuffered()
    {
        string path = Write("long.jsonl",
            "{\"question\": \"" + new string('x', 5000) + "\", \"answer\": \"1\"}\n{\"question\": \"q\", \"answer\": \"2\"}\n");
        var report = new DatasetLoadReport();

        List<TaskPrompt> prompts = JsonlDataset.Read(path, new DatasetLoadOptions { SkipMalformed = true, MaxLineChars = 1000 }, report).ToList();

        Assert.Equal(["2"], prompts.Select(p => p.Gold));
        Assert.Contains("longer than 1000", Assert.Single(report.Skipped).Reason);
    }

    [Fact]
    public void LineReaderSplitsAcrossBufferBoundariesAndFlagsAnUnterminatedLastLine()
    {
        string longLine = new('a', 40_000);
        using var reader = new JsonlLineReader(new StringReader(longLine + "\nb\r\n\nc"), maxLineChars: 50_000);
        var lines = new List<JsonlLine>();
        while (reader.TryReadLine(out JsonlLine line))
        {
            lines.Add(line);
        }

        Assert.Equal(
            [new JsonlLine(1, longLine, true), new JsonlLine(2, "b", true), new JsonlLine(3, "", true), new JsonlLine(4, "c", false)],
            lines);
    }

    [Fact]
    public void LineReaderReportsTooLongLinesAsNull()
    {
        using var reader = new JsonlLineReader(new StringReader("12345\n123456\n1234\r\n"), maxLineChars: 5);
        var lines = new List<JsonlLine>();
        while (reader.TryReadLine(out JsonlLine line))
        {
            lines.Add(line);
        }

        Assert.Equal(["12345", null, "1234"], lines.Select(l => l.Text));
    }

    [Fact]
    public void MissingFileIsAnIoError()
    {
        Assert.Throws<FileNotFoundException>(() => JsonlDataset.Read(_temp.File("absent.jsonl")).ToList());
    }

    private string Write(string name, string content)
    {
        string path = _temp.File(name);
        File.WriteAllText(path, content, new UTF8Encoding(false));
        return path;
    }
}
