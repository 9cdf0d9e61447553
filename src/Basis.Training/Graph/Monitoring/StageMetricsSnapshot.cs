namespace Basis.Training.Graph.Monitoring;

/// <summary>The lifecycle state of one stage of the training graph.</summary>
public enum StageStatus
{
    Pending,
    Running,
    Completed,
    Cancelled,
    Failed,
}

/// <summary>
/// A point-in-time view of one stage. Queue figures describe the stage's inbox: elements handed to it
/// (Akka.Streams' input buffer at its async boundary, plus the element in its hands) and not yet finished.
/// </summary>
/// <param name="QueueCapacity">The most the inbox can hold (input buffer plus one in hand); 0 for the source.</param>
/// <param name="BusyFraction">Time spent inside the stage's work over the stage's wall time.</param>
public sealed record StageMetricsSnapshot(
    string Stage,
    string Kind,
    StageStatus Status,
    long ElementsIn,
    long ElementsOut,
    long ElementsDropped,
    int QueueDepth,
    int MaxQueueDepth,
    int QueueCapacity,
    double BusyFraction,
    int Restarts);
