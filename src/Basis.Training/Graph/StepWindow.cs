namespace Basis.Training.Graph;

/// <summary>
/// How far the prompt source may run ahead of the learner: chunks of step s are issued only once
/// the learner has finished step s - window. The bounded edges already throttle a graph whose
/// rollouts arrive in order; this bound also holds when they do not (a stalled or restarting
/// generator would otherwise let the others fill the step assembler with the rest of the schedule).
/// </summary>
internal sealed class StepWindow
{
    private readonly object _gate = new();
    private readonly int _window;
    private long _limit;
    private TaskCompletionSource? _advanced;

    public StepWindow(long firstStep, int window)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(window);
        _window = window;
        _limit = firstStep + window;
    }

    /// <summary>Completes once chunks of <paramref name="step"/> may be issued.</summary>
    public async ValueTask WaitUntilAllowedAsync(long step, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task advanced;
            lock (_gate)
            {
                if (step < _limit)
                {
                    return;
                }

                _advanced ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                advanced = _advanced.Task;
            }

            await advanced.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The learner finished <paramref name="step"/>.</summary>
    public void Finished(long step)
    {
        TaskCompletionSource? advanced;
        lock (_gate)
        {
            long limit = step + 1 + _window;
            if (limit <= _limit)
            {
                return;
            }

            _limit = limit;
            advanced = _advanced;
            _advanced = null;
        }

        advanced?.TrySetResult();
    }
}
