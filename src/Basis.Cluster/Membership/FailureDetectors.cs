namespace Basis.Cluster.Membership;

/// <summary>Decides from the heartbeats observed so far whether a node should be declared down.</summary>
public interface IFailureDetector
{
    /// <summary>Records the node's latest heartbeat time (repeats of the same time are ignored).</summary>
    void Heartbeat(DateTimeOffset at);

    /// <summary>True while the node should still be considered alive at <paramref name="now"/>.</summary>
    bool IsAvailable(DateTimeOffset now);

    /// <summary>A short account of the decision for logs ("silent for 12.0 s", "phi 9.3").</summary>
    string Describe(DateTimeOffset now);
}

/// <summary>Down after a fixed silence.</summary>
public sealed class TimeoutFailureDetector(TimeSpan timeout) : IFailureDetector
{
    private DateTimeOffset? _last;

    public void Heartbeat(DateTimeOffset at)
    {
        if (_last is null || at > _last)
        {
            _last = at;
        }
    }

    public bool IsAvailable(DateTimeOffset now) => _last is not { } last || now - last <= timeout;

    public string Describe(DateTimeOffset now) => _last is { } last ? $"silent for {(now - last).TotalSeconds:F1} s (timeout {timeout.TotalSeconds:F1} s)" : "no heartbeat yet";
}

/// <summary>
/// The phi-accrual detector (Hayashibara et al.): phi = -log10(P(a heartbeat is still to come
/// after this much silence)), with inter-arrival times modelled as a normal distribution over a
/// sliding window. Until <c>minSamples</c> intervals are known it falls back to a plain timeout,
/// because a mean of two samples is no evidence.
/// </summary>
public sealed class PhiAccrualFailureDetector : IFailureDetector
{
    private const int WindowSize = 1000;
    private readonly double _threshold;
    private readonly int _minSamples;
    private readonly TimeSpan _minStdDeviation;
    private readonly TimeSpan _fallbackTimeout;
    private readonly Queue<double> _intervals = new();
    private double _sum;
    private double _sumOfSquares;
    private DateTimeOffset? _last;

    public PhiAccrualFailureDetector(double threshold, int minSamples, TimeSpan minStdDeviation, TimeSpan fallbackTimeout)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(threshold);
        ArgumentOutOfRangeException.ThrowIfLessThan(minSamples, 1);
        _threshold = threshold;
        _minSamples = minSamples;
        _minStdDeviation = minStdDeviation;
        _fallbackTimeout = fallbackTimeout;
    }

    public int Samples => _intervals.Count;

    public void Heartbeat(DateTimeOffset at)
    {
        if (_last is { } last)
        {
            if (at <= last)
            {
                return;
            }

            double interval = (at - last).TotalMilliseconds;
            _intervals.Enqueue(interval);
            _sum += interval;
            _sumOfSquares += interval * interval;
            if (_intervals.Count > WindowSize)
            {
                double dropped = _intervals.Dequeue();
                _sum -= dropped;
                _sumOfSquares -= dropped * dropped;
            }
        }

        _last = at;
    }

    /// <summary>Suspicion level at <paramref name="now"/>; 0 before any heartbeat.</summary>
    public double Phi(DateTimeOffset now)
    {
        if (_last is not { } last || _intervals.Count == 0)
        {
            return 0;
        }

        double mean = _sum / _intervals.Count;
        double variance = Math.Max(0, (_sumOfSquares / _intervals.Count) - (mean * mean));
        double std = Math.Max(Math.Sqrt(variance), _minStdDeviation.TotalMilliseconds);
        double elapsed = (now - last).TotalMilliseconds;

        // Logistic approximation of the normal CDF's tail (as in Akka's detector), stable for large y.
        double y = (elapsed - mean) / std;
        double e = Math.Exp(-y * (1.5976 + (0.070566 * y * y)));
        double tail = elapsed > mean ? e / (1.0 + e) : 1.0 - (1.0 / (1.0 + e));
        return tail <= 0 ? double.PositiveInfinity : -Math.Log10(tail);
    }

    public bool IsAvailable(DateTimeOffset now)
    {
        if (_last is not { } last)
        {
            return true;
        }

        return _intervals.Count < _minSamples ? now - last <= _fallbackTimeout : Phi(now) < _threshold;
    }

    public string Describe(DateTimeOffset now) => _intervals.Count < _minSamples
        ? $"silent for {(now - (_last ?? now)).TotalSeconds:F1} s ({_intervals.Count} of {_minSamples} samples: timeout {_fallbackTimeout.TotalSeconds:F1} s)"
        : $"phi {Phi(now):F1} (threshold {_threshold:F1})";
}

/// <summary>Makes one detector per watched node from <c>basis.cluster.failure-detector</c>.</summary>
public static class FailureDetectorFactory
{
    public static Func<IFailureDetector> From(ClusterSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        FailureDetectorSettings detector = settings.FailureDetector;
        TimeSpan interval = settings.HeartbeatInterval;
        return detector.Kind == "phi-accrual"
            ? () => new PhiAccrualFailureDetector(detector.PhiThreshold, detector.MinSamples, interval / 4, detector.Timeout)
            : () => new TimeoutFailureDetector(detector.Timeout);
    }
}
