using System.Globalization;

namespace Basis.Dashboard;

/// <summary>
/// The figures the journal does not hold, taken from the run folder's metrics.csv: tokens per second and
/// the held-out evaluation before RL (step -1).
/// </summary>
public static class MetricsPoints
{
    public const string FileName = "metrics.csv";

    public static IEnumerable<ChartPoint> From(IReadOnlyList<string> header, IReadOnlyList<string[]> rows)
    {
        ArgumentNullException.ThrowIfNull(header);
        ArgumentNullException.ThrowIfNull(rows);
        int step = IndexOf(header, "step");
        if (step < 0)
        {
            yield break;
        }

        int accuracy = IndexOf(header, "heldout_accuracy");
        int tokens = IndexOf(header, "tokens_per_s");
        foreach (string[] row in rows)
        {
            if (Number(row, step) is not double x)
            {
                continue;
            }

            if (x < 0)
            {
                // Only the evaluation before RL: every later one is in the journal's PolicyUpdated events.
                if (Number(row, accuracy) is double before)
                {
                    yield return new ChartPoint(DashboardSeries.HeldOutAccuracy, x, before);
                }

                continue;
            }

            if (Number(row, tokens) is double t)
            {
                yield return new ChartPoint(DashboardSeries.TokensPerSecond, x, t);
            }
        }
    }

    internal static int IndexOf(IReadOnlyList<string> header, string column)
    {
        for (int i = 0; i < header.Count; i++)
        {
            if (string.Equals(header[i], column, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }

    internal static double? Number(string[] row, int column) =>
        column >= 0 && column < row.Length
            && double.TryParse(row[column], NumberStyles.Float, CultureInfo.InvariantCulture, out double value)
            && double.IsFinite(value)
            ? value
            : null;
}
