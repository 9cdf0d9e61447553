using Akka.Actor;
using Basis.Cluster.Hosting;
using Basis.Cluster.Membership;

namespace Basis.Cluster.Worker;

/// <summary>
/// A rollout node (<c>basis worker</c>): an ActorSystem with role <c>rollout</c> that joins the
/// cluster through its seed nodes (waiting, however long, for the learner to be there) and serves
/// the learner's work with <c>basis.cluster.slots</c> slots. When the learner goes away (a crash and
/// <c>--resume</c>) or the split brain resolver downs this node, its ActorSystem ends and a new one
/// joins again: the process keeps running across learner restarts. Ctrl-C or SIGTERM leaves the
/// cluster gracefully.
/// </summary>
public sealed class RolloutNode
{
    private readonly ClusterConfiguration _configuration;
    private readonly TextWriter _log;
    private readonly NodeCounters _counters = new();

    public RolloutNode(ClusterConfiguration configuration, TextWriter log)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        _configuration = configuration;
        _log = TextWriter.Synchronized(log);
        NodeId = configuration.Settings.NodeId ?? NodeNames.DefaultId(NodeNames.RolloutRole);
    }

    public string NodeId { get; }

    /// <summary>Rollouts this node generated and sent.</summary>
    public long Rollouts => _counters.Rollouts;

    /// <exception cref="ClusterJoinRefusedException">The cluster's nodes refused this node's TLS certificate.</exception>
    /// <exception cref="ClusterConfigurationException">The configuration (a certificate) is missing or invalid.</exception>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        ClusterSettings settings = _configuration.Settings;
        while (!cancellationToken.IsCancellationRequested)
        {
            ActorSystem system = ClusterActorSystem.Create(_configuration.AkkaHocon, ClusterActorSystem.Roles(NodeNames.RolloutRole, NodeId), settings.Worker.Port);
            var refused = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            await ClusterActorSystem.StartJoiningAsync(system, settings.Join).ConfigureAwait(false);
            system.ActorOf(NodeAgent.Props(settings, _counters, _log, NodeId, reason => refused.TrySetResult(reason)), "basis-node");
            _log.WriteLine($"[worker] {NodeId} ({settings.Slots} slot{(settings.Slots == 1 ? string.Empty : "s")}, {((ExtendedActorSystem)system).Provider.DefaultAddress}): waiting to join the cluster");
            using (cancellationToken.Register(() => CoordinatedShutdown.Get(system).Run(CoordinatedShutdown.ClrExitReason.Instance)))
            {
                Task ended = await Task.WhenAny(system.WhenTerminated, refused.Task).ConfigureAwait(false);
                await system.Terminate().ConfigureAwait(false);

                // Akka.Remote ends the ActorSystem itself when its TLS handshake as a client fails (its reason type is internal).
                string? reason = ended == refused.Task ? refused.Task.Result
                    : CoordinatedShutdown.Get(system).ShutdownReason?.GetType().Name == "TlsHandshakeFailureReason" ? "the TLS handshake with the cluster failed (its nodes and this one do not present the same certificate)"
                    : null;
                if (reason is not null)
                {
                    throw new ClusterJoinRefusedException(
                        $"the cluster refused node '{NodeId}': {reason}. Check that this node has the cluster's certificate "
                        + "(BASIS_CLUSTER_CERT, akka.remote.dot-netty.tcp.ssl.certificate.path): every node must present the same one.");
                }
            }

            if (!cancellationToken.IsCancellationRequested)
            {
                _log.WriteLine($"[worker] {NodeId}: out of the cluster; joining again");
            }
        }

        _log.WriteLine($"[worker] node {NodeId} stopped after {Rollouts} rollouts");
    }
}
