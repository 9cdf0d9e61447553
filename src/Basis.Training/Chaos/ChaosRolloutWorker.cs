using Basis.Training.Graph;

namespace Basis.Training.Chaos;

/// <summary>
/// Wraps a rollout worker so that it crashes on its N-th chunk. The graph builds a fresh worker on
/// every restart, so each incarnation crashes again after N chunks: with N above the chunks a run
/// needs between restarts the run completes, with N = 1 it spends the restart budget.
/// </summary>
public sealed class ChaosRolloutWorker : IRolloutWorker
{
    private readonly IRolloutWorker _inner;
    private readonly int _crashEvery;
    private int _calls;

    public ChaosRolloutWorker(IRolloutWorker inner, int crashEvery)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(crashEvery);
        _inner = inner;
        _crashEvery = crashEvery;
    }

    public ValueTask PrepareAsync(WorkChunk chunk, CancellationToken cancellationToken) => _inner.PrepareAsync(chunk, cancellationToken);

    public ValueTask<IReadOnlyList<Rollout>> GenerateAsync(WorkChunk chunk, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        if (++_calls == _crashEvery)
        {
            throw new ChaosException($"injected generator crash on chunk {_calls} of this generator (step {chunk.Step}; basis.chaos.generator-crash-every = {_crashEvery})");
        }

        return _inner.GenerateAsync(chunk, cancellationToken);
    }
}
