using Akka.Actor;
using Basis.Training.Graph;
using Basis.Training.Policy;

namespace Basis.Cluster.Learner;

/// <summary>
/// The learner's stand-in for a generator: waits for the weight version the chunk's step allows,
/// makes sure it is published, hands the chunk to the dispatcher and waits for its rollouts. The
/// graph's Balance feeds these one chunk at a time, so the graph's backpressure reaches the cluster.
/// </summary>
internal sealed class AkkaRolloutProxy(AkkaRolloutFleet fleet) : IRolloutWorker
{
    public async ValueTask<IReadOnlyList<Rollout>> GenerateAsync(WorkChunk chunk, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        RolloutFleetContext context = fleet.Context;
        long required = Math.Max(0, chunk.Step - context.Staleness);
        (long version, PolicyWeights weights) = await context.Board.WaitForAsync(required, cancellationToken).ConfigureAwait(false);
        await fleet.EnsurePublishedAsync(version, weights, cancellationToken).ConfigureAwait(false);

        long workId = fleet.NextWorkId();
        try
        {
            RolloutDispatcher.ChunkDone done = await fleet.Dispatcher
                .Ask<RolloutDispatcher.ChunkDone>(new RolloutDispatcher.Submit(workId, required, chunk), timeout: null, cancellationToken)
                .ConfigureAwait(false);
            return done.Rollouts;
        }
        catch (OperationCanceledException)
        {
            fleet.Dispatcher.Tell(new RolloutDispatcher.Cancel(workId));
            throw;
        }
    }
}
