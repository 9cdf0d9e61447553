using System.Globalization;
using System.Text.Json;

namespace Basis.Tasks.Datasets;

/// <summary>How <see cref="JsonlDataset.Read"/> treats a file.</summary>
public sealed record DatasetLoadOptions
{
    /// <summary>Skip malformed lines (counted in the report) instead of failing on the first one.</summary>
    public bool SkipMalformed { get; init; }

    /// <summary>Prefix of generated ids ("{prefix}-{line:D6}"); defaults to "{folder}-{file stem}", e.g. "gsm8k-test".</summary>
    public string? IdPrefix { get; init; }

    /// <summary>Registry name of the verifier for these prompts.</summary>
    public string Verifier { get; init; } = "gsm8k";

    /// <summary>Lines longer than this are malformed; keeps memory bounded on a corrupt file.</summary>
    public int MaxLineChars { get; init; } = 1 << 20;

    /// <summary>How many skipped lines the report keeps in detail (all are counted).</summary>
    public int MaxReportedLines { get; init; } = 100;
}

/// <summary>A line that could not be loaded.</summary>
public sealed record MalformedLine(long LineNumber, string Reason);

/// <summary>What a load saw; filled in while the enumeration runs and final once it completes.</summary>
public sealed class DatasetLoadReport
{
    private readonly List<MalformedLine> _skipped = [];

    public string Path { get; internal set; } = string.Empty;

    public long LinesRead { get; internal set; }

    public int Loaded { get; internal set; }

    public int BlankLines { get; internal set; }

    public int SkippedCount { get; internal set; }

    /// <summary>The first skipped lines (up to <see cref="DatasetLoadOptions.MaxReportedLines"/>), with reasons.</summary>
    public IReadOnlyList<MalformedLine> Skipped => _skipped;

    public override string ToString() =>
        $"{Path}: {LinesRead} lines, {Loaded} loaded, {SkippedCount} malformed skipped, {BlankLines} blank";

    internal void AddSkipped(MalformedLine line, int keep)
    {
        SkippedCount++;
        if (_skipped.Count < keep)
        {
            _skipped.Add(line);
        }
    }
}

/// <summary>A malformed dataset line, named by file and line.</summary>
public sealed class DatasetFormatException : FormatException
{
    public DatasetFormatException(string path, long lineNumber, string reason)
        : base($"{path} line {lineNumber}: {reason}")
    {
        FilePath = path;
        LineNumber = lineNumber;
        Reason = reason;
    }

    public string FilePath { get; }

    public long LineNumber { get; }

    public string Reason { get; }
}

/// <summary>
/// Streams prompts from a JSONL file with fields "question" (or "prompt") and "answer" and an optional "id".
/// When the answer contains "####" (GSM8K), the gold is what follows the last "####" with thousands
/// separators removed, and the difficulty tag is "steps-N" for the N reasoning lines before it; otherwise
/// the whole trimmed answer is the gold and the tag is "unrated". Memory stays bounded by one line.
/// </summary>
public static class JsonlDataset
{
    private const string FinalAnswerMarker = "####";

    public static IEnumerable<TaskPrompt> Read(string path, DatasetLoadOptions? options = null, DatasetLoadReport? report = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        options ??= new DatasetLoadOptions();
        report ??= new DatasetLoadReport();
        report.Path = path;
        return ReadIterator(path, options, report);
    }

    /// <summary>Extracts the gold answer from a GSM8K answer text, or null when nothing follows "####".</summary>
    public static string? ExtractFinalAnswer(string answer)
    {
        int marker = answer.LastIndexOf(FinalAnswerMarker, StringComparison.Ordinal);
        string gold = (marker >= 0 ? answer[(marker + FinalAnswerMarker.Length)..] : answer).Trim();
        if (marker >= 0)
        {
            gold = gold.Replace(",", string.Empty, StringComparison.Ordinal);
        }

        return gold.Length == 0 ? null : gold;
    }

    private static IEnumerable<TaskPrompt> ReadIterator(string path, DatasetLoadOptions options, DatasetLoadReport report)
    {
        string prefix = options.IdPrefix ?? DefaultPrefix(path);
        using JsonlLineReader reader = JsonlLineReader.Open(path, options.MaxLineChars);
        while (reader.TryReadLine(out JsonlLine line))
        {
            report.LinesRead = line.Number;
            if (line.Text is not null && string.IsNullOrWhiteSpace(line.Text))
            {
                report.BlankLines++;
                continue;
            }

            TaskPrompt? prompt = null;
            string? error = line.Text is null
                ? $"line longer than {options.MaxLineChars} characters"
                : TryParse(line.Text, line.Number, prefix, options.Verifier, out prompt);
            if (error is not null)
            {
                if (!options.SkipMalformed)
                {
                    throw new DatasetFormatException(path, line.Number, error);
                }

                report.AddSkipped(new MalformedLine(line.Number, error), options.MaxReportedLines);
                continue;
            }

            report.Loaded++;
            yield return prompt!;
        }
    }

    private static string DefaultPrefix(string path)
    {
        string stem = System.IO.Path.GetFileNameWithoutExtension(path);
        string? folder = System.IO.Path.GetFileName(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path)));
        return string.IsNullOrEmpty(folder) ? stem : $"{folder}-{stem}";
    }

    // Returns null on success, else the reason the line is malformed.
    private static string? TryParse(string text, long lineNumber, string prefix, string verifier, out TaskPrompt? prompt)
    {
        prompt = null;
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(text);
        }
        catch (JsonException ex)
        {
            return $"invalid JSON ({ex.Message})";
        }

        using (document)
        {
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return $"expected a JSON object, found {root.ValueKind}";
            }

            string? question = StringField(root, "question") ?? StringField(root, "prompt");
            if (string.IsNullOrWhiteSpace(question))
            {
                return "missing or empty string field 'question' (or 'prompt')";
            }

            string? answer = root.TryGetProperty("answer", out JsonElement answerElement)
                ? answerElement.ValueKind switch
                {
                    JsonValueKind.String => answerElement.GetString(),
                    JsonValueKind.Number => answerElement.GetRawText(),
                    _ => null,
                }
                : null;
            if (answer is null)
            {
                return "missing field 'answer' (a string or a number)";
            }

            string? gold = ExtractFinalAnswer(answer);
            if (gold is null)
            {
                return "empty answer (nothing after '####')";
            }

            string id = StringField(root, "id") ?? string.Create(CultureInfo.InvariantCulture, $"{prefix}-{lineNumber:D6}");
            prompt = new TaskPrompt(id, question, gold, Difficulty(answer), verifier);
            return null;
        }
    }

    private static string? StringField(JsonElement root, string name) =>
        root.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static string Difficulty(string answer)
    {
        int marker = answer.LastIndexOf(FinalAnswerMarker, StringComparison.Ordinal);
        if (marker < 0)
        {
            return "unrated";
        }

        int steps = 0;
        foreach (ReadOnlySpan<char> line in answer.AsSpan(0, marker).EnumerateLines())
        {
            if (!line.IsWhiteSpace())
            {
                steps++;
            }
        }

        return string.Create(CultureInfo.InvariantCulture, $"steps-{steps}");
    }
}
