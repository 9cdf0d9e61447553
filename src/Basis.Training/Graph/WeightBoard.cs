namespace Basis.Training.Graph;

/// <summary>
/// The learner's published weights, by version. Generators wait here for the version their step
/// allows: step s may be sampled with any version in [s - k, latest], so k = 0 is synchronous
/// on-policy training and larger k lets generation run ahead of the learner.
/// </summary>
/// <typeparam name="TWeights">Whatever a generator needs to load a version (an immutable snapshot).</typeparam>
public sealed class WeightBoard<TWeights>
    where TWeights : class
{
    private readonly object _gate = new();
    private readonly List<(long Version, TaskCompletionSource Signal)> _waiters = new();
    private long _version = -1;
    private TWeights? _weights;
    private Exception? _fault;

    public long LatestVersion
    {
        get
        {
            lock (_gate)
            {
                return _version;
            }
        }
    }

    public void Publish(long version, TWeights weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        List<TaskCompletionSource> ready = new();
        lock (_gate)
        {
            if (version <= _version)
            {
                throw new InvalidOperationException($"version {version} published after version {_version}; versions only grow.");
            }

            _version = version;
            _weights = weights;
            for (int i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Version <= version)
                {
                    ready.Add(_waiters[i].Signal);
                    _waiters.RemoveAt(i);
                }
            }
        }

        foreach (TaskCompletionSource signal in ready)
        {
            signal.TrySetResult();
        }
    }

    /// <summary>Fails every waiter, so generators stop instead of waiting for a learner that died.</summary>
    public void Fault(Exception error)
    {
        List<TaskCompletionSource> waiters;
        lock (_gate)
        {
            _fault ??= error;
            waiters = _waiters.Select(w => w.Signal).ToList();
            _waiters.Clear();
        }

        foreach (TaskCompletionSource signal in waiters)
        {
            signal.TrySetException(error);
        }
    }

    /// <summary>The latest weights once their version is at least <paramref name="minimumVersion"/>.</summary>
    public async ValueTask<(long Version, TWeights Weights)> WaitForAsync(long minimumVersion, CancellationToken cancellationToken)
    {
        TaskCompletionSource signal;
        lock (_gate)
        {
            if (_fault is not null)
            {
                throw new InvalidOperationException("the learner stopped publishing weights", _fault);
            }

            if (_version >= minimumVersion && _weights is not null)
            {
                return (_version, _weights);
            }

            signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((minimumVersion, signal));
        }

        await signal.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        lock (_gate)
        {
            return (_version, _weights!);
        }
    }
}
