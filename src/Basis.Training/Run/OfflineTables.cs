using Basis.Estimators;
using Basis.Tasks.OfflineTable;

namespace Basis.Training.Run;

/// <summary>Turns the task layer's offline-table file into the estimator library's value table.</summary>
public static class OfflineTables
{
    public static OfflineValueTable ToValueTable(OfflineTableData data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (!data.IsComplete)
        {
            throw new InvalidOperationException($"the offline table holds {data.Counts.Count} of {data.Header.PromptCount} prompts; finish building it first.");
        }

        return new OfflineValueTable(
            data.Header.PolicyHash,
            data.Counts.Select(c => KeyValuePair.Create(c.Key, new OfflineCounts(c.Value.Successes, c.Value.Samples))),
            data.Header.TaskSetHash);
    }
}
