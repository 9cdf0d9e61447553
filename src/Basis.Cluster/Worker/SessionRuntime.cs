using Basis.Cluster.Weights;
using Basis.Cluster.Work;
using Basis.Model;
using Basis.Model.Sampling;
using Basis.Model.Tokenization;
using Basis.Training.Graph;
using Basis.Training.Policy;

namespace Basis.Cluster.Worker;

/// <summary>
/// A rollout node's copy of one learner session: the policy built from the session's descriptor,
/// a local weight board fed from the published versions, and one generator per slot (each with its
/// own replica, as in the embedded graph).
/// </summary>
internal sealed class SessionRuntime
{
    private readonly Guid _sessionId;
    private readonly WeightStore _weights;
    private readonly TransformerModel? _staging;
    private readonly WeightBoard<PolicyWeights> _board = new();
    private readonly SemaphoreSlim _loadGate = new(1, 1);
    private readonly IRolloutWorker[] _generators;
    private long _version = -1;

    public SessionRuntime(Guid sessionId, SessionDescriptor descriptor, WeightStore weights, RolloutWorkerSettings settings, int slots)
    {
        _sessionId = sessionId;
        _weights = weights;
        Descriptor = descriptor;
        _generators = new IRolloutWorker[slots];
        if (settings.Generator == "fixed-latency")
        {
            for (int s = 0; s < slots; s++)
            {
                _generators[s] = new FixedLatencyGenerator(() => Volatile.Read(ref _version));
            }

            return;
        }

        TransformerConfig config = TransformerConfig.FromMetadata(descriptor.Model);
        config.Validate();
        _staging = new TransformerModel(config);
        var text = new PolicyText(new CharTokenizer(descriptor.Alphabet));
        var sampling = new SamplingOptions(descriptor.Temperature, descriptor.TopK, descriptor.TopP, descriptor.MaxNewTokens);
        int threads = settings.Threads > 0 ? settings.Threads : Math.Max(1, Environment.ProcessorCount / slots);
        for (int s = 0; s < slots; s++)
        {
            var replica = new TransformerModel(config) { Threads = threads };
            _generators[s] = new TransformerGenerator(replica, text, _board, sampling, descriptor.Staleness);
        }
    }

    public SessionDescriptor Descriptor { get; }

    public long Version => Volatile.Read(ref _version);

    public IRolloutWorker Generator(int slot) => _generators[slot];

    /// <summary>Loads the session's latest published weights unless a version at least <paramref name="minimum"/> is here already.</summary>
    /// <returns>True when a new version was loaded.</returns>
    public async Task<bool> EnsureVersionAsync(long minimum, CancellationToken cancellationToken)
    {
        if (Version >= minimum)
        {
            return false;
        }

        await _loadGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (Version >= minimum)
            {
                return false;
            }

            if (_staging is null)
            {
                // No model to load: only the version number matters.
                Volatile.Write(ref _version, await _weights.LatestVersionAsync(_sessionId, cancellationToken).ConfigureAwait(false));
                return true;
            }

            (long version, float[] weights) = await _weights.LoadLatestAsync(_sessionId, cancellationToken).ConfigureAwait(false);
            if (version < minimum)
            {
                throw new ClusterWeightsException($"session {_sessionId} has published version {version}; its work needs {minimum}.");
            }

            if (weights.Length != _staging.Weights.Length)
            {
                throw new ClusterWeightsException($"weights version {version} of session {_sessionId} have {weights.Length} parameters; the session's model has {_staging.Weights.Length}.");
            }

            weights.CopyTo(_staging.Weights, 0);
            _board.Publish(version, PolicyWeights.Capture(_staging));
            Volatile.Write(ref _version, version);
            return true;
        }
        finally
        {
            _loadGate.Release();
        }
    }
}
