namespace Basis.Estimators;

/// <summary>Per-prompt reward history for KAE; export order is deterministic.</summary>
internal sealed class PromptHistoryStore
{
    private readonly Dictionary<string, List<HistoryEntry>> _entries = new(StringComparer.Ordinal);
    private readonly int _maxPerPrompt;

    public PromptHistoryStore(int maxPerPrompt)
    {
        _maxPerPrompt = maxPerPrompt;
    }

    public List<HistoryEntry>? Get(string promptId) => _entries.GetValueOrDefault(promptId);

    public void Add(string promptId, HistoryEntry entry)
    {
        if (!_entries.TryGetValue(promptId, out List<HistoryEntry>? list))
        {
            list = [];
            _entries.Add(promptId, list);
        }

        list.Add(entry);
        if (list.Count > _maxPerPrompt)
        {
            list.RemoveRange(0, list.Count - _maxPerPrompt);
        }
    }

    public PromptHistory[] Export()
    {
        var keys = _entries.Keys.ToArray();
        Array.Sort(keys, StringComparer.Ordinal);
        var result = new PromptHistory[keys.Length];
        for (int i = 0; i < keys.Length; i++)
        {
            result[i] = new PromptHistory(keys[i], [.. _entries[keys[i]]]);
        }

        return result;
    }

    public void Import(PromptHistory[]? history)
    {
        _entries.Clear();
        foreach (PromptHistory prompt in history ?? [])
        {
            if (prompt?.PromptId is null || prompt.Entries is null)
            {
                throw new ArgumentException("Estimator state has a prompt history without an id or entries.");
            }

            if (_entries.ContainsKey(prompt.PromptId))
            {
                throw new ArgumentException($"Estimator state lists prompt '{prompt.PromptId}' twice.");
            }

            _entries.Add(prompt.PromptId, [.. prompt.Entries]);
        }
    }
}
