using Basis.Cluster.Membership;
using Basis.Cluster.Weights;
using Basis.Cluster.Work;
using Basis.Model;
using Basis.Model.Sampling;
using Basis.Training.Graph;
using Basis.Training.Policy;

namespace Basis.Cluster.Learner;

/// <summary>
/// The learner node's side of the cluster (<c>basis train</c> with <c>basis.cluster.enabled = true</c>):
/// joins as the learner, watches the membership (admission, failure detection), opens a session for
/// the run, ships weight versions on demand and gives the training graph its proxies.
/// </summary>
public sealed class ClusterFleet : IRolloutFleet, IAsyncDisposable
{
    private readonly ClusterSettings _settings;
    private readonly ClusterSecret _secret;
    private readonly TextWriter _log;
    private readonly TimeProvider? _time;
    private readonly SemaphoreSlim _publishGate = new(1, 1);
    private ClusterDatabase? _database;
    private ClusterNode? _node;
    private ClusterCoordinator? _coordinator;
    private ResultCollector? _collector;
    private WeightStore? _weights;
    private WorkQueue? _queue;
    private RolloutFleetContext? _context;
    private TransformerModel? _scratch;
    private long _published = -1;

    /// <param name="chunkSize">Work items per graph chunk; with <c>max-outstanding</c> it sets how many proxies run.</param>
    public ClusterFleet(ClusterSettings settings, int chunkSize, TextWriter log, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(chunkSize);
        if (settings.Role != "learner")
        {
            throw new ClusterConfigurationException($"basis.cluster.role = {settings.Role}: `basis train` runs the learner node; start rollout nodes with `basis worker`.");
        }

        _secret = ClusterSecret.From(settings.Secret);
        if (string.IsNullOrWhiteSpace(settings.ConnectionString))
        {
            throw new ClusterConfigurationException("basis.cluster.connection-string is not set (hocon/cluster.conf takes it from BASIS_PG).");
        }

        _settings = settings;
        _log = TextWriter.Synchronized(log);
        _time = time;
        Generators = Math.Max(1, (settings.MaxOutstanding + chunkSize - 1) / chunkSize);
        NodeId = settings.NodeId ?? ClusterNode.DefaultNodeId("learner");
    }

    /// <summary>
    /// The learner's fleet when <paramref name="files"/> enable the cluster (<c>basis.cluster.enabled</c>), else null.
    /// A new session cancels the open work of the run's earlier sessions.
    /// </summary>
    /// <exception cref="ClusterConfigurationException">A cluster setting is missing or invalid.</exception>
    public static ClusterFleet? FromConfig(IEnumerable<string> files, int chunkSize, TextWriter log)
    {
        ClusterSettings settings = ClusterConfig.Load(files);
        return settings.Enabled ? new ClusterFleet(settings, chunkSize, log) : null;
    }

    public int Generators { get; }

    public string NodeId { get; }

    public Guid SessionId { get; private set; }

    internal RolloutFleetContext Context => _context ?? throw new InvalidOperationException("the fleet has not started.");

    internal WorkQueue Queue => _queue ?? throw new InvalidOperationException("the fleet has not started.");

    /// <summary>Attempts each enqueued item gets (basis.cluster.max-attempts).</summary>
    internal int MaxAttempts => _settings.MaxAttempts;

    internal ResultCollector Collector => _collector ?? throw new InvalidOperationException("the fleet has not started.");

    public async Task StartAsync(RolloutFleetContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        _database = await ClusterDatabase.OpenAsync(_settings.ConnectionString, _time, cancellationToken).ConfigureAwait(false);
        _queue = new WorkQueue(_database);
        _weights = new WeightStore(_database, _settings.Weights);
        _scratch = new TransformerModel(context.Model);
        _node = new ClusterNode(_database, _settings, _secret, NodeId, "learner", 0, _log, selfAdmit: true);
        await _node.StartAsync(cancellationToken).ConfigureAwait(false);
        _coordinator = new ClusterCoordinator(_database, _settings, _secret, NodeId, _log);
        _coordinator.Start();

        SamplingOptions sampling = context.Sampling;
        var descriptor = new SessionDescriptor(
            context.RunId,
            new Dictionary<string, string>(context.Model.ToMetadata()),
            context.Alphabet,
            sampling.Temperature,
            sampling.TopK,
            sampling.TopP,
            sampling.MaxNewTokens,
            context.Staleness);
        SessionId = await new SessionTable(_database).StartAsync(NodeId, descriptor, cancellationToken).ConfigureAwait(false);
        _collector = new ResultCollector(_database, SessionId, _settings.Worker.PollInterval, _log);
        _context = context;
        _log.WriteLine($"[cluster] learner {NodeId} joined {_database.Target}; session {SessionId:N} for run {context.RunId}; {Generators} proxies x chunk = up to {_settings.MaxOutstanding} items outstanding");
    }

    public IRolloutWorker CreateWorker(int index) => new ClusterRolloutWorker(this);

    /// <summary>Publishes <paramref name="version"/> unless a version at least as new is out already (one publisher at a time).</summary>
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
            await _weights!.PublishAsync(SessionId, version, _scratch!.Weights, keepFrom: version - 1, cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _published, version);
        }
        finally
        {
            _publishGate.Release();
        }
    }

    internal async Task CancelQuietlyAsync(IReadOnlyList<long> itemIds)
    {
        try
        {
            await Queue.CancelAsync(itemIds, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (ClusterDatabase.IsUnavailable(e))
        {
            // A new session of the run cancels them anyway.
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_collector is not null)
        {
            await _collector.DisposeAsync().ConfigureAwait(false);
        }

        if (_coordinator is not null)
        {
            await _coordinator.DisposeAsync().ConfigureAwait(false);
        }

        if (_node is not null)
        {
            await _node.DisposeAsync().ConfigureAwait(false);
        }

        if (_database is not null)
        {
            await _database.DisposeAsync().ConfigureAwait(false);
        }

        _publishGate.Dispose();
    }
}
