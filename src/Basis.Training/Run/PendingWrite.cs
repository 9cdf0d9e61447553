using System.Diagnostics;

namespace Basis.Training.Run;

/// <summary>
/// The journal commit of the last finished step, written while the next step trains. One at a time: a step's
/// events are sent only once the previous step's are committed, so the journal never lags the learner by more
/// than one step. <see cref="Waited"/> is what the journal cost the run: the time the learner spent waiting for it.
/// </summary>
internal sealed class PendingWrite
{
    private Task? _inFlight;

    public TimeSpan Waited { get; private set; }

    public void Start(Task commit)
    {
        ArgumentNullException.ThrowIfNull(commit);
        if (_inFlight is not null)
        {
            throw new InvalidOperationException("a journal commit is already in flight; drain it first.");
        }

        _inFlight = commit;
    }

    /// <summary>Waits for the commit in flight, if any; its failure (e.g. the database went away) is the run's.</summary>
    public async ValueTask DrainAsync()
    {
        if (_inFlight is not { } commit)
        {
            return;
        }

        long started = Stopwatch.GetTimestamp();
        try
        {
            await commit.ConfigureAwait(false);
        }
        finally
        {
            _inFlight = null;
            Waited += Stopwatch.GetElapsedTime(started);
        }
    }

    /// <summary>
    /// Lets the commit in flight finish when the run is already ending with another outcome (a failure, Ctrl-C):
    /// what it commits stays in the journal, and its own error, if any, must not hide the run's.
    /// </summary>
    public async ValueTask DrainQuietlyAsync()
    {
        try
        {
            await DrainAsync().ConfigureAwait(false);
        }
        catch (Exception) when (_inFlight is null)
        {
            // The run reports its own failure or cancellation; this write's outcome is visible in the journal.
        }
    }
}
