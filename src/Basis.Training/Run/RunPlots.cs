using Basis.Training.Reporting;

namespace Basis.Training.Run;

/// <summary>The run folder's plots: accuracy and reward against step and against wall-clock time.</summary>
public static class RunPlots
{
    public static void Write(string runDir, IReadOnlyList<StepRecord> records, string estimator)
    {
        var evaluations = records.Where(r => r.HeldOutAccuracy.HasValue).ToList();
        var steps = records.Where(r => r.Step >= 0).ToList();
        foreach ((string axis, Func<StepRecord, double> x, string file) in new (string, Func<StepRecord, double>, string)[]
        {
            ("step", r => r.Step + 1, "curves-by-step.svg"),
            ("wall-clock seconds of RL", r => r.ElapsedSeconds, "curves-by-time.svg"),
        })
        {
            var chart = new SvgLineChart($"{estimator}: held-out accuracy and training reward", axis, "accuracy / mean reward")
                .Add(new ChartSeries("held-out accuracy", evaluations.Select(x).ToArray(), evaluations.Select(r => r.HeldOutAccuracy!.Value).ToArray()))
                .Add(new ChartSeries("training reward", steps.Select(x).ToArray(), steps.Select(r => r.MeanReward).ToArray()));
            File.WriteAllText(Path.Combine(runDir, file), chart.Render());
        }
    }
}
