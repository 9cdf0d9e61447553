using System.Globalization;
using System.Text;

namespace Basis.Training.Run;

/// <summary>metrics.csv: one row per learner step (step -1 is the evaluation before RL), flushed as it goes.</summary>
public sealed class MetricsFile
{
    public const string Header = "step,rollouts,elapsed_s,mean_reward,heldout_accuracy,beta,active_set,loss,grad_norm,learning_rate,entropy,tokens_per_s,quarantined";

    private readonly string _path;
    private readonly List<StepRecord> _records = new();

    public MetricsFile(string path)
    {
        _path = path;
        File.WriteAllText(path, Header + "\n");
    }

    /// <summary>A resumed run's file: rewritten with the rows kept so far (via a temporary file, so a crash never truncates it).</summary>
    public MetricsFile(string path, IEnumerable<StepRecord> kept)
    {
        ArgumentNullException.ThrowIfNull(kept);
        _path = path;
        _records.AddRange(kept);
        string temporary = path + ".tmp";
        File.WriteAllText(temporary, Header + "\n" + string.Concat(_records.Select(r => Format(r) + "\n")));
        File.Move(temporary, path, overwrite: true);
    }

    public IReadOnlyList<StepRecord> Records => _records;

    public void Append(StepRecord record)
    {
        _records.Add(record);
        File.AppendAllText(_path, Format(record) + "\n");
    }

    public static string Format(StepRecord r)
    {
        var line = new StringBuilder();
        line.Append(CultureInfo.InvariantCulture, $"{r.Step},{r.Rollouts},{r.ElapsedSeconds:F3},{Number(r.MeanReward)},{Number(r.HeldOutAccuracy)},{Number(r.Beta)},");
        line.Append(CultureInfo.InvariantCulture, $"{r.ActiveSet?.ToString(CultureInfo.InvariantCulture) ?? string.Empty},{Number(r.Loss)},{Number(r.GradNorm)},{Number(r.LearningRate)},{Number(r.Entropy)},{Number(r.TokensPerSecond)},{r.Quarantined}");
        return line.ToString();
    }

    private static string Number(double? value) =>
        value is double v && double.IsFinite(v) ? v.ToString("G6", CultureInfo.InvariantCulture) : string.Empty;
}
