namespace Basis.Streaming;

/// <summary>A running (or finished) materialization of a <see cref="RunnableGraph"/>.</summary>
public sealed class GraphRun
{
    private readonly IReadOnlyList<StageMetrics> _metrics;

    internal GraphRun(string name, Task completion, Task stopped, IReadOnlyList<StageMetrics> metrics)
    {
        Name = name;
        Completion = completion;
        Stopped = stopped;
        _metrics = metrics;
        StreamingTelemetry.Track(this);
        _ = stopped.ContinueWith(_ => StreamingTelemetry.Untrack(this), TaskScheduler.Default);
    }

    public string Name { get; }

    /// <summary>
    /// Completes when the sink has finished and every stage has stopped; is cancelled when the caller's token was;
    /// faults with <see cref="StageFailedException"/> as soon as any stage fails (fail fast, it does not wait for the teardown).
    /// </summary>
    public Task Completion { get; }

    /// <summary>Completes (never faults) once every stage loop has exited.</summary>
    public Task Stopped { get; }

    /// <summary>A snapshot of every stage, in the order the stages were built (source first).</summary>
    public IReadOnlyList<StageMetricsSnapshot> Metrics => _metrics.Select(m => m.Snapshot()).ToArray();

    internal IReadOnlyList<StageMetrics> LiveMetrics => _metrics;
}
