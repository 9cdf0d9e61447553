using System.Text.Json;

namespace Basis.Dashboard;

/// <summary>What the page's header shows about the run, and why a chart that has no points has none.</summary>
public sealed record RunInfo(
    string Name,
    string Folder,
    string Journal,
    string State,
    string? Estimator,
    ulong? Seed,
    int? BatchSize,
    int? RolloutsPerPrompt,
    string NodesMode,
    IReadOnlyDictionary<string, string> Notes,
    string? Error);

/// <summary>running, finished or cancelled, from the run folder's summary.json (written when a run ends).</summary>
public static class RunState
{
    public const string Running = "running";
    public const string Finished = "finished";
    public const string Cancelled = "cancelled";

    public static string Read(string runFolder)
    {
        string summary = Path.Combine(runFolder, "summary.json");
        if (!File.Exists(summary))
        {
            return Running;
        }

        try
        {
            using JsonDocument document = JsonDocument.Parse(File.ReadAllText(summary));
            return document.RootElement.TryGetProperty("cancelled", out JsonElement cancelled) && cancelled.ValueKind == JsonValueKind.True
                ? Cancelled
                : Finished;
        }
        catch (Exception e) when (e is IOException or JsonException)
        {
            // Being written right now: it is there, so the run has ended.
            return Finished;
        }
    }
}

/// <summary>The sentence a chart shows in place of a line when its series has no points.</summary>
public static class ChartNotes
{
    public static IReadOnlyDictionary<string, string> For(string? estimator, bool metricsFound, bool valueMseFound, bool queuesFound)
    {
        string name = estimator ?? "this run's estimator";
        var notes = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [DashboardSeries.Reward] = "No step in the journal yet.",
            [DashboardSeries.HeldOutAccuracy] = "No held-out evaluation yet.",
            [DashboardSeries.Beta] = $"{name} reports no beta (only BASIS estimators have one).",
            [DashboardSeries.ActiveSet] = $"{name} reports no active set (only BASIS estimators have one).",
            [DashboardSeries.Loss] = "No policy update in the journal yet.",
            [DashboardSeries.GradNorm] = "No policy update in the journal yet.",
            [ValueMseFile.SeriesPrefix] = valueMseFound
                ? "value-mse.json holds no figure."
                : "No value-MSE figures for this run yet: basis mse-bench --run RUN --json RUN/value-mse.json measures them at its checkpoints.",
            [DashboardSeries.TokensPerSecond] = metricsFound ? "No step in metrics.csv yet." : "The run folder has no metrics.csv.",
            [DashboardSeries.QueuePrefix] = queuesFound
                ? "No queue sample yet."
                : "This run does not record queue depths (no queues.csv in the run folder).",
        };
        return notes;
    }
}
