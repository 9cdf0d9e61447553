namespace Basis.Streaming;

/// <summary>The lifecycle state of one stage.</summary>
public enum StageStatus
{
    Pending,
    Running,
    Completed,
    Cancelled,
    Failed,
}

/// <summary>
/// A point-in-time view of one stage. Queue figures describe the bounded edge the stage writes to
/// (a full queue means the downstream stage is the bottleneck); sinks have no queue.
/// </summary>
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

/// <summary>
/// Counters of one materialized stage. Counters have a single writer (the stage's loop) and are
/// read with volatile semantics by snapshots, so the hot path takes no lock.
/// </summary>
internal sealed class StageMetrics
{
    private readonly TimeProvider _time;
    private readonly object _busyGate = new();
    private Func<int>? _depth;
    private long _in;
    private long _out;
    private long _dropped;
    private int _restarts;
    private int _maxDepth;
    private long _busyTicks;
    private int _activeWork;
    private long _activeSince;
    private long _start;
    private long _end;
    private int _status;

    public StageMetrics(string name, string kind, TimeProvider time, int capacity)
    {
        Name = name;
        Kind = kind;
        Capacity = capacity;
        _time = time;
    }

    public string Name { get; }

    public string Kind { get; }

    public int Capacity { get; }

    public StageStatus Status => (StageStatus)Volatile.Read(ref _status);

    public void AttachQueue(Func<int> depth) => _depth = depth;

    public void MarkStarted()
    {
        Volatile.Write(ref _start, _time.GetTimestamp());
        Volatile.Write(ref _status, (int)StageStatus.Running);
    }

    public void MarkStopped(StageStatus status)
    {
        Volatile.Write(ref _end, _time.GetTimestamp());
        Volatile.Write(ref _status, (int)status);
    }

    public void RecordIn() => Volatile.Write(ref _in, _in + 1);

    public void RecordIn(int count) => Volatile.Write(ref _in, _in + count);

    public void RecordOut() => Volatile.Write(ref _out, _out + 1);

    public void RecordInConcurrent() => Interlocked.Increment(ref _in);

    public void RecordOutConcurrent() => Interlocked.Increment(ref _out);

    public void RecordDropped() => Interlocked.Increment(ref _dropped);

    public void RecordRestart() => Interlocked.Increment(ref _restarts);

    public void RecordDepth(int depth)
    {
        int seen = Volatile.Read(ref _maxDepth);
        while (depth > seen)
        {
            int previous = Interlocked.CompareExchange(ref _maxDepth, depth, seen);
            if (previous == seen)
            {
                return;
            }

            seen = previous;
        }
    }

    /// <summary>Adds the time since <paramref name="startTimestamp"/> to the busy time (single-threaded stages).</summary>
    public void RecordBusySince(long startTimestamp)
    {
        long elapsed = _time.GetTimestamp() - startTimestamp;
        Volatile.Write(ref _busyTicks, _busyTicks + elapsed);
    }

    /// <summary>Concurrent stages count the union of their work intervals: busy while any call is running.</summary>
    public void BeginWork()
    {
        lock (_busyGate)
        {
            if (_activeWork++ == 0)
            {
                _activeSince = _time.GetTimestamp();
            }
        }
    }

    public void EndWork()
    {
        lock (_busyGate)
        {
            if (--_activeWork == 0)
            {
                _busyTicks += _time.GetTimestamp() - _activeSince;
            }
        }
    }

    public StageMetricsSnapshot Snapshot()
    {
        long now = _time.GetTimestamp();
        long start = Volatile.Read(ref _start);
        StageStatus status = Status;
        long end = status is StageStatus.Pending or StageStatus.Running ? now : Volatile.Read(ref _end);
        long busy;
        lock (_busyGate)
        {
            busy = Volatile.Read(ref _busyTicks) + (_activeWork > 0 ? now - _activeSince : 0);
        }

        long wall = end - start;
        double busyFraction = status == StageStatus.Pending || wall <= 0 ? 0 : Math.Clamp((double)busy / wall, 0, 1);
        return new StageMetricsSnapshot(
            Name,
            Kind,
            status,
            Volatile.Read(ref _in),
            Volatile.Read(ref _out),
            Interlocked.Read(ref _dropped),
            _depth?.Invoke() ?? 0,
            Volatile.Read(ref _maxDepth),
            Capacity,
            busyFraction,
            Volatile.Read(ref _restarts));
    }
}
