using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Basis.Training.Graph;

/// <summary>
/// The "Basis.Training" <see cref="Meter"/>: how far behind the learner the generators sample (staleness, in policy
/// versions) and how long a finished step waits until its events are committed to the journal (journal lag). Both are
/// recorded once per chunk or step, never per token.
/// </summary>
public static class TrainingTelemetry
{
    public const string MeterName = "Basis.Training";

    private static readonly Meter s_meter = new(MeterName);
    private static readonly Histogram<long> s_staleness = s_meter.CreateHistogram<long>(
        "basis.generator.staleness", "{version}", "Policy versions between a chunk's step and the weights that sampled it (0 = on-policy)");
    private static readonly Histogram<double> s_journalLag = s_meter.CreateHistogram<double>(
        "basis.journal.lag", "s", "Time from a step's end (the learner's update) to the commit of its journal events");

    private static long s_lastStaleness = -1;
    private static long s_lastJournalLagTicks = -1;

    static TrainingTelemetry()
    {
        s_meter.CreateObservableGauge("basis.generator.staleness.last", ObserveStaleness, "{version}", "Staleness of the latest chunk");
        s_meter.CreateObservableGauge("basis.journal.lag.last", ObserveJournalLag, "s", "Journal lag of the latest step");
    }

    /// <summary>A generator sampled a chunk of <paramref name="step"/> with weights of version <paramref name="version"/>.</summary>
    public static void RecordStaleness(long step, long version)
    {
        long lag = Math.Max(0, step - version);
        Volatile.Write(ref s_lastStaleness, lag);
        s_staleness.Record(lag);
    }

    /// <summary>A step that ended at <paramref name="stepEndedTimestamp"/> (<see cref="Stopwatch.GetTimestamp"/>) is now committed.</summary>
    public static void RecordJournalCommit(long stepEndedTimestamp)
    {
        long ticks = Stopwatch.GetTimestamp() - stepEndedTimestamp;
        Volatile.Write(ref s_lastJournalLagTicks, ticks);
        s_journalLag.Record(Stopwatch.GetElapsedTime(0, ticks).TotalSeconds);
    }

    private static IEnumerable<Measurement<long>> ObserveStaleness()
    {
        long last = Volatile.Read(ref s_lastStaleness);
        return last < 0 ? [] : [new Measurement<long>(last)];
    }

    private static IEnumerable<Measurement<double>> ObserveJournalLag()
    {
        long ticks = Volatile.Read(ref s_lastJournalLagTicks);
        return ticks < 0 ? [] : [new Measurement<double>(Stopwatch.GetElapsedTime(0, ticks).TotalSeconds)];
    }
}
