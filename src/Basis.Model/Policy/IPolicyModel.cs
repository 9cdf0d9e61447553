using Basis.Model.Optim;

namespace Basis.Model;

/// <summary>
/// The transformer policy as training, sampling and checkpoints see it, whatever computes it: the built-in
/// <see cref="TransformerModel"/> or a libtorch one. Weights cross the interface flat, in <see cref="Layout"/> order
/// (the safetensors tensors of a checkpoint), so any two implementations load each other's weights.
/// </summary>
public interface IPolicyModel
{
    TransformerConfig Config { get; }

    ParameterLayout Layout { get; }

    /// <summary>Threads the kernels may use.</summary>
    int Threads { get; set; }

    /// <summary>Copies every parameter, flat in <see cref="Layout"/> order, into <paramref name="destination"/>.</summary>
    void ReadWeights(Span<float> destination);

    /// <summary>Overwrites every parameter from <paramref name="source"/> (flat, <see cref="Layout"/> order).</summary>
    void WriteWeights(ReadOnlySpan<float> source);

    /// <summary>Copies the accumulated gradients, flat in <see cref="Layout"/> order, into <paramref name="destination"/>.</summary>
    void ReadGradients(Span<float> destination);

    /// <summary>A replica with the same config, weights and thread count and zero gradients.</summary>
    IPolicyModel ClonePolicy();

    /// <summary>
    /// Scores every position of <paramref name="batch"/> (target log-probability and entropy, 0 where the loss mask is
    /// off) and keeps what <see cref="Backward"/> needs. Passing the previous result as <paramref name="reuse"/> may
    /// recycle it; a model may invalidate its previous result when it scores again.
    /// </summary>
    IScoredBatch Score(TokenBatch batch, IScoredBatch? reuse = null);

    void ZeroGradients();

    /// <summary>Adds to the gradients that of Σ_i dLogp[i]·logp_i over the scored positions of <paramref name="scored"/>.</summary>
    void Backward(IScoredBatch scored, ReadOnlySpan<float> dLogp);

    /// <summary>Scales the gradients so their global L2 norm is at most <paramref name="maxNorm"/>; returns the norm before.</summary>
    float ClipGradients(float maxNorm);

    /// <summary>An AdamW over this model's parameters (decay where the layout says so).</summary>
    IPolicyOptimizer CreateOptimizer(AdamWOptions options);

    /// <summary>A KV-cached incremental decoder of <paramref name="rows"/> rows of at most <paramref name="capacity"/> positions.</summary>
    IIncrementalDecoder CreateDecoder(int rows, int capacity);
}

/// <summary>Per-position scores of one <see cref="TokenBatch"/> ([B·T], 0 where the loss mask is off).</summary>
public interface IScoredBatch
{
    float[] TokenLogp { get; }

    float[] Entropy { get; }
}

/// <summary>AdamW bound to one <see cref="IPolicyModel"/>: steps its weights from its accumulated gradients.</summary>
public interface IPolicyOptimizer
{
    int StepCount { get; }

    void Step(float learningRate);

    /// <summary>A copy of both moments (flat, layout order) and the step count.</summary>
    AdamWState ExportState();

    /// <exception cref="ArgumentException">The state is for another number of parameters, or its step count is negative.</exception>
    void ImportState(AdamWState state);
}

/// <summary>Runs a policy incrementally over rows that each keep their own KV cache.</summary>
public interface IIncrementalDecoder
{
    /// <summary>Positions row <paramref name="row"/> holds so far.</summary>
    int Length(int row);

    /// <summary>
    /// Feeds prompt r to row r, for every row; returns the logits at each prompt's last token, row r at [r·V, (r+1)·V).
    /// The array may be reused by the next step.
    /// </summary>
    float[] Prefill(IReadOnlyList<IReadOnlyList<int>> prompts);

    /// <summary>
    /// Feeds <paramref name="tokens"/>[i] to row <paramref name="rows"/>[i] (one token each); returns the logits after
    /// it, row i at [i·V, (i+1)·V). The array may be reused by the next step.
    /// </summary>
    float[] Step(ReadOnlySpan<int> rows, ReadOnlySpan<int> tokens);
}
