namespace Basis.Streaming;

/// <summary>Applies a stage's <see cref="SupervisionStrategy"/>: decides, quarantines, backs off, counts the budget.</summary>
internal sealed class StageSupervisor
{
    private readonly string _stage;
    private readonly SupervisionStrategy _strategy;
    private readonly TimeProvider _time;
    private readonly StageMetrics _metrics;
    private readonly Queue<long> _restartTimestamps = new();

    public StageSupervisor(string stage, SupervisionStrategy strategy, TimeProvider time, StageMetrics metrics)
    {
        _stage = stage;
        _strategy = strategy;
        _time = time;
        _metrics = metrics;
    }

    /// <summary>
    /// Handles a failed element. Returns the directive to apply (Resume or Restart, the backoff already waited);
    /// throws <see cref="StageFailedException"/> for Stop or when the restart budget is spent.
    /// </summary>
    public async ValueTask<SupervisionDirective> HandleAsync(object? element, Exception exception, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        SupervisionDirective directive = _strategy.Decider(exception);
        if (directive == SupervisionDirective.Stop)
        {
            throw StageFailedException.Failed(_stage, exception);
        }

        _metrics.RecordDropped();
        if (directive == SupervisionDirective.Resume)
        {
            _strategy.Quarantine?.Invoke(new QuarantinedElement(_stage, element, exception, directive));
            return directive;
        }

        RestartSettings settings = _strategy.Restart
            ?? throw new StageFailedException(_stage, $"Stage '{_stage}' asked to restart but its supervision has no RestartSettings.", exception);
        long now = _time.GetTimestamp();
        while (_restartTimestamps.Count > 0 && _time.GetElapsedTime(_restartTimestamps.Peek(), now) >= settings.Within)
        {
            _restartTimestamps.Dequeue();
        }

        if (_restartTimestamps.Count >= settings.MaxRestarts)
        {
            throw new StageFailedException(
                _stage,
                $"Stage '{_stage}' exhausted its restart budget ({settings.MaxRestarts} restarts within {settings.Within}); " +
                $"last failure: {exception.GetType().Name}: {exception.Message}",
                exception);
        }

        TimeSpan delay = settings.BackoffFor(_restartTimestamps.Count);
        _restartTimestamps.Enqueue(now);
        _metrics.RecordRestart();

        // Reported once the restart is booked, so an observer of the quarantine sees the restart counted.
        _strategy.Quarantine?.Invoke(new QuarantinedElement(_stage, element, exception, directive));
        if (delay > TimeSpan.Zero)
        {
            await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
        }

        return directive;
    }
}
