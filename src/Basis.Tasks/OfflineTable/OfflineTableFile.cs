using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Basis.Tasks.OfflineTable;

/// <summary>Successes out of samples for one prompt under the reference policy.</summary>
public readonly record struct PromptPassCount(int Successes, int Samples)
{
    public double PassRate => Samples == 0 ? 0 : (double)Successes / Samples;
}

/// <summary>The identity of a table: which policy sampled which task set, and how.</summary>
public sealed record OfflineTableHeader(string PolicyHash, string TaskSetHash, int SamplesPerPrompt, ulong Seed, int BatchSize, int PromptCount);

/// <summary>A (possibly partial) table read from a progress file.</summary>
/// <param name="Header">The identity the file was started with.</param>
/// <param name="Counts">Prompt id to successes and samples, for every prompt finished so far.</param>
/// <param name="PolicyMismatchAllowed">True when the caller's policy hash differed and that was explicitly allowed.</param>
public sealed record OfflineTableData(OfflineTableHeader Header, IReadOnlyDictionary<string, PromptPassCount> Counts, bool PolicyMismatchAllowed)
{
    public bool IsComplete => Counts.Count == Header.PromptCount;
}

/// <summary>A progress file that is unreadable or that belongs to another policy or task set.</summary>
public sealed class OfflineTableException : Exception
{
    public OfflineTableException(string message)
        : base(message)
    {
    }
}

/// <summary>
/// The resumable JSONL progress file: a header line
/// <c>{"format":"basis-offline-table/1","policyHash":..,"taskSetHash":..,"samplesPerPrompt":..,"seed":..,"batchSize":..,"promptCount":..}</c>
/// then one <c>{"id":..,"successes":..,"samples":..}</c> line per finished prompt.
/// </summary>
public static class OfflineTableFile
{
    public const string Format = "basis-offline-table/1";

    /// <summary>
    /// Loads a table for use, refusing one sampled by another policy unless <paramref name="allowPolicyMismatch"/>.
    /// A null <paramref name="expectedTaskSetHash"/> skips the task-set check.
    /// </summary>
    public static OfflineTableData Load(string path, string policyHash, string? expectedTaskSetHash, bool allowPolicyMismatch)
    {
        (OfflineTableHeader header, Dictionary<string, PromptPassCount> counts, _) = Read(path, knownIds: null);
        bool mismatch = CheckIdentity(path, header, policyHash, expectedTaskSetHash, allowPolicyMismatch);
        return new OfflineTableData(header, counts, mismatch);
    }

    /// <summary>Returns true when the policy differs and that is allowed; throws when it is not.</summary>
    internal static bool CheckIdentity(string path, OfflineTableHeader header, string policyHash, string? taskSetHash, bool allowPolicyMismatch)
    {
        if (taskSetHash is not null && header.TaskSetHash != taskSetHash)
        {
            throw new OfflineTableException(
                $"{path}: built for task set {header.TaskSetHash}, but the task set given is {taskSetHash}.");
        }

        if (header.PolicyHash == policyHash)
        {
            return false;
        }

        return allowPolicyMismatch
            ? true
            : throw new OfflineTableException(
                $"{path}: sampled from policy {header.PolicyHash}, but the policy given is {policyHash}; pass allowPolicyMismatch to use it anyway.");
    }

    /// <summary>
    /// Reads the header and every complete entry line. A last line without a newline is an interrupted write:
    /// it is not counted and <c>completeLength</c> (bytes up to the last newline) lets the writer cut it off.
    /// </summary>
    internal static (OfflineTableHeader Header, Dictionary<string, PromptPassCount> Counts, long CompleteLength) Read(string path, IReadOnlySet<string>? knownIds)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new OfflineTableException($"{path}: cannot read ({ex.Message}).");
        }

        int completeLength = bytes.AsSpan().LastIndexOf((byte)'\n') + 1;
        var lines = new List<ReadOnlyMemory<byte>>();
        int start = 0;
        for (int i = 0; i < completeLength; i++)
        {
            if (bytes[i] == '\n')
            {
                lines.Add(bytes.AsMemory(start, i - start));
                start = i + 1;
            }
        }

        if (lines.Count == 0)
        {
            throw new OfflineTableException($"{path} line 1: missing header.");
        }

        OfflineTableHeader header = ParseHeader(path, lines[0].Span);
        var counts = new Dictionary<string, PromptPassCount>(StringComparer.Ordinal);
        for (int i = 1; i < lines.Count; i++)
        {
            long lineNumber = i + 1;
            (string id, PromptPassCount count) = ParseEntry(path, lineNumber, lines[i].Span, header.SamplesPerPrompt);
            if (knownIds is not null && !knownIds.Contains(id))
            {
                throw new OfflineTableException($"{path} line {lineNumber}: prompt id '{id}' is not in the task set.");
            }

            if (!counts.TryAdd(id, count))
            {
                throw new OfflineTableException($"{path} line {lineNumber}: prompt id '{id}' appears twice.");
            }
        }

        return (header, counts, completeLength);
    }

    internal static byte[] FormatHeader(OfflineTableHeader header)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("format", Format);
            writer.WriteString("policyHash", header.PolicyHash);
            writer.WriteString("taskSetHash", header.TaskSetHash);
            writer.WriteNumber("samplesPerPrompt", header.SamplesPerPrompt);
            writer.WriteNumber("seed", header.Seed);
            writer.WriteNumber("batchSize", header.BatchSize);
            writer.WriteNumber("promptCount", header.PromptCount);
            writer.WriteEndObject();
        }

        return [.. buffer.WrittenSpan, (byte)'\n'];
    }

    internal static void AppendEntry(ArrayBufferWriter<byte> buffer, string id, PromptPassCount count)
    {
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("id", id);
            writer.WriteNumber("successes", count.Successes);
            writer.WriteNumber("samples", count.Samples);
            writer.WriteEndObject();
        }

        buffer.Write("\n"u8);
    }

    private static OfflineTableHeader ParseHeader(string path, ReadOnlySpan<byte> line)
    {
        try
        {
            using JsonDocument document = JsonDocument.Parse(line.ToArray());
            JsonElement root = document.RootElement;
            string format = RequiredString(root, "format");
            if (format != Format)
            {
                throw new OfflineTableException($"{path} line 1: format '{format}' is not {Format}.");
            }

            return new OfflineTableHeader(
                RequiredString(root, "policyHash"),
                RequiredString(root, "taskSetHash"),
                root.GetProperty("samplesPerPrompt").GetInt32(),
                root.GetProperty("seed").GetUInt64(),
                root.GetProperty("batchSize").GetInt32(),
                root.GetProperty("promptCount").GetInt32());
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new OfflineTableException($"{path} line 1: invalid header ({ex.Message}).");
        }
    }

    private static (string Id, PromptPassCount Count) ParseEntry(string path, long lineNumber, ReadOnlySpan<byte> line, int samplesPerPrompt)
    {
        string id;
        int successes;
        int samples;
        try
        {
            using JsonDocument document = JsonDocument.Parse(line.ToArray());
            JsonElement root = document.RootElement;
            id = RequiredString(root, "id");
            successes = root.GetProperty("successes").GetInt32();
            samples = root.GetProperty("samples").GetInt32();
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new OfflineTableException(
                $"{path} line {lineNumber}: invalid entry ({ex.Message}): {Encoding.UTF8.GetString(line[..Math.Min(line.Length, 200)])}");
        }

        if (samples != samplesPerPrompt || successes < 0 || successes > samples)
        {
            throw new OfflineTableException(string.Create(CultureInfo.InvariantCulture,
                $"{path} line {lineNumber}: '{id}' has {successes} successes of {samples} samples; expected 0..{samplesPerPrompt} of {samplesPerPrompt}."));
        }

        return (id, new PromptPassCount(successes, samples));
    }

    private static string RequiredString(JsonElement root, string name) =>
        root.GetProperty(name).GetString() ?? throw new FormatException($"'{name}' is null");
}
