using System.Text.Json;

namespace Basis.Dashboard;

/// <summary>
/// value-mse.json in a run folder: what <c>basis mse-bench --run RUN --json RUN/value-mse.json</c> measured at the
/// run's checkpoints. A training run cannot know its true values, so value MSE comes from that protocol
/// (Monte-Carlo values per prompt); each estimator it measured is one series, x the checkpoint's step.
/// </summary>
public static class ValueMseFile
{
    public const string FileName = "value-mse.json";

    /// <summary>Prefix of the per-estimator series ("value_mse:basis").</summary>
    public const string SeriesPrefix = DashboardSeries.ValueMse + ":";

    /// <exception cref="JsonException">The file is not (yet) complete JSON.</exception>
    public static IReadOnlyList<ChartPoint> Parse(string json)
    {
        using JsonDocument document = JsonDocument.Parse(json);
        var points = new List<ChartPoint>();
        if (!document.RootElement.TryGetProperty("checkpoints", out JsonElement checkpoints) || checkpoints.ValueKind != JsonValueKind.Array)
        {
            return points;
        }

        foreach (JsonElement checkpoint in checkpoints.EnumerateArray())
        {
            if (!checkpoint.TryGetProperty("step", out JsonElement step) || !step.TryGetDouble(out double x)
                || !checkpoint.TryGetProperty("results", out JsonElement results) || results.ValueKind != JsonValueKind.Array)
            {
                continue;
            }

            foreach (JsonElement result in results.EnumerateArray())
            {
                if (result.TryGetProperty("estimator", out JsonElement estimator) && estimator.ValueKind == JsonValueKind.String
                    && result.TryGetProperty("mse", out JsonElement mse) && mse.ValueKind == JsonValueKind.Number && double.IsFinite(mse.GetDouble()))
                {
                    points.Add(new ChartPoint(SeriesPrefix + estimator.GetString(), x, mse.GetDouble()));
                }
            }
        }

        return points;
    }
}
