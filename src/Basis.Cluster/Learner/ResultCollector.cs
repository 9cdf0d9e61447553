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
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

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

    public Task<CollectedResult> Register(long itemId)
    {
        lock (_gate)
        {
            if (_early.Remove(itemId, out CollectedResult? result))
            {
                return Task.FromResult(result);
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
                if (results.Count == 0)
                {
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
