using System.Threading.Channels;

namespace Basis.Streaming;

/// <summary>
/// One materialization of a graph: it names stages, creates their metrics and edges, starts their loops,
/// and turns the first failure into a fail-fast teardown of every stage.
/// </summary>
internal sealed class GraphContext
{
    private readonly List<StageMetrics> _metrics = [];
    private readonly List<(StageMetrics Metrics, Func<CancellationToken, Task> Body, Action? OnExit, bool Terminal)> _stages = [];
    private readonly Dictionary<string, int> _nameCounts = new(StringComparer.Ordinal);
    private readonly Stack<string> _scopes = new();
    private readonly CancellationTokenSource _teardown;
    private readonly CancellationToken _userToken;
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _failed;

    public GraphContext(string graphName, TimeProvider time, CancellationToken userToken)
    {
        GraphName = graphName;
        Time = time;
        _userToken = userToken;
        _teardown = CancellationTokenSource.CreateLinkedTokenSource(userToken);
    }

    public string GraphName { get; }

    public TimeProvider Time { get; }

    public CancellationToken Token => _teardown.Token;

    public IReadOnlyList<StageMetrics> Metrics => _metrics;

    /// <summary>Names the stages built inside it with a suffix, e.g. "generate[2]" for Balance worker 2.</summary>
    public IDisposable Scope(string suffix)
    {
        _scopes.Push(suffix);
        return new ScopeExit(_scopes);
    }

    public StageMetrics AddStage(StageAttributes attributes, string defaultName, string kind, int capacity)
    {
        string name = (attributes.Name ?? defaultName) + string.Concat(_scopes.Reverse());
        if (_nameCounts.TryGetValue(name, out int seen))
        {
            _nameCounts[name] = seen + 1;
            name = $"{name}#{seen + 1}";
        }
        else
        {
            _nameCounts[name] = 1;
        }

        var metrics = new StageMetrics(name, kind, Time, capacity);
        _metrics.Add(metrics);
        return metrics;
    }

    public OutputEdge<T> CreateEdge<T>(StageMetrics metrics, bool singleWriter = true) => new(metrics, singleWriter);

    /// <summary>Registers a stage loop; loops start together once the whole graph is built.</summary>
    public void Schedule(StageMetrics metrics, Func<CancellationToken, Task> body, Action? onExit, bool terminal = false) =>
        _stages.Add((metrics, body, onExit, terminal));

    public GraphRun Start()
    {
        var tasks = new Task[_stages.Count];
        for (int i = 0; i < _stages.Count; i++)
        {
            var stage = _stages[i];
            tasks[i] = Task.Run(() => RunStageAsync(stage.Metrics, stage.Body, stage.OnExit, stage.Terminal));
        }

        Task stopped = Task.WhenAll(tasks).ContinueWith(
            _ => OnAllStopped(),
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        return new GraphRun(GraphName, _completion.Task, stopped, _metrics);
    }

    private async Task RunStageAsync(StageMetrics metrics, Func<CancellationToken, Task> body, Action? onExit, bool terminal)
    {
        CancellationToken token = Token;
        metrics.MarkStarted();
        try
        {
            await body(token).ConfigureAwait(false);
            metrics.MarkStopped(StageStatus.Completed);
            if (terminal)
            {
                // The sink is done: whatever is still running upstream (an endless source) is no longer needed.
                _teardown.Cancel();
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            metrics.MarkStopped(StageStatus.Cancelled);
        }
        catch (StageFailedException exception)
        {
            metrics.MarkStopped(StageStatus.Failed);
            Fail(exception);
        }
        catch (Exception exception)
        {
            metrics.MarkStopped(StageStatus.Failed);
            Fail(StageFailedException.Failed(metrics.Name, exception));
        }
        finally
        {
            onExit?.Invoke();
        }
    }

    private void Fail(StageFailedException exception)
    {
        if (Interlocked.Exchange(ref _failed, 1) == 0)
        {
            // Fail fast: the completion faults now; stages still unwinding are cancelled and awaited by GraphRun.Stopped.
            _completion.TrySetException(exception);
            _teardown.Cancel();
        }
    }

    private void OnAllStopped()
    {
        if (Volatile.Read(ref _failed) == 0)
        {
            if (_userToken.IsCancellationRequested)
            {
                _completion.TrySetCanceled(_userToken);
            }
            else
            {
                _completion.TrySetResult();
            }
        }

        _teardown.Dispose();
    }

    private sealed class ScopeExit(Stack<string> scopes) : IDisposable
    {
        public void Dispose() => scopes.Pop();
    }
}
