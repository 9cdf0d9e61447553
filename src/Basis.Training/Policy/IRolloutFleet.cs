using Basis.Model;
using Basis.Model.Sampling;
using Basis.Training.Graph;

namespace Basis.Training.Policy;

/// <summary>
/// Rollout generation somewhere else than in the learner's process (the Akka cluster of
/// <c>src/Basis.Cluster</c>). The training graph is unchanged: its generators become the proxies
/// this fleet creates, so every proxy keeps one chunk outstanding and the graph's Balance bounds
/// the work in flight across hosts.
/// </summary>
public interface IRolloutFleet
{
    /// <summary>Proxies the graph should run (replaces <c>basis.graph.generators</c>).</summary>
    int Generators { get; }

    /// <summary>Called once before the graph runs, when the policy and its weight board exist.</summary>
    Task StartAsync(RolloutFleetContext context, CancellationToken cancellationToken);

    /// <summary>A proxy that hands a chunk to the fleet and returns its rollouts; recreated on restart.</summary>
    IRolloutWorker CreateWorker(int index);
}

/// <summary>What remote generators need to sample as the learner's own generators would.</summary>
/// <param name="RunId">Names the run across learner restarts (the run folder's full path).</param>
/// <param name="Alphabet">Characters of the policy's <see cref="Model.Tokenization.CharTokenizer"/>.</param>
/// <param name="Board">The learner's published weights; proxies ship the versions their chunks need.</param>
public sealed record RolloutFleetContext(
    string RunId,
    TransformerConfig Model,
    string Alphabet,
    SamplingOptions Sampling,
    int Staleness,
    WeightBoard<PolicyWeights> Board);
