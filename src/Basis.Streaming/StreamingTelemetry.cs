using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Basis.Streaming;

/// <summary>
/// The "Basis.Streaming" <see cref="Meter"/>. Instruments are observable, so the element hot path pays nothing
/// for them: values are read from the running graphs' counters when a listener (e.g. OpenTelemetry) collects.
/// </summary>
public static class StreamingTelemetry
{
    public const string MeterName = "Basis.Streaming";

    private static readonly ConcurrentDictionary<GraphRun, byte> s_runs = new();
    private static readonly Meter s_meter = new(MeterName);

    static StreamingTelemetry()
    {
        s_meter.CreateObservableCounter("basis.streaming.elements", ObserveElements, "{element}", "Elements in, out and dropped per stage");
        s_meter.CreateObservableGauge("basis.streaming.queue.depth", ObserveQueueDepth, "{element}", "Elements waiting in a stage's output queue");
        s_meter.CreateObservableGauge("basis.streaming.busy.fraction", ObserveBusyFraction, null, "Time inside the stage's function over wall time");
        s_meter.CreateObservableCounter("basis.streaming.restarts", ObserveRestarts, "{restart}", "Supervised restarts per stage");
    }

    internal static void Track(GraphRun run) => s_runs.TryAdd(run, 0);

    internal static void Untrack(GraphRun run) => s_runs.TryRemove(run, out _);

    private static IEnumerable<(GraphRun Run, StageMetricsSnapshot Stage)> Stages() =>
        s_runs.Keys.SelectMany(run => run.LiveMetrics.Select(m => (run, m.Snapshot())));

    private static KeyValuePair<string, object?>[] Tags(GraphRun run, StageMetricsSnapshot stage) =>
        [new("graph", run.Name), new("stage", stage.Stage)];

    private static IEnumerable<Measurement<long>> ObserveElements()
    {
        foreach (var (run, stage) in Stages())
        {
            yield return new Measurement<long>(stage.ElementsIn, [.. Tags(run, stage), new("direction", "in")]);
            yield return new Measurement<long>(stage.ElementsOut, [.. Tags(run, stage), new("direction", "out")]);
            yield return new Measurement<long>(stage.ElementsDropped, [.. Tags(run, stage), new("direction", "dropped")]);
        }
    }

    private static IEnumerable<Measurement<int>> ObserveQueueDepth() =>
        Stages().Select(s => new Measurement<int>(s.Stage.QueueDepth, Tags(s.Run, s.Stage)));

    private static IEnumerable<Measurement<double>> ObserveBusyFraction() =>
        Stages().Select(s => new Measurement<double>(s.Stage.BusyFraction, Tags(s.Run, s.Stage)));

    private static IEnumerable<Measurement<int>> ObserveRestarts() =>
        Stages().Select(s => new Measurement<int>(s.Stage.Restarts, Tags(s.Run, s.Stage)));
}
