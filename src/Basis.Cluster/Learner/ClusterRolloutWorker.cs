using Basis.Cluster.Work;
using Basis.Training.Graph;
using Basis.Training.Policy;

namespace Basis.Cluster.Learner;

/// <summary>
/// The learner's stand-in for a generator: ships the weight version a chunk needs, enqueues the
/// chunk's items and waits for their results. The graph runs Balance x N of these, so at most N
/// chunks are outstanding across all rollout nodes: the graph's backpressure reaches the cluster.
/// </summary>
internal sealed class ClusterRolloutWorker : IRolloutWorker
{
    private readonly ClusterFleet _fleet;

    public ClusterRolloutWorker(ClusterFleet fleet)
    {
        _fleet = fleet;
    }

    public async ValueTask<IReadOnlyList<Rollout>> GenerateAsync(WorkChunk chunk, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        RolloutFleetContext context = _fleet.Context;
        long required = Math.Max(0, chunk.Step - context.Staleness);
        (long version, PolicyWeights weights) = await context.Board.WaitForAsync(required, cancellationToken).ConfigureAwait(false);
        await _fleet.EnsurePublishedAsync(version, weights, cancellationToken).ConfigureAwait(false);

        var items = chunk.Items.Select(w => (w.Slot, new WorkPayload(w.Prompt.Id, w.Prompt.Text, w.GroupIndex, w.Seed))).ToList();
        long[] ids = await _fleet.Queue.EnqueueAsync(_fleet.SessionId, chunk.Step, version, items, cancellationToken, _fleet.MaxAttempts).ConfigureAwait(false);
        var waits = new Task<CollectedResult>[ids.Length];
        for (int i = 0; i < ids.Length; i++)
        {
            waits[i] = _fleet.Collector.Register(ids[i]);
        }

        CollectedResult[] results;
        try
        {
            results = await Task.WhenAll(waits).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or ClusterWorkFailedException)
        {
            // The chunk is given up: nobody waits for its other items any more.
            _fleet.Collector.Forget(ids);
            await _fleet.CancelQuietlyAsync(ids).ConfigureAwait(false);
            throw;
        }

        var rollouts = new Rollout[results.Length];
        for (int i = 0; i < results.Length; i++)
        {
            ResultPayload r = results[i].Payload;
            rollouts[i] = new Rollout(chunk.Items[i], r.Completion, r.PromptTokens, r.CompletionTokens, r.BehaviourLogProbs, r.PolicyVersion);
        }

        return rollouts;
    }
}
