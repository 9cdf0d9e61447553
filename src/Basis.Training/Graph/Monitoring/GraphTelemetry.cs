using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Basis.Training.Graph.Monitoring;

/// <summary>
/// The "Basis.Graph" <see cref="Meter"/>: per-stage elements, inbox depth, busy fraction and restarts of the running
/// training graphs. Instruments are observable, so the element hot path pays nothing for them: values are read
/// from the stages' <see cref="StageMeter"/>s when a listener (e.g. OpenTelemetry) collects.
/// </summary>
public static class GraphTelemetry
{
    public const string MeterName = "Basis.Graph";

    private static readonly ConcurrentDictionary<IReadOnlyList<StageMeter>, byte> s_graphs = new();
    private static readonly Meter s_meter = new(MeterName);

    static GraphTelemetry()
    {
        s_meter.CreateObservableCounter("basis.graph.elements", ObserveElements, "{element}", "Elements in, out and dropped per stage");
        s_meter.CreateObservableGauge("basis.graph.queue.depth", () => Observe(s => s.QueueDepth), "{element}", "Elements handed to a stage and not yet finished");
        s_meter.CreateObservableGauge("basis.graph.busy.fraction", () => Observe(s => s.BusyFraction), null, "Time inside the stage's work over its wall time");
        s_meter.CreateObservableCounter("basis.graph.restarts", () => Observe(s => s.Restarts), "{restart}", "Supervised restarts per stage");
    }

    internal static void Track(IReadOnlyList<StageMeter> stages) => s_graphs.TryAdd(stages, 0);

    internal static void Untrack(IReadOnlyList<StageMeter> stages) => s_graphs.TryRemove(stages, out _);

    private static IEnumerable<StageMetricsSnapshot> Stages() => s_graphs.Keys.SelectMany(graph => graph.Select(m => m.Snapshot()));

    private static IEnumerable<Measurement<T>> Observe<T>(Func<StageMetricsSnapshot, T> value)
        where T : struct =>
        Stages().Select(s => new Measurement<T>(value(s), new KeyValuePair<string, object?>("stage", s.Stage)));

    private static IEnumerable<Measurement<long>> ObserveElements()
    {
        foreach (StageMetricsSnapshot stage in Stages())
        {
            yield return new Measurement<long>(stage.ElementsIn, new("stage", stage.Stage), new("direction", "in"));
            yield return new Measurement<long>(stage.ElementsOut, new("stage", stage.Stage), new("direction", "out"));
            yield return new Measurement<long>(stage.ElementsDropped, new("stage", stage.Stage), new("direction", "dropped"));
        }
    }
}
