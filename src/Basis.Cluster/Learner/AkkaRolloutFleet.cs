using System.Runtime.InteropServices;
using Akka.Actor;
using Basis.Cluster.Protocol;
using Basis.Model;
using Basis.Training.Graph;
using Basis.Training.Policy;

namespace Basis.Cluster.Learner;

/// <summary>
/// The learner node's side of the Akka cluster (<c>basis train</c> with <c>basis.cluster.enabled = true</c>):
/// starts the work-pulling dispatcher, the weight server and the membership watcher in the run's
/// ActorSystem, and gives the training graph its proxies. The graph runs
/// ceil(max-outstanding / chunk-size) proxies that each keep one chunk out, so at most
/// max-outstanding rollouts are out across all rollout nodes.
/// </summary>
public sealed class AkkaRolloutFleet : IRolloutFleet, IAsyncDisposable
{
    public const string DispatcherName = "basis-rollouts";
    public const string WeightServerName = "basis-weights";

    private readonly ActorSystem _system;
    private readonly ClusterSettings _settings;
    private readonly TextWriter _log;
    private readonly bool _watchCluster;
    private readonly SemaphoreSlim _publishGate = new(1, 1);
    private readonly List<IActorRef> _actors = [];
    private RolloutFleetContext? _context;
    private TransformerModel? _scratch;
    private IActorRef? _dispatcher;
    private IActorRef? _weights;
    private long _published = -1;
    private long _nextWorkId;

    /// <param name="system">The run's ActorSystem (provider = cluster, role learner).</param>
    /// <param name="chunkSize">Work items per graph chunk; with <c>max-outstanding</c> it sets how many proxies run.</param>
    /// <param name="watchCluster">False only in tests that run the fleet without a cluster and report lost nodes themselves.</param>
    public AkkaRolloutFleet(ActorSystem system, ClusterSettings settings, int chunkSize, TextWriter log, bool watchCluster = true)
    {
        ArgumentNullException.ThrowIfNull(system);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(chunkSize);
        _system = system;
        _settings = settings;
        _log = TextWriter.Synchronized(log);
        _watchCluster = watchCluster;
        Generators = Math.Max(1, (settings.MaxOutstanding + chunkSize - 1) / chunkSize);
    }

    public int Generators { get; }

    public Guid SessionId { get; } = Guid.NewGuid();

    internal IActorRef Dispatcher => _dispatcher ?? throw new InvalidOperationException("the fleet has not started.");

    internal RolloutFleetContext Context => _context ?? throw new InvalidOperationException("the fleet has not started.");

    public Task StartAsync(RolloutFleetContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        _context = context;
        _scratch = new TransformerModel(context.Model);
        var session = new SessionInfo(
            SessionId,
            context.RunId,
            new Dictionary<string, string>(context.Model.ToMetadata(), StringComparer.Ordinal),
            context.Alphabet,
            context.Sampling.Temperature,
            context.Sampling.TopK,
            context.Sampling.TopP,
            context.Sampling.MaxNewTokens,
            context.Staleness);
        _weights = _system.ActorOf(WeightServer.Props(SessionId, checked((int)_settings.Weights.ChunkSize.Bytes)), WeightServerName);
        _dispatcher = _system.ActorOf(RolloutDispatcher.Props(session, _settings.MaxAttempts, _log, _watchCluster), DispatcherName);
        _actors.Add(_weights);
        _actors.Add(_dispatcher);
        if (_watchCluster)
        {
            _actors.Add(_system.ActorOf(MembershipWatcher.Props(context.RunId, _log), "basis-membership"));
        }

        _log.WriteLine($"[cluster] learner {_system.Name}@{AddressOf(_system)}: session {SessionId:N} for run {context.RunId}; {Generators} proxies x chunk = up to {_settings.MaxOutstanding} rollouts out");
        return Task.CompletedTask;
    }

    public IRolloutWorker CreateWorker(int index) => new AkkaRolloutProxy(this);

    internal long NextWorkId() => Interlocked.Increment(ref _nextWorkId);

    /// <summary>Publishes <paramref name="version"/> to the weight server unless a version at least as new is out already.</summary>
    internal async Task EnsurePublishedAsync(long version, PolicyWeights weights, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _published) >= version)
        {
            return;
        }

        await _publishGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_published >= version)
            {
                return;
            }

            // PolicyWeights only copies into a model; the scratch model turns it into floats.
            weights.CopyTo(_scratch!);
            byte[] bytes = MemoryMarshal.AsBytes(_scratch!.Weights.AsSpan()).ToArray();
            await _weights!.Ask<object>(new WeightServer.Publish(version, bytes), cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _published, version);
        }
        finally
        {
            _publishGate.Release();
        }
    }

    private static string AddressOf(ActorSystem system) => ((ExtendedActorSystem)system).Provider.DefaultAddress.HostPort();

    public async ValueTask DisposeAsync()
    {
        foreach (IActorRef actor in _actors)
        {
            try
            {
                await actor.GracefulStop(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            }
            catch (Exception e) when (e is TaskCanceledException or AskTimeoutException)
            {
                // The system is going down anyway.
            }
        }

        _publishGate.Dispose();
    }
}
