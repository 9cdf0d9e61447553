namespace Basis.Streaming.Tests;

/// <summary>
/// A clock that moves only when the test calls <see cref="Advance"/>. Timers fire synchronously inside Advance,
/// in due order, each with the clock set to its due time; periodic timers fire once per elapsed period.
/// </summary>
public sealed class FakeTimeProvider : TimeProvider
{
    private readonly object _gate = new();
    private readonly List<FakeTimer> _timers = [];
    private readonly List<(int Count, TaskCompletionSource Signal)> _timerWaiters = [];
    private DateTimeOffset _now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private long _elapsedTicks;
    private int _created;

    public override DateTimeOffset GetUtcNow()
    {
        lock (_gate)
        {
            return _now;
        }
    }

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => Interlocked.Read(ref _elapsedTicks);

    public TimeSpan Elapsed => TimeSpan.FromTicks(GetTimestamp());

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

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new FakeTimer(this, callback, state);
        List<TaskCompletionSource> ready = [];
        lock (_gate)
        {
            _timers.Add(timer);
            timer.Schedule(dueTime, period, _elapsedTicks);
            _created++;
            _timerWaiters.RemoveAll(w =>
            {
                if (w.Count <= _created)
                {
                    ready.Add(w.Signal);
                    return true;
                }

                return false;
            });
        }

        ready.ForEach(s => s.TrySetResult());
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
            _timerWaiters.Add((count, signal));
            return signal.Task;
        }
    }

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
            FakeTimer? next;
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

    private void SetNow(long ticks)
    {
        _now += TimeSpan.FromTicks(ticks - _elapsedTicks);
        Interlocked.Exchange(ref _elapsedTicks, ticks);
    }

    private sealed class FakeTimer(FakeTimeProvider owner, TimerCallback callback, object? state) : ITimer
    {
        private long _period;

        public long? Due { get; private set; }

        public void Schedule(TimeSpan dueTime, TimeSpan period, long now)
        {
            Due = dueTime == Timeout.InfiniteTimeSpan ? null : now + dueTime.Ticks;
            _period = period == Timeout.InfiniteTimeSpan || period == TimeSpan.Zero ? 0 : period.Ticks;
        }

        public void Rearm() => Due = _period > 0 ? Due + _period : null;

        public void Fire() => callback(state);

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (owner._gate)
            {
                Schedule(dueTime, period, owner._elapsedTicks);
                return true;
            }
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
            return default;
        }
    }
}
