using System.CommandLine;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Basis.Tasks.Datasets;
using Basis.Tasks.Verification;

namespace Basis.Cli.Commands;

/// <summary>
/// <c>basis verify --input FILE.jsonl --output FILE.jsonl</c>: scores each
/// <c>{"task": "exact"|"gsm8k"|"boxed", "completion": "...", "gold": "..."}</c> line and writes it back with
/// <c>"reward"</c> and <c>"reason"</c>. A bad line yields reward 0 and reason "bad-input" (plus "error") and
/// processing goes on; a summary goes to stderr. Exit code 1 only when a file cannot be opened.
/// </summary>
internal static class VerifyCommand
{
    private const int MaxLineChars = 4 << 20;
    private const int MaxEchoedChars = 1000;

    // Duplicate keys would otherwise surface later as an exception from JsonObject's indexer.
    private static readonly JsonDocumentOptions s_strictDocument = new() { AllowDuplicateProperties = false };

    private static readonly JsonSerializerOptions s_json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Command Create()
    {
        var input = new Option<string>("--input") { Description = "JSONL file of {\"task\", \"completion\", \"gold\"} lines.", Required = true };
        var output = new Option<string>("--output") { Description = "JSONL file to write: each input line plus \"reward\" and \"reason\".", Required = true };
        var command = new Command("verify", "Score completions against gold answers with the built-in verifiers (exact, gsm8k, gsm8k-last-number, boxed, countdown).");
        command.Options.Add(input);
        command.Options.Add(output);
        command.SetAction(parseResult => Run(
            parseResult.GetValue(input)!,
            parseResult.GetValue(output)!,
            parseResult.InvocationConfiguration.Error));
        return command;
    }

    internal static int Run(string inputPath, string outputPath, TextWriter error)
    {
        JsonlLineReader reader;
        try
        {
            reader = JsonlLineReader.Open(inputPath, MaxLineChars);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            error.WriteLine($"basis verify: cannot open input file '{inputPath}': {ex.Message}");
            return 1;
        }

        using (reader)
        {
            StreamWriter writer;
            try
            {
                writer = new StreamWriter(outputPath, append: false, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false)) { NewLine = "\n" };
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
            {
                error.WriteLine($"basis verify: cannot open output file '{outputPath}': {ex.Message}");
                return 1;
            }

            using (writer)
            {
                VerifierRegistry verifiers = VerifierRegistry.CreateDefault();
                var tally = new Dictionary<string, int>(StringComparer.Ordinal);
                long lines = 0;
                while (reader.TryReadLine(out JsonlLine line))
                {
                    lines++;
                    JsonObject result = VerifyLine(line, verifiers);
                    string reason = (string)result["reason"]!;
                    tally[reason] = tally.GetValueOrDefault(reason) + 1;
                    writer.WriteLine(result.ToJsonString(s_json));
                }

                string counts = string.Join(", ", VerificationReasonCodes.All.Where(tally.ContainsKey).Select(code => $"{tally[code]} {code}"));
                error.WriteLine($"basis verify: {lines} lines from {inputPath}: {(lines == 0 ? "nothing to verify" : counts)}; wrote {outputPath}");
                return 0;
            }
        }
    }

    private static JsonObject VerifyLine(JsonlLine line, VerifierRegistry verifiers)
    {
        if (line.Text is null)
        {
            return BadInput(line.Number, null, $"line longer than {MaxLineChars} characters");
        }

        JsonObject item;
        try
        {
            if (JsonNode.Parse(line.Text, documentOptions: s_strictDocument) is not JsonObject parsed)
            {
                return BadInput(line.Number, line.Text, "expected a JSON object");
            }

            item = parsed;
        }
        catch (JsonException ex)
        {
            return BadInput(line.Number, line.Text, $"invalid JSON ({ex.Message})");
        }

        string? problem = null;
        string? task = StringField(item, "task");
        string? completion = StringField(item, "completion");
        string? gold = StringOrNumberField(item, "gold");
        IVerifier? verifier = null;
        if (task is null)
        {
            problem = "missing string field 'task'";
        }
        else if (!verifiers.TryGet(task, out verifier))
        {
            problem = $"unknown task '{task}'; known: {string.Join(", ", verifiers.Names.Order(StringComparer.Ordinal))}";
        }
        else if (completion is null)
        {
            problem = "missing string field 'completion'";
        }
        else if (gold is null)
        {
            problem = "missing field 'gold' (a string or a number)";
        }

        if (problem is not null)
        {
            item["reward"] = 0;
            item["reason"] = VerificationReasonCodes.BadInput;
            item["error"] = $"line {line.Number}: {problem}";
            return item;
        }

        VerificationResult result = verifier!.Verify(completion!, gold!);
        item["reward"] = result.Reward;
        item["reason"] = result.ReasonCode;
        return item;
    }

    private static JsonObject BadInput(long lineNumber, string? raw, string problem)
    {
        var item = new JsonObject { ["line"] = lineNumber };
        if (raw is not null)
        {
            item["input"] = raw.Length <= MaxEchoedChars ? raw : raw[..MaxEchoedChars] + "...";
        }

        item["reward"] = 0;
        item["reason"] = VerificationReasonCodes.BadInput;
        item["error"] = $"line {lineNumber}: {problem}";
        return item;
    }

    private static string? StringField(JsonObject item, string name) =>
        item[name] is JsonValue value && value.TryGetValue(out string? text) ? text : null;

    private static string? StringOrNumberField(JsonObject item, string name) =>
        item[name] is JsonValue value && value.GetValueKind() is JsonValueKind.String or JsonValueKind.Number
            ? (value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : value.ToJsonString())
            : null;
}
