using System.Runtime.InteropServices;
using Akka.Actor;
using Basis.Cluster.Protocol;
using Basis.Model;
using Basis.Model.Sampling;
using Basis.Model.Tokenization;
using Basis.Training.Graph;
using Basis.Training.Policy;

namespace Basis.Cluster.Worker;

/// <summary>
/// A rollout node's copy of one learner session: the policy built from the session's description,
/// a local weight board fed from the versions it pulls, and one generator per slot (each with its own
/// replica, as in the embedded graph). A slot samples only once the board holds a version at least
/// the chunk's minimum, which the learner sets from the step and <c>basis.graph.staleness</c>.
/// </summary>
internal sealed class SessionRuntime
{
    private readonly ICanTell _weightServer;
    private readonly WeightTransferSettings _transfer;
    private readonly TransformerModel? _staging;
    private readonly WeightBoard<PolicyWeights> _board = new();
    private readonly SemaphoreSlim _loadGate = new(1, 1);
    private readonly IRolloutWorker[] _generators;
    private long _version = -1;

    public SessionRuntime(SessionInfo session, ICanTell weightServer, ClusterSettings settings)
    {
        Session = session;
        _weightServer = weightServer;
        _transfer = settings.Weights;
        int slots = settings.Slots;
        _generators = new IRolloutWorker[slots];
        if (settings.Worker.Generator == "fixed-latency")
        {
            for (int s = 0; s < slots; s++)
            {
                _generators[s] = new FixedLatencyGenerator(() => Volatile.Read(ref _version));
            }

            return;
        }

        TransformerConfig config = TransformerConfig.FromMetadata(session.Model);
        config.Validate();
        _staging = new TransformerModel(config);
        var text = new PolicyText(new CharTokenizer(session.Alphabet));
        var sampling = new SamplingOptions(session.Temperature, session.TopK, session.TopP, session.MaxNewTokens);
        int threads = settings.Worker.Threads > 0 ? settings.Worker.Threads : Math.Max(1, Environment.ProcessorCount / slots);
        for (int s = 0; s < slots; s++)
        {
            var replica = new TransformerModel(config) { Threads = threads };
            _generators[s] = new TransformerGenerator(replica, text, _board, sampling, session.Staleness);
        }
    }

    public SessionInfo Session { get; }

    public long Version => Volatile.Read(ref _version);

    public IRolloutWorker Generator(int slot) => _generators[slot];

    /// <summary>Pulls the session's newest weights unless a version at least <paramref name="minimum"/> is here already.</summary>
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

            WeightsManifest manifest = await WeightFetcher.ManifestAsync(_weightServer, Session.SessionId, minimum, cancellationToken).ConfigureAwait(false);
            if (_staging is null)
            {
                // No model to load: only the version number matters.
                Volatile.Write(ref _version, manifest.Version);
                return true;
            }

            if (manifest.Length != (long)_staging.Weights.Length * sizeof(float))
            {
                throw new ClusterWeightsException($"weights version {manifest.Version} hold {manifest.Length} bytes; the session's model has {_staging.Weights.Length} parameters.");
            }

            byte[] bytes = await WeightFetcher.FetchAsync(_weightServer, manifest, _transfer.Window, cancellationToken).ConfigureAwait(false);
            MemoryMarshal.Cast<byte, float>(bytes).CopyTo(_staging.Weights);
            _board.Publish(manifest.Version, PolicyWeights.Capture(_staging));
            Volatile.Write(ref _version, manifest.Version);
            return true;
        }
        finally
        {
            _loadGate.Release();
        }
    }
}
