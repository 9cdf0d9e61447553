using Basis.Cluster.Work;

namespace Basis.Cluster.Learner;

/// <summary>
/// Takes the session's finished items as NOTIFY wakes it (or every poll interval) and completes the
/// proxies waiting for them. A result that arrives before its proxy registered waits here.
/// </summary>
internal sealed class ResultCollector : IAsyncDisposable
{
    private readonly WorkQueue _queue;
    private readonly Guid _sessionId;
    private readonly NotificationListener _listener;
    private readonly TimeSpan _pollInterval;
    private readonly TimeProvider _time;
    private readonly TextWriter _log;
    private readonly object _gate = new();
    private readonly Dictionary<long, TaskCompletionSource<CollectedResult>> _waiting = new();
    private readonly Dictionary<long, CollectedResult> _early = new();
    private ClusterWorkFailedException? _failure;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private int _collectedSincePrune;

    public ResultCollector(ClusterDatabase database, Guid sessionId, TimeSpan pollInterval, TextWriter log)
    {
        _queue = new WorkQueue(database);
        _sessionId = sessionId;
        _pollInterval = pollInterval;
        _time = database.Time;
        _log = log;
        _listener = new NotificationListener(database, ClusterSchema.ResultChannel);
        _loop = Task.Run(() => LoopAsync(_stop.Token));
    }

    /// <summary>Collected items between two prunes of the session's finished rows.</summary>
    internal int PruneEvery { get; init; } = 1024;

    public Task<CollectedResult> Register(long itemId)
    {
        lock (_gate)
        {
            if (_early.Remove(itemId, out CollectedResult? result))
            {
                return Task.FromResult(result);
            }

            if (_failure is not null)
            {
                return Task.FromException<CollectedResult>(_failure);
            }

            var waiter = new TaskCompletionSource<CollectedResult>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiting.Add(itemId, waiter);
            return waiter.Task;
        }
    }

    /// <summary>Forgets items a stopped proxy no longer waits for.</summary>
    public void Forget(IEnumerable<long> itemIds)
    {
        lock (_gate)
        {
            foreach (long id in itemIds)
            {
                _waiting.Remove(id);
                _early.Remove(id);
            }
        }
    }

    private async Task LoopAsync(CancellationToken cancellationToken)
    {
        await _listener.Listening.WaitAsync(cancellationToken).ConfigureAwait(false);
        while (!cancellationToken.IsCancellationRequested)
        {
            Task wake = _listener.Signal.Next;
            try
            {
                IReadOnlyList<CollectedResult> results = await _queue.CollectAsync(_sessionId, cancellationToken).ConfigureAwait(false);
                Dispatch(results);
                _collectedSincePrune += results.Count;
                if (_collectedSincePrune >= PruneEvery)
                {
                    _collectedSincePrune = 0;
                    await _queue.PruneAsync(_sessionId, cancellationToken).ConfigureAwait(false);
                }

                if (results.Count == 0)
                {
                    // A failed item never finishes, so its step stalls: look for failures only when nothing came in,
                    // keeping the query off the path of a busy collector, and only until the first one stops the run.
                    if (_failure is null)
                    {
                        Fail(await _queue.FailedAsync(_sessionId, cancellationToken).ConfigureAwait(false));
                    }

                    await Signal.WaitAsync(wake, _pollInterval, _time, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (ClusterDatabase.IsUnavailable(e))
            {
                _log.WriteLine($"[cluster] collecting results failed: {e.Message}");
                await Signal.WaitAsync(wake, _pollInterval, _time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    // A failed item stops the run: every proxy waiting now or later gets the error naming the first such item.
    private void Fail(IReadOnlyList<FailedItem> failed)
    {
        if (failed.Count == 0)
        {
            return;
        }

        FailedItem first = failed[0];
        var failure = new ClusterWorkFailedException(
            $"work item {first.ItemId} (step {first.Step}, slot {first.Slot}) failed {first.Attempts} attempts without a result " +
            $"(basis.cluster.max-attempts); last error: {first.LastError ?? "none reported: its leases expired (a worker died or hung on it)"}");
        List<TaskCompletionSource<CollectedResult>> waiters;
        lock (_gate)
        {
            _failure = failure;
            waiters = [.. _waiting.Values];
            _waiting.Clear();
        }

        _log.WriteLine($"[cluster] {failure.Message}");
        foreach (TaskCompletionSource<CollectedResult> waiter in waiters)
        {
            waiter.TrySetException(failure);
        }
    }

    private void Dispatch(IReadOnlyList<CollectedResult> results)
    {
        var ready = new List<(TaskCompletionSource<CollectedResult>, CollectedResult)>();
        lock (_gate)
        {
            foreach (CollectedResult result in results)
            {
                if (_waiting.Remove(result.ItemId, out TaskCompletionSource<CollectedResult>? waiter))
                {
                    ready.Add((waiter, result));
                }
                else
                {
                    _early[result.ItemId] = result;
                }
            }
        }

        foreach ((TaskCompletionSource<CollectedResult> waiter, CollectedResult result) in ready)
        {
            waiter.TrySetResult(result);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        await _listener.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
    }
}
