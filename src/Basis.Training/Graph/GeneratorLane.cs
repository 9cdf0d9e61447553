using Akka;
using Akka.Streams;
using Akka.Streams.Dsl;
using Basis.Training.Graph.Monitoring;

namespace Basis.Training.Graph;

/// <summary>
/// One rollout generator of the graph: an <see cref="IRolloutWorker"/> behind Akka's
/// <see cref="RestartFlow.OnFailuresWithBackoff{TIn, TOut, TMat}"/>. A crash restarts the lane with exponential
/// backoff and a fresh worker (a new policy replica); a spent restart budget fails the graph with a
/// <see cref="StageFailedException"/> naming the generator. RestartFlow is lossy (what was in transit when the
/// worker crashed is gone), so the lane keeps the chunks it was handed until their rollouts come out, and the new
/// incarnation redoes every chunk still outstanding before anything else (Akka's Prepend): no step is lost, and a
/// redone chunk of step s never waits behind a buffered chunk of step s + 1, which with staleness 0 could only be
/// sampled once step s is learned (a deadlock).
/// </summary>
internal sealed class GeneratorLane
{
    private readonly int _index;
    private readonly Func<int, IRolloutWorker> _workers;
    private readonly RestartSettings _restart;
    private readonly Action<int> _redone;
    private readonly StageMeter _meter;
    private readonly CancellationToken _cancellation;
    // In the order the lane was handed them (a few at most: its buffer and its hands).
    private readonly List<WorkChunk> _outstanding = [];
    private bool _started;

    public GeneratorLane(int index, Func<int, IRolloutWorker> workers, RestartSettings restart, Action<int> redone, StageMeter meter, CancellationToken cancellation)
    {
        _index = index;
        _workers = workers;
        _restart = restart;
        _redone = redone;
        _meter = meter;
        _cancellation = cancellation;
    }

    public string Name => _meter.Name;

    /// <summary>The lane as a flow: chunk in, its rollouts out, one chunk at a time.</summary>
    public Flow<WorkChunk, IReadOnlyList<Rollout>, NotUsed> Create() =>
        Flow.Create<WorkChunk>()
            .Select(Enter)
            .Via(RestartFlow.OnFailuresWithBackoff(Start, _restart))
            .Select(Exit)
            .SelectError(Describe);

    /// <summary>The lane's final failure, named: a faulted task reaches SelectAsync wrapped in an AggregateException.</summary>
    private Exception Describe(Exception error)
    {
        while (error is AggregateException { InnerExceptions.Count: 1 } wrapped)
        {
            error = wrapped.InnerExceptions[0];
        }

        return error is OperationCanceledException or StageFailedException
            ? error
            : new StageFailedException(Name, $"Stage '{Name}' exhausted its restart budget ({_restart.MaxRestarts} restarts within {_restart.MaxRestartsWithin:c}); last failure: {error.GetType().Name}: {error.Message}", error);
    }

    private WorkChunk Enter(WorkChunk chunk)
    {
        lock (_outstanding)
        {
            _outstanding.Add(chunk);
        }

        return chunk;
    }

    private IReadOnlyList<Rollout> Exit((WorkChunk Chunk, IReadOnlyList<Rollout> Rollouts) done)
    {
        lock (_outstanding)
        {
            int index = _outstanding.FindIndex(chunk => ReferenceEquals(chunk, done.Chunk));
            _outstanding.RemoveAt(index);
        }

        return done.Rollouts;
    }

    /// <summary>RestartFlow's factory: called once at materialization and again after each crash's backoff.</summary>
    private Flow<WorkChunk, (WorkChunk, IReadOnlyList<Rollout>), NotUsed> Start()
    {
        WorkChunk[] lost = [];
        if (_started)
        {
            _meter.Restarted();
            lock (_outstanding)
            {
                lost = [.. _outstanding];
            }

            foreach (WorkChunk _ in lost)
            {
                _meter.Dropped();
                _meter.Offered();
            }

            _redone(lost.Length);
        }

        _started = true;
        IRolloutWorker worker = _workers(_index);
        // RestartFlow fuses each incarnation into the lane's island (its dispatcher: a thread of its own).
        return Flow.Create<WorkChunk>()
            .Prepend(Source.From(lost))
            .SelectAsync(1, chunk => PrepareAsync(worker, chunk))
            .SelectAsync(1, chunk => GenerateAsync(worker, chunk));
    }

    private async Task<WorkChunk> PrepareAsync(IRolloutWorker worker, WorkChunk chunk)
    {
        await worker.PrepareAsync(chunk, _cancellation).ConfigureAwait(false);
        return chunk;
    }

    /// <summary>Called by the stage on the lane's own dispatcher thread: a local worker samples right here.</summary>
    private async Task<(WorkChunk, IReadOnlyList<Rollout>)> GenerateAsync(IRolloutWorker worker, WorkChunk chunk)
    {
        _meter.Begin();
        IReadOnlyList<Rollout> rollouts = await worker.GenerateAsync(chunk, _cancellation).ConfigureAwait(false);
        _meter.End();
        return (chunk, rollouts);
    }
}
