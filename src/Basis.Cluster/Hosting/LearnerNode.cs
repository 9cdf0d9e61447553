using Akka.Actor;
using Basis.Cluster.Learner;
using Basis.Cluster.Membership;

namespace Basis.Cluster.Hosting;

/// <summary>
/// The learner node of <c>basis train</c> with <c>basis.cluster.enabled = true</c>: the run's ActorSystem
/// (provider = cluster, role learner) and the rollout fleet the training graph uses. Disposing it
/// leaves the cluster gracefully and ends the ActorSystem.
/// </summary>
public sealed class LearnerNode : IAsyncDisposable
{
    private readonly bool _ownsSystem;

    /// <param name="system">An ActorSystem already configured for the cluster (role learner).</param>
    /// <param name="ownsSystem">True when disposing this node should also end <paramref name="system"/>.</param>
    public LearnerNode(ActorSystem system, ClusterSettings settings, int chunkSize, TextWriter log, bool ownsSystem)
    {
        ArgumentNullException.ThrowIfNull(system);
        System = system;
        Fleet = new AkkaRolloutFleet(system, settings, chunkSize, log);
        _ownsSystem = ownsSystem;
    }

    public ActorSystem System { get; }

    public AkkaRolloutFleet Fleet { get; }

    /// <summary>
    /// The learner node when <paramref name="files"/> enable the cluster (<c>basis.cluster.enabled</c>), else null.
    /// Its ActorSystem is the run's only one: `basis train` runs the training graph in it too (TrainingRun.ActorSystem).
    /// </summary>
    /// <exception cref="ClusterConfigurationException">A cluster setting or the TLS certificate is missing or invalid.</exception>
    /// <param name="plugins">Settings built in code that the system needs as well (the run's journal).</param>
    public static LearnerNode? FromConfig(IEnumerable<string> files, int chunkSize, TextWriter log, Akka.Configuration.Config? plugins = null)
    {
        ClusterConfiguration configuration = ClusterConfig.Load(files);
        ClusterSettings settings = configuration.Settings;
        if (!settings.Enabled)
        {
            return null;
        }

        string nodeId = settings.NodeId ?? NodeNames.DefaultId(NodeNames.LearnerRole);
        ActorSystem system = ClusterActorSystem.Create(configuration.AkkaHocon, ClusterActorSystem.Roles(NodeNames.LearnerRole, nodeId), plugins: plugins);
        ClusterActorSystem.StartJoiningAsync(system, settings.Join).GetAwaiter().GetResult();
        return new LearnerNode(system, settings, chunkSize, log, ownsSystem: true);
    }

    public async ValueTask DisposeAsync()
    {
        await Fleet.DisposeAsync().ConfigureAwait(false);
        if (_ownsSystem)
        {
            await CoordinatedShutdown.Get(System).Run(CoordinatedShutdown.ClrExitReason.Instance).ConfigureAwait(false);
        }
    }
}
