using Basis.Model.Training;
using Basis.Training.Graph.Monitoring;
using Basis.Training.Run;

namespace Basis.Dashboard;

/// <summary>
/// Samples the training graph's queue depths into the run folder's queues.csv at every step, for the
/// dashboard, and passes every notification on to the observer it wraps (the CLI's display).
/// </summary>
public sealed class QueueDepthObserver : ITrainingObserver
{
    private readonly ITrainingObserver _inner;
    private readonly string _runFolder;
    private readonly Func<IReadOnlyList<StageMetricsSnapshot>> _stages;
    private QueueDepthLog? _log;

    /// <param name="inner">The observer to notify as well.</param>
    /// <param name="runFolder">Where queues.csv goes; it is started at the first step, when RL begins.</param>
    /// <param name="stages">The graph's stages now, e.g. <c>() =&gt; run.GraphMetrics</c>.</param>
    public QueueDepthObserver(ITrainingObserver inner, string runFolder, Func<IReadOnlyList<StageMetricsSnapshot>> stages)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentException.ThrowIfNullOrEmpty(runFolder);
        ArgumentNullException.ThrowIfNull(stages);
        _inner = inner;
        _runFolder = runFolder;
        _stages = stages;
    }

    public void Phase(string phase, string detail) => _inner.Phase(phase, detail);

    public void Sft(SftProgress progress) => _inner.Sft(progress);

    public void OfflineTable(int donePrompts, int totalPrompts) => _inner.OfflineTable(donePrompts, totalPrompts);

    public void Step(StepRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (record.Step >= 0)
        {
            _log ??= new QueueDepthLog(_runFolder);
            _log.Append(record.Step, _stages());
        }

        _inner.Step(record);
    }
}
