namespace Basis.Streaming;

/// <summary>A source wired to a sink: ready to run, any number of times (each run builds fresh stages).</summary>
public sealed class RunnableGraph
{
    private readonly Action<GraphContext> _build;
    private readonly string _name;
    private readonly TimeProvider _time;
    private GraphRun? _lastRun;

    internal RunnableGraph(Action<GraphContext> build, string name = "graph", TimeProvider? time = null)
    {
        _build = build;
        _name = name;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>The clock for timers (GroupedWithin, backoff) and busy-time measurement.</summary>
    public RunnableGraph WithTimeProvider(TimeProvider time) => new(_build, _name, time ?? throw new ArgumentNullException(nameof(time)));

    /// <summary>The name the graph's metrics are tagged with.</summary>
    public RunnableGraph Named(string name) => new(_build, name, _time);

    /// <summary>The metrics of the latest run; empty before the first.</summary>
    public IReadOnlyList<StageMetricsSnapshot> Metrics => _lastRun?.Metrics ?? [];

    public GraphRun Run(CancellationToken cancellationToken = default)
    {
        var graph = new GraphContext(_name, _time, cancellationToken);
        _build(graph);
        GraphRun run = graph.Start();
        _lastRun = run;
        return run;
    }

    public Task RunAsync(CancellationToken cancellationToken = default) => Run(cancellationToken).Completion;
}
