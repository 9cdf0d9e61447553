using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Basis.Estimators;

/// <summary>
/// Offline pass rates: for each training prompt, successes out of samples drawn from the reference policy, plus the
/// hash of that policy (and optionally of the task set) so a stale table is recognisable.
/// </summary>
public sealed class OfflineValueTable
{
    private static readonly JsonSerializerOptions s_options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = false,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private readonly Dictionary<string, OfflineCounts> _entries;

    public OfflineValueTable(string policyHash, IEnumerable<KeyValuePair<string, OfflineCounts>> entries, string? taskSetHash = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(policyHash);
        ArgumentNullException.ThrowIfNull(entries);
        PolicyHash = policyHash;
        TaskSetHash = taskSetHash;
        _entries = new Dictionary<string, OfflineCounts>(StringComparer.Ordinal);
        foreach (KeyValuePair<string, OfflineCounts> entry in entries)
        {
            Validate(entry.Key, entry.Value);
            if (!_entries.TryAdd(entry.Key, entry.Value))
            {
                throw new ArgumentException($"Offline table lists prompt '{entry.Key}' twice.", nameof(entries));
            }
        }
    }

    public string PolicyHash { get; }

    public string? TaskSetHash { get; }

    public int Count => _entries.Count;

    public IReadOnlyDictionary<string, OfflineCounts> Entries => _entries;

    public bool TryGet(string promptId, out OfflineCounts counts) => _entries.TryGetValue(promptId, out counts);

    /// <summary>Copies the rollout with its prompt's offline counts attached (unchanged when the prompt is unknown).</summary>
    public ScoredRollout Attach(ScoredRollout rollout) =>
        TryGet(rollout.PromptId, out OfflineCounts counts) ? rollout with { Offline = counts } : rollout;

    /// <summary>JSON with entries sorted by prompt id (ordinal), so equal tables serialize to equal bytes.</summary>
    public string ToJson()
    {
        var keys = _entries.Keys.ToArray();
        Array.Sort(keys, StringComparer.Ordinal);
        var dto = new TableDto
        {
            PolicyHash = PolicyHash,
            TaskSetHash = TaskSetHash,
            Entries = keys.Select(k => new EntryDto { PromptId = k, Successes = _entries[k].Successes, Samples = _entries[k].Samples }).ToList(),
        };
        return JsonSerializer.Serialize(dto, s_options);
    }

    public void WriteTo(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        byte[] bytes = Encoding.UTF8.GetBytes(ToJson());
        stream.Write(bytes);
    }

    /// <exception cref="FormatException">Malformed JSON or an invalid entry (the message names it).</exception>
    public static OfflineValueTable FromJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        TableDto? dto;
        try
        {
            dto = JsonSerializer.Deserialize<TableDto>(json, s_options);
        }
        catch (JsonException e)
        {
            throw new FormatException($"Offline table JSON is malformed at {e.Path ?? "$"}: {e.Message}", e);
        }

        if (dto is null || string.IsNullOrEmpty(dto.PolicyHash))
        {
            throw new FormatException("Offline table JSON needs a non-empty 'policy_hash'.");
        }

        if (dto.Entries is null)
        {
            throw new FormatException("Offline table JSON needs an 'entries' array.");
        }

        var entries = new List<KeyValuePair<string, OfflineCounts>>(dto.Entries.Count);
        for (int i = 0; i < dto.Entries.Count; i++)
        {
            EntryDto e = dto.Entries[i] ?? throw new FormatException($"Offline table entries[{i}] is null.");
            if (string.IsNullOrEmpty(e.PromptId))
            {
                throw new FormatException($"Offline table entries[{i}] has no 'prompt_id'.");
            }

            entries.Add(new(e.PromptId, new OfflineCounts(e.Successes, e.Samples)));
        }

        try
        {
            return new OfflineValueTable(dto.PolicyHash, entries, dto.TaskSetHash);
        }
        catch (ArgumentException e)
        {
            throw new FormatException(e.Message, e);
        }
    }

    public static OfflineValueTable ReadFrom(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var reader = new StreamReader(stream, Encoding.UTF8, leaveOpen: true);
        return FromJson(reader.ReadToEnd());
    }

    private static void Validate(string promptId, OfflineCounts counts)
    {
        if (string.IsNullOrEmpty(promptId))
        {
            throw new ArgumentException("Offline table has an entry without a prompt id.");
        }

        if (counts.Samples < 1 || counts.Successes < 0 || counts.Successes > counts.Samples)
        {
            throw new ArgumentException(
                $"Offline table entry '{promptId}' has {counts.Successes} successes out of {counts.Samples} samples; need samples >= 1 and 0 <= successes <= samples.");
        }
    }

    private sealed class TableDto
    {
        public string? PolicyHash { get; set; }

        public string? TaskSetHash { get; set; }

        public List<EntryDto>? Entries { get; set; }
    }

    private sealed class EntryDto
    {
        public string? PromptId { get; set; }

        public int Successes { get; set; }

        public int Samples { get; set; }
    }
}
