namespace Basis.Testing;

/// <summary>
/// A clock that moves only when a test calls <see cref="Advance"/>. Timers fire synchronously inside Advance,
/// in due order (creation order among equals), each with the clock set to its due time; a periodic timer fires
/// once per elapsed period. Linked into the test projects that need it (tests/Shared).
/// </summary>
internal sealed class ManualTimeProvider : TimeProvider
{
    private readonly Lock _gate = new();
    private readonly List<ManualTimer> _timers = [];
    private readonly List<(int Count, TaskCompletionSource Signal)> _createdWaiters = [];
    private readonly List<(TimeSpan DueTime, TaskCompletionSource Signal)> _armedWaiters = [];
    private readonly List<TimeSpan> _armedDueTimes = [];
    private DateTimeOffset _now;
    private long _elapsedTicks;
    private int _created;

    public ManualTimeProvider()
        : this(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero))
    {
    }

    public ManualTimeProvider(DateTimeOffset start)
    {
        _now = start;
    }

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    /// <summary>Time advanced since the provider was created.</summary>
    public TimeSpan Elapsed => TimeSpan.FromTicks(GetTimestamp());

    /// <summary>Timers that will fire.</summary>
    public int ActiveTimers
    {
        get
        {
            lock (_gate)
            {
                return _timers.Count(t => t.Due is not null);
            }
        }
    }

    /// <summary>Due times (relative to now) of the timers that will fire, soonest first.</summary>
    public IReadOnlyList<TimeSpan> PendingTimers
    {
        get
        {
            lock (_gate)
            {
                return _timers.Where(t => t.Due is not null).Select(t => TimeSpan.FromTicks(t.Due!.Value - _elapsedTicks)).Order().ToArray();
            }
        }
    }

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

    public override DateTimeOffset GetUtcNow()
    {
        lock (_gate)
        {
            return _now;
        }
    }

    public override long GetTimestamp() => Interlocked.Read(ref _elapsedTicks);

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ManualTimer(this, callback, state);
        lock (_gate)
        {
            _timers.Add(timer);
        }

        // Armed before it counts as created: a test woken by WaitForTimersCreatedAsync must see its due time.
        timer.Change(dueTime, period);
        List<TaskCompletionSource> released;
        lock (_gate)
        {
            _created++;
            released = Release(_createdWaiters, w => w.Key <= _created);
        }

        released.ForEach(s => s.TrySetResult());
        return timer;
    }

    /// <summary>Completes once <paramref name="count"/> timers have been created in total (e.g. a backoff delay has started).</summary>
    public Task WaitForTimersCreatedAsync(int count)
    {
        lock (_gate)
        {
            if (_created >= count)
            {
                return Task.CompletedTask;
            }

            var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _createdWaiters.Add((count, signal));
            return signal.Task;
        }
    }

    /// <summary>Completes once a timer is armed to fire <paramref name="dueTime"/> after it was set (now or later).</summary>
    public Task WaitForTimerAsync(TimeSpan dueTime, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_timers.Exists(t => t.Due is not null && t.DueTime == dueTime))
            {
                return Task.CompletedTask;
            }

            var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _armedWaiters.Add((dueTime, signal));
            return signal.Task.WaitAsync(cancellationToken);
        }
    }

    /// <summary>Moves the clock forward, firing every timer that falls due on the way, in due order.</summary>
    public void Advance(TimeSpan by)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(by, TimeSpan.Zero);
        long target;
        lock (_gate)
        {
            target = _elapsedTicks + by.Ticks;
        }

        while (true)
        {
            ManualTimer? next;
            lock (_gate)
            {
                next = _timers.Where(t => t.Due <= target).MinBy(t => t.Due);
                if (next is null)
                {
                    SetNow(target);
                    return;
                }

                SetNow(next.Due!.Value);
                next.Rearm();
            }

            // Outside the lock: the callback may create, change or dispose timers.
            next.Fire();
        }
    }

    private static List<TaskCompletionSource> Release<T>(List<(T Key, TaskCompletionSource Signal)> waiters, Func<(T Key, TaskCompletionSource Signal), bool> ready)
    {
        var released = new List<TaskCompletionSource>();
        waiters.RemoveAll(w =>
        {
            if (ready(w))
            {
                released.Add(w.Signal);
                return true;
            }

            return false;
        });
        return released;
    }

    private void SetNow(long ticks)
    {
        _now += TimeSpan.FromTicks(ticks - _elapsedTicks);
        Interlocked.Exchange(ref _elapsedTicks, ticks);
    }

    private sealed class ManualTimer(ManualTimeProvider owner, TimerCallback callback, object? state) : ITimer
    {
        private long _period;

        /// <summary>When it fires next, in elapsed ticks; null when disarmed.</summary>
        public long? Due { get; private set; }

        /// <summary>The due time it was last armed with.</summary>
        public TimeSpan DueTime { get; private set; }

        public void Rearm() => Due = _period > 0 ? Due + _period : null;

        public void Fire() => callback(state);

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            List<TaskCompletionSource> released = [];
            lock (owner._gate)
            {
                Due = dueTime == Timeout.InfiniteTimeSpan ? null : owner._elapsedTicks + dueTime.Ticks;
                _period = period == Timeout.InfiniteTimeSpan || period == TimeSpan.Zero ? 0 : period.Ticks;
                if (Due is not null)
                {
                    DueTime = dueTime;
                    owner._armedDueTimes.Add(dueTime);
                    released = Release(owner._armedWaiters, w => w.Key == dueTime);
                }
            }

            released.ForEach(s => s.TrySetResult());
            return true;
        }

        public void Dispose()
        {
            lock (owner._gate)
            {
                Due = null;
                owner._timers.Remove(this);
            }
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
