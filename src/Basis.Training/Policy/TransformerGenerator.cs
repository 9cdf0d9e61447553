using Basis.Model;
using Basis.Model.Sampling;
using Basis.Training.Graph;
using Basis.Training.Hosting;

namespace Basis.Training.Policy;

/// <summary>
/// A rollout generator backed by a replica of the policy (any backend). Before sampling a chunk of
/// step s it makes sure its replica is at a version the staleness bound allows (at least s - k),
/// loading the learner's latest published weights when it is not.
/// </summary>
public sealed class TransformerGenerator : IRolloutWorker
{
    private readonly IPolicyModel _replica;
    private readonly PolicyText _text;
    private readonly WeightBoard<PolicyWeights> _board;
    private readonly SamplingOptions _sampling;
    private readonly int _staleness;
    private readonly bool _lowPriority;
    private long _version = -1;

    /// <param name="lowPriority">Sample at the lowest OS priority (on the generator's own dispatcher thread), on the cycles the learner leaves idle.</param>
    public TransformerGenerator(IPolicyModel replica, PolicyText text, WeightBoard<PolicyWeights> board, SamplingOptions sampling, int staleness, bool lowPriority = false)
    {
        ArgumentNullException.ThrowIfNull(replica);
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(board);
        ArgumentNullException.ThrowIfNull(sampling);
        ArgumentOutOfRangeException.ThrowIfNegative(staleness);
        sampling.Validate();
        _replica = replica;
        _text = text;
        _board = board;
        _sampling = sampling with { StopTokens = text.StopTokens };
        _staleness = staleness;
        _lowPriority = lowPriority;
    }

    public long Version => _version;

    /// <summary>Loads the learner's latest weights when the replica is older than the staleness bound allows for the chunk's step.</summary>
    public async ValueTask PrepareAsync(WorkChunk chunk, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        long required = Math.Max(0, chunk.Step - _staleness);
        if (_version < required)
        {
            (long version, PolicyWeights weights) = await _board.WaitForAsync(required, cancellationToken).ConfigureAwait(false);
            weights.CopyTo(_replica);
            _version = version;
        }
    }

    /// <summary>Samples the chunk on a thread-pool thread, or at low priority on the calling thread (the generator's own).</summary>
    public async ValueTask<IReadOnlyList<Rollout>> GenerateAsync(WorkChunk chunk, CancellationToken cancellationToken)
    {
        await PrepareAsync(chunk, cancellationToken).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        TrainingTelemetry.RecordStaleness(chunk.Step, _version);
        if (_lowPriority)
        {
            // Sampled here, on the generator's own (pinned) thread, lowered to the lowest priority.
            LowPriorityThread.ApplyToCurrentThread();
            return Generate(chunk);
        }

        // On a thread-pool thread: the decoder's matrix products fan out with Parallel.For, whose helpers start at
        // once from a pool thread and wait for a pool thread to wake from any other (measured: twice as slow).
        return await Task.Run(() => Generate(chunk), cancellationToken).ConfigureAwait(false);
    }

    private IReadOnlyList<Rollout> Generate(WorkChunk chunk)
    {
        var prompts = new IReadOnlyList<int>[chunk.Items.Count];
        var seeds = new ulong[chunk.Items.Count];
        for (int i = 0; i < prompts.Length; i++)
        {
            prompts[i] = _text.EncodePrompt(chunk.Items[i].Prompt.Text);
            seeds[i] = chunk.Items[i].Seed;
        }

        IReadOnlyList<SampledSequence> sampled = Sampler.Generate(_replica, prompts, _sampling, seeds);
        var rollouts = new Rollout[prompts.Length];
        for (int i = 0; i < rollouts.Length; i++)
        {
            SampledSequence sequence = sampled[i];
            rollouts[i] = new Rollout(
                chunk.Items[i],
                _text.DecodeCompletion(sequence.Tokens),
                (int[])prompts[i],
                sequence.Tokens,
                sequence.PolicyLogp,
                _version);
        }

        return rollouts;
    }
}
