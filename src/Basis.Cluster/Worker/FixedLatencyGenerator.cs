using Basis.Training.Graph;

namespace Basis.Cluster.Worker;

/// <summary>
/// A generator without a model, for scaling benchmarks: an empty completion per item, so the time a
/// batch takes is the configured latency alone and the host's cores are not what is measured.
/// </summary>
internal sealed class FixedLatencyGenerator(Func<long> version) : IRolloutWorker
{
    public ValueTask<IReadOnlyList<Rollout>> GenerateAsync(WorkChunk chunk, CancellationToken cancellationToken)
    {
        var rollouts = chunk.Items.Select(w => new Rollout(w, string.Empty, [], [], [], version())).ToArray();
        return ValueTask.FromResult<IReadOnlyList<Rollout>>(rollouts);
    }
}
