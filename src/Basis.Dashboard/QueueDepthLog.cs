using System.Globalization;
using Basis.Training.Graph.Monitoring;

namespace Basis.Dashboard;

/// <summary>
/// queues.csv in a run folder: the depth of every stage's output queue, sampled once per step. The
/// training graph's queues live in the training process, so that process writes this file
/// (<see cref="Append"/>) and the dashboard follows it like metrics.csv.
/// </summary>
public sealed class QueueDepthLog
{
    public const string FileName = "queues.csv";
    public const string Header = "step,stage,depth,capacity";

    private readonly string _path;

    /// <summary>Starts the file in <paramref name="runFolder"/> (replacing one from an earlier run).</summary>
    public QueueDepthLog(string runFolder)
    {
        ArgumentException.ThrowIfNullOrEmpty(runFolder);
        _path = System.IO.Path.Combine(runFolder, FileName);
        File.WriteAllText(_path, Header + "\n");
    }

    public string Path => _path;

    /// <summary>One row per stage that has an output queue (sinks have none).</summary>
    public void Append(long step, IEnumerable<StageMetricsSnapshot> stages)
    {
        ArgumentNullException.ThrowIfNull(stages);
        var lines = new System.Text.StringBuilder();
        foreach (StageMetricsSnapshot stage in stages)
        {
            if (stage.QueueCapacity > 0)
            {
                lines.Append(CultureInfo.InvariantCulture, $"{step},{StageName(stage.Stage)},{stage.QueueDepth},{stage.QueueCapacity}\n");
            }
        }

        if (lines.Length > 0)
        {
            File.AppendAllText(_path, lines.ToString());
        }
    }

    /// <summary>The points of queues.csv rows: one series per stage.</summary>
    public static IEnumerable<ChartPoint> Points(IReadOnlyList<string> header, IReadOnlyList<string[]> rows)
    {
        ArgumentNullException.ThrowIfNull(header);
        ArgumentNullException.ThrowIfNull(rows);
        int step = MetricsPoints.IndexOf(header, "step");
        int stage = MetricsPoints.IndexOf(header, "stage");
        int depth = MetricsPoints.IndexOf(header, "depth");
        if (step < 0 || stage < 0 || depth < 0)
        {
            yield break;
        }

        foreach (string[] row in rows)
        {
            if (stage < row.Length && row[stage].Length > 0 && MetricsPoints.Number(row, step) is double x && MetricsPoints.Number(row, depth) is double y)
            {
                yield return new ChartPoint(DashboardSeries.QueuePrefix + row[stage], x, y);
            }
        }
    }

    // The file is plain comma-separated: keep stage names free of separators.
    private static string StageName(string stage) => stage.Replace(',', ' ').Replace('\n', ' ').Replace('\r', ' ');
}
