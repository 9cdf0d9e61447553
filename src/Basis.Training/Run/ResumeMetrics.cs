using System.Globalization;

namespace Basis.Training.Run;

/// <summary>Reads back the rows of a run's metrics.csv, so a resumed run keeps the rows of the steps it does not redo.</summary>
public static class ResumeMetrics
{
    /// <summary>The rows with steps below <paramref name="beforeStep"/> (step −1, the evaluation before RL, excluded); unreadable rows are skipped.</summary>
    public static IReadOnlyList<StepRecord> Read(string path, long beforeStep)
    {
        var records = new List<StepRecord>();
        if (!File.Exists(path))
        {
            return records;
        }

        foreach (string line in File.ReadLines(path).Skip(1))
        {
            if (TryParse(line, out StepRecord? record) && record.Step >= 0 && record.Step < beforeStep)
            {
                records.Add(record);
            }
        }

        return records;
    }

    /// <summary>Parses a row written by <see cref="MetricsFile.Format"/>; false for a torn or malformed line.</summary>
    public static bool TryParse(string line, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out StepRecord? record)
    {
        record = null;
        string[] f = line.Split(',');
        if (f.Length != 13
            || !long.TryParse(f[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out long step)
            || !long.TryParse(f[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out long rollouts)
            || !int.TryParse(f[12], NumberStyles.Integer, CultureInfo.InvariantCulture, out int quarantined))
        {
            return false;
        }

        try
        {
            record = Parse(f, step, rollouts, quarantined);
            return true;
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            return false;
        }
    }

    private static StepRecord Parse(string[] f, long step, long rollouts, int quarantined) =>
        new(
            step,
            rollouts,
            Number(f[2]),
            Number(f[3]),
            Optional(f[4]),
            Optional(f[5]),
            f[6].Length == 0 ? null : int.Parse(f[6], CultureInfo.InvariantCulture),
            Number(f[7]),
            Number(f[8]),
            Number(f[9]),
            Number(f[10]),
            Number(f[11]),
            quarantined);

    private static double Number(string value) => Optional(value) ?? double.NaN;

    private static double? Optional(string value) =>
        value.Length == 0 ? null : double.Parse(value, NumberStyles.Float, CultureInfo.InvariantCulture);
}
