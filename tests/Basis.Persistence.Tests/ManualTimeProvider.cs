namespace Basis.Persistence.Tests;

/// <summary>
/// A clock that moves only when told to. Timers fire inside <see cref="Advance"/>. Tests also wait on
/// <see cref="WaitForTimersCreatedAsync"/>: a live query creates a timer exactly when it has finished a poll
/// and gone idle, which gives the tests a deterministic point to act at.
/// </summary>
internal sealed class ManualTimeProvider : TimeProvider
{
    private readonly object _lock = new();
    private readonly List<ManualTimer> _timers = [];
    private readonly List<(int Count, TaskCompletionSource Signal)> _waiters = [];
    private DateTimeOffset _now;
    private int _timersCreated;

    public ManualTimeProvider(DateTimeOffset start)
    {
        _now = start;
    }

    public int TimersCreated
    {
        get
        {
            lock (_lock)
            {
                return _timersCreated;
            }
        }
    }

    public override DateTimeOffset GetUtcNow()
    {
        lock (_lock)
        {
            return _now;
        }
    }

    public override long GetTimestamp() => GetUtcNow().UtcTicks;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ManualTimer(this, callback, state);
        List<TaskCompletionSource> released = [];
        lock (_lock)
        {
            timer.Arm(_now, dueTime, period);
            _timers.Add(timer);
            _timersCreated++;
            _waiters.RemoveAll(w =>
            {
                if (w.Count <= _timersCreated)
                {
                    released.Add(w.Signal);
                    return true;
                }

                return false;
            });
        }

        released.ForEach(s => s.TrySetResult());
        return timer;
    }

    /// <summary>Completes once at least <paramref name="count"/> timers have been created in total.</summary>
    public Task WaitForTimersCreatedAsync(int count)
    {
        var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            if (_timersCreated >= count)
            {
                return Task.CompletedTask;
            }

            _waiters.Add((count, signal));
        }

        // A safety net against a hung test, not a timing assumption.
        return signal.Task.WaitAsync(TimeSpan.FromSeconds(30));
    }

    public void Advance(TimeSpan by)
    {
        List<ManualTimer> due;
        lock (_lock)
        {
            _now += by;
            due = _timers.Where(t => t.DueAt is { } at && at <= _now).ToList();
            foreach (ManualTimer timer in due)
            {
                timer.Rearm();
                if (timer.DueAt is null)
                {
                    _timers.Remove(timer);
                }
            }
        }

        foreach (ManualTimer timer in due)
        {
            timer.Fire();
        }
    }

    private void Remove(ManualTimer timer)
    {
        lock (_lock)
        {
            _timers.Remove(timer);
        }
    }

    private sealed class ManualTimer(ManualTimeProvider owner, TimerCallback callback, object? state) : ITimer
    {
        private TimeSpan _period = Timeout.InfiniteTimeSpan;

        public DateTimeOffset? DueAt { get; private set; }

        public void Arm(DateTimeOffset now, TimeSpan dueTime, TimeSpan period)
        {
            DueAt = dueTime == Timeout.InfiniteTimeSpan ? null : now + dueTime;
            _period = period;
        }

        public void Rearm() => DueAt = _period == Timeout.InfiniteTimeSpan || _period == TimeSpan.Zero ? null : DueAt + _period;

        public void Fire() => callback(state);

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (owner._lock)
            {
                Arm(owner._now, dueTime, period);
                if (!owner._timers.Contains(this))
                {
                    owner._timers.Add(this);
                }
            }

            return true;
        }

        public void Dispose() => owner.Remove(this);

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
