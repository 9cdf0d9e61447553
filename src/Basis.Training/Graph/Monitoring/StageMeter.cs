namespace Basis.Training.Graph.Monitoring;

/// <summary>
/// Counters of one stage of the Akka.Streams graph, which has no per-stage meter of its own: how many elements
/// were handed to the stage (counted upstream of its async boundary), how many it started and finished, and the
/// time it spent working. Writers are the stage's own island (one thread at a time), readers are snapshots from
/// other threads, so counters are written with Interlocked and the hot path takes no lock.
/// </summary>
public sealed class StageMeter
{
    private readonly TimeProvider _time;
    private long _offered;
    private long _in;
    private long _out;
    private long _dropped;
    private int _restarts;
    private int _maxDepth;
    private long _busyTicks;
    private long _workingSince = -1;
    private long _start = -1;
    private long _end = -1;
    private int _status;

    public StageMeter(string name, string kind, int capacity, TimeProvider time)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        Name = name;
        Kind = kind;
        Capacity = capacity;
        _time = time;
    }

    public string Name { get; }

    public string Kind { get; }

    /// <summary>Inbox bound: the input buffer at the stage's async boundary plus the element in hand.</summary>
    public int Capacity { get; }

    public StageStatus Status => (StageStatus)Volatile.Read(ref _status);

    /// <summary>Elements handed to the stage and not yet finished.</summary>
    public int QueueDepth => (int)Math.Max(0, Interlocked.Read(ref _offered) - Interlocked.Read(ref _out) - Interlocked.Read(ref _dropped));

    /// <summary>Upstream handed the stage an element (it waits in the stage's input buffer until started).</summary>
    public void Offered()
    {
        long depth = Interlocked.Increment(ref _offered) - Interlocked.Read(ref _out) - Interlocked.Read(ref _dropped);
        int seen = Volatile.Read(ref _maxDepth);
        while (depth > seen)
        {
            int previous = Interlocked.CompareExchange(ref _maxDepth, (int)depth, seen);
            if (previous == seen)
            {
                break;
            }

            seen = previous;
        }
    }

    /// <summary>The stage starts working on an element.</summary>
    public void Begin()
    {
        long now = _time.GetTimestamp();
        Interlocked.CompareExchange(ref _start, now, -1);
        Volatile.Write(ref _status, (int)StageStatus.Running);
        Interlocked.Increment(ref _in);
        Volatile.Write(ref _workingSince, now);
    }

    /// <summary>The stage finished the element it began with.</summary>
    public void End()
    {
        long since = Interlocked.Exchange(ref _workingSince, -1);
        if (since >= 0)
        {
            Interlocked.Add(ref _busyTicks, _time.GetTimestamp() - since);
        }

        Interlocked.Increment(ref _out);
    }

    /// <summary>The element in hand was lost (a crash) and will be issued again elsewhere.</summary>
    public void Dropped()
    {
        long since = Interlocked.Exchange(ref _workingSince, -1);
        if (since >= 0)
        {
            Interlocked.Add(ref _busyTicks, _time.GetTimestamp() - since);
        }

        Interlocked.Increment(ref _dropped);
    }

    /// <summary>A source emitted an element (sources have no inbox).</summary>
    public void Emitted()
    {
        Interlocked.CompareExchange(ref _start, _time.GetTimestamp(), -1);
        Volatile.Write(ref _status, (int)StageStatus.Running);
        Interlocked.Increment(ref _out);
    }

    public void Restarted() => Interlocked.Increment(ref _restarts);

    public void Stopped(StageStatus status)
    {
        if (Status is StageStatus.Pending or StageStatus.Running)
        {
            Volatile.Write(ref _end, _time.GetTimestamp());
            Volatile.Write(ref _status, (int)status);
        }
    }

    public StageMetricsSnapshot Snapshot()
    {
        long now = _time.GetTimestamp();
        long start = Volatile.Read(ref _start);
        StageStatus status = Status;
        long end = status is StageStatus.Pending or StageStatus.Running ? now : Volatile.Read(ref _end);
        long since = Volatile.Read(ref _workingSince);
        long busy = Interlocked.Read(ref _busyTicks) + (since >= 0 ? now - since : 0);
        long wall = end - start;
        double busyFraction = start < 0 || wall <= 0 ? 0 : Math.Clamp((double)busy / wall, 0, 1);
        return new StageMetricsSnapshot(
            Name,
            Kind,
            status,
            Interlocked.Read(ref _in),
            Interlocked.Read(ref _out),
            Interlocked.Read(ref _dropped),
            QueueDepth,
            Volatile.Read(ref _maxDepth),
            Capacity,
            busyFraction,
            Volatile.Read(ref _restarts));
    }
}
