namespace Basis.Rollouts.Tests;

/// <summary>
/// A clock that moves only when a test calls <see cref="Advance"/>. Timers fire during <see cref="Advance"/>,
/// so retry delays and timeouts happen without real waiting.
/// </summary>
internal sealed class ManualTimeProvider : TimeProvider
{
    private readonly Lock _gate = new();
    private readonly List<ManualTimer> _timers = [];
    private readonly List<(TimeSpan DueTime, TaskCompletionSource Armed)> _waiters = [];
    private readonly List<TimeSpan> _armedDueTimes = [];
    private DateTimeOffset _now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public override DateTimeOffset GetUtcNow()
    {
        lock (_gate)
        {
            return _now;
        }
    }

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => GetUtcNow().UtcTicks;

    /// <summary>Every due time a timer was armed with, in order.</summary>
    public IReadOnlyList<TimeSpan> ArmedDueTimes
    {
        get
        {
            lock (_gate)
            {
                return [.. _armedDueTimes];
            }
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ManualTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    /// <summary>Completes once a timer is armed to fire <paramref name="dueTime"/> after it was set (now or later).</summary>
    public Task WaitForTimerAsync(TimeSpan dueTime, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_timers.Exists(t => t.DueTime == dueTime))
            {
                return Task.CompletedTask;
            }

            var armed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((dueTime, armed));
            return armed.Task.WaitAsync(cancellationToken);
        }
    }

    /// <summary>Moves the clock forward, firing every timer that falls due on the way, in due order.</summary>
    public void Advance(TimeSpan by)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(by, TimeSpan.Zero);
        DateTimeOffset target;
        lock (_gate)
        {
            target = _now + by;
        }

        while (true)
        {
            ManualTimer? next;
            lock (_gate)
            {
                next = _timers.Where(t => t.FireAt <= target).MinBy(t => t.FireAt);
                if (next is null)
                {
                    _now = target;
                    return;
                }

                _now = next.FireAt;
                if (next.Period > TimeSpan.Zero && next.Period != Timeout.InfiniteTimeSpan)
                {
                    next.FireAt += next.Period;
                }
                else
                {
                    _timers.Remove(next);
                }
            }

            // Outside the lock: the callback may arm or cancel timers.
            next.Fire();
        }
    }

    private void Arm(ManualTimer timer, TimeSpan dueTime, TimeSpan period)
    {
        List<TaskCompletionSource> released = [];
        lock (_gate)
        {
            _timers.Remove(timer);
            if (dueTime == Timeout.InfiniteTimeSpan)
            {
                return;
            }

            timer.DueTime = dueTime;
            timer.Period = period;
            timer.FireAt = _now + dueTime;
            _timers.Add(timer);
            _armedDueTimes.Add(dueTime);
            for (int i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].DueTime == dueTime)
                {
                    released.Add(_waiters[i].Armed);
                    _waiters.RemoveAt(i);
                }
            }
        }

        released.ForEach(r => r.TrySetResult());
    }

    private void Disarm(ManualTimer timer)
    {
        lock (_gate)
        {
            _timers.Remove(timer);
        }
    }

    private sealed class ManualTimer(ManualTimeProvider owner, TimerCallback callback, object? state) : ITimer
    {
        public TimeSpan DueTime { get; set; }

        public TimeSpan Period { get; set; }

        public DateTimeOffset FireAt { get; set; }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            owner.Arm(this, dueTime, period);
            return true;
        }

        public void Fire() => callback(state);

        public void Dispose() => owner.Disarm(this);

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
