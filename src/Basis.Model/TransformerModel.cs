using Basis.Model.Compute;
using Basis.Model.Optim;
using Basis.Model.Sampling;

namespace Basis.Model;

/// <summary>
/// A decoder-only transformer policy: token embedding, <c>Layers</c> pre-norm blocks (RMSNorm → causal multi-head
/// attention with RoPE → residual; RMSNorm → SwiGLU MLP → residual), final RMSNorm and an output head (tied to the
/// embedding or separate). Parameters and their gradients are flat float arrays laid out by <see cref="Layout"/>.
/// Linear weights are stored [in, out] (y = x·W).
/// </summary>
public sealed class TransformerModel : IPolicyModel
{
    [ThreadStatic]
    private static float[]? t_attentionScratch;

    private int _threads = 1;

    /// <summary>A model with every weight zero and every norm gain one (the state a checkpoint is loaded into).</summary>
    public TransformerModel(TransformerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        Layout = ParameterLayout.Create(config);
        Config = config;
        Weights = new float[Layout.TotalLength];
        Gradients = new float[Layout.TotalLength];
        Rope = new RopeTable(config.MaxSeqLen, config.HeadDim, config.RopeTheta);
        foreach (var p in Layout.Entries)
        {
            if (p.Shape.Count == 1)
            {
                Weights.AsSpan(p.Offset, p.Length).Fill(1f);
            }
        }
    }

    public TransformerConfig Config { get; }

    public ParameterLayout Layout { get; }

    /// <summary>All parameters, flat, in <see cref="Layout"/> order.</summary>
    public float[] Weights { get; }

    /// <summary>Accumulated gradients, same layout as <see cref="Weights"/>; <see cref="Backward"/> adds to them.</summary>
    public float[] Gradients { get; }

    /// <summary>Threads the kernels may use; 1 runs everything on the caller's thread.</summary>
    public int Threads
    {
        get => _threads;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            _threads = value;
        }
    }

    internal RopeTable Rope { get; }

    /// <summary>A freshly initialised model: matrices ~ N(0, 0.02²), residual projections scaled by 1/√(2·Layers), gains 1.</summary>
    public static TransformerModel Create(TransformerConfig config, ulong seed, float initStd = 0.02f)
    {
        var model = new TransformerModel(config);
        var rng = new DeterministicRandom(seed);
        var residualStd = initStd / MathF.Sqrt(2f * config.Layers);
        foreach (var p in model.Layout.Entries)
        {
            if (p.Shape.Count != 2)
            {
                continue;
            }

            var std = p.Name.EndsWith(".wo", StringComparison.Ordinal) || p.Name.EndsWith(".w_down", StringComparison.Ordinal) ? residualStd : initStd;
            var span = model.Weights.AsSpan(p.Offset, p.Length);
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = (float)(rng.NextGaussian() * std);
            }
        }

        return model;
    }

    public Span<float> Parameter(string name)
    {
        var p = Layout[name];
        return Weights.AsSpan(p.Offset, p.Length);
    }

    public Span<float> Gradient(string name)
    {
        var p = Layout[name];
        return Gradients.AsSpan(p.Offset, p.Length);
    }

    public void ZeroGradients() => Array.Clear(Gradients);

    /// <summary>A copy with the same config, weights and thread count and zero gradients (a generator replica).</summary>
    public TransformerModel Clone()
    {
        var copy = new TransformerModel(Config) { Threads = Threads };
        Weights.CopyTo(copy.Weights, 0);
        return copy;
    }

    /// <summary>Overwrites this model's weights with <paramref name="source"/>'s (same config required).</summary>
    public void CopyWeightsFrom(TransformerModel source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source.Config != Config)
        {
            throw new ArgumentException($"Cannot copy weights from a model with config {source.Config} into one with {Config}.", nameof(source));
        }

        source.Weights.CopyTo(Weights, 0);
    }

    /// <summary>SHA-256 (lower-case hex) of the config metadata followed by the little-endian weights: the policy identity.</summary>
    public string ComputeHash() => PolicyHash.Compute(Config, Weights);

    public void ReadWeights(Span<float> destination)
    {
        RequireLength(destination.Length, "destination");
        Weights.CopyTo(destination);
    }

    public void WriteWeights(ReadOnlySpan<float> source)
    {
        RequireLength(source.Length, "source");
        source.CopyTo(Weights);
    }

    public void ReadGradients(Span<float> destination)
    {
        RequireLength(destination.Length, "destination");
        Gradients.CopyTo(destination);
    }

    IPolicyModel IPolicyModel.ClonePolicy() => Clone();

    IScoredBatch IPolicyModel.Score(TokenBatch batch, IScoredBatch? reuse) => Forward(batch, reuse as ForwardPass);

    void IPolicyModel.Backward(IScoredBatch scored, ReadOnlySpan<float> dLogp) =>
        Backward(scored as ForwardPass ?? throw new ArgumentException($"The built-in model back-propagates its own forward passes, not a {scored?.GetType().Name}.", nameof(scored)), dLogp);

    public float ClipGradients(float maxNorm) => GradientClipping.ClipGlobalNorm(Gradients, maxNorm);

    public IPolicyOptimizer CreateOptimizer(AdamWOptions options) => new TransformerOptimizer(this, new AdamW(Layout, options));

    IIncrementalDecoder IPolicyModel.CreateDecoder(int rows, int capacity) => new KvCacheDecoder(this, rows, capacity);

    /// <summary>
    /// Runs the model over <paramref name="batch"/>, returning per-token target log-probabilities and entropies and the
    /// activation tape for <see cref="Backward"/>. Passing the previous pass as <paramref name="reuse"/> recycles its
    /// buffers when the shape matches (the old pass is then overwritten).
    /// </summary>
    public ForwardPass Forward(TokenBatch batch, ForwardPass? reuse = null)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var cfg = Config;
        int bsz = batch.BatchSize, t = batch.SeqLen, n = batch.TokenCount, d = cfg.ModelDim, f = cfg.FfnDim, v = cfg.VocabSize;
        if (t > cfg.MaxSeqLen)
        {
            throw new ArgumentException($"The batch has {t} positions but the model's MaxSeqLen is {cfg.MaxSeqLen}.", nameof(batch));
        }

        ValidateIds(batch.InputIds, batch.AttentionMask, "input", requireAll: true);
        ValidateIds(batch.TargetIds, batch.LossMask, "target", requireAll: false);

        var pass = reuse is not null && reuse.Fits(cfg, bsz, t) ? reuse : new ForwardPass(cfg, bsz, t);
        pass.Batch = batch;
        for (var b = 0; b < bsz; b++)
        {
            var count = 0;
            for (var j = 0; j < t; j++)
            {
                pass.Positions[b * t + j] = count;
                count += batch.AttentionMask[b * t + j] ? 1 : 0;
            }
        }

        var threads = Threads;
        var x = pass.XOut;
        var emb = Parameter("tok_embeddings");
        for (var i = 0; i < n; i++)
        {
            emb.Slice(batch.InputIds[i] * d, d).CopyTo(x.AsSpan(i * d, d));
        }

        var h = pass.Hidden;
        for (var l = 0; l < cfg.Layers; l++)
        {
            var tape = pass.Layers[l];
            x.CopyTo(tape.XIn, 0);
            RowsParallel(n, (r0, r1) => Ops.RmsNorm(x.AsSpan(r0 * d, (r1 - r0) * d), P(l, "attn_norm"), h.AsSpan(r0 * d, (r1 - r0) * d), tape.InvRms1.AsSpan(r0, r1 - r0), r1 - r0, d, cfg.NormEps));
            Gemm.Multiply(false, false, n, d, d, h, d, P(l, "wq"), d, tape.Q, d, false, threads);
            Gemm.Multiply(false, false, n, d, d, h, d, P(l, "wk"), d, tape.K, d, false, threads);
            Gemm.Multiply(false, false, n, d, d, h, d, P(l, "wv"), d, tape.V, d, false, threads);
            RowsParallel(n, (r0, r1) =>
            {
                Ops.Rope(tape.Q.AsSpan(r0 * d, (r1 - r0) * d), pass.Positions.AsSpan(r0), Rope, r1 - r0, d, inverse: false);
                Ops.Rope(tape.K.AsSpan(r0 * d, (r1 - r0) * d), pass.Positions.AsSpan(r0), Rope, r1 - r0, d, inverse: false);
            });
            AttentionForward(pass, tape);
            Gemm.Multiply(false, false, n, d, d, tape.O, d, P(l, "wo"), d, x, d, true, threads);
            x.CopyTo(tape.XMid, 0);
            RowsParallel(n, (r0, r1) => Ops.RmsNorm(x.AsSpan(r0 * d, (r1 - r0) * d), P(l, "mlp_norm"), h.AsSpan(r0 * d, (r1 - r0) * d), tape.InvRms2.AsSpan(r0, r1 - r0), r1 - r0, d, cfg.NormEps));
            Gemm.Multiply(false, false, n, f, d, h, d, P(l, "w_gate"), f, tape.Gate, f, false, threads);
            Gemm.Multiply(false, false, n, f, d, h, d, P(l, "w_up"), f, tape.Up, f, false, threads);
            RowsParallel(n, (r0, r1) => Ops.SwiGlu(tape.Gate.AsSpan(r0 * f, (r1 - r0) * f), tape.Up.AsSpan(r0 * f, (r1 - r0) * f), pass.Ffn.AsSpan(r0 * f, (r1 - r0) * f)));
            Gemm.Multiply(false, false, n, d, f, pass.Ffn, f, P(l, "w_down"), d, x, d, true, threads);
        }

        RowsParallel(n, (r0, r1) => Ops.RmsNorm(x.AsSpan(r0 * d, (r1 - r0) * d), P("norm"), h.AsSpan(r0 * d, (r1 - r0) * d), pass.InvRmsOut.AsSpan(r0, r1 - r0), r1 - r0, d, cfg.NormEps));
        HeadForward(h, pass.LogitsBuffer, n);
        var logits = pass.LogitsBuffer;
        RowsParallel(n, (r0, r1) =>
        {
            var scratch = new float[v];
            for (var i = r0; i < r1; i++)
            {
                var row = logits.AsSpan(i * v, v);
                row.CopyTo(scratch);
                var entropy = Ops.LogSoftmaxInPlace(scratch);
                pass.LogSumExp[i] = row[0] - scratch[0];
                var scored = batch.LossMask[i];
                pass.TokenLogp[i] = scored ? scratch[batch.TargetIds[i]] : 0f;
                pass.Entropy[i] = scored ? entropy : 0f;
            }
        });

        return pass;
    }

    /// <summary>
    /// Adds to <see cref="Gradients"/> the gradient of Σ_i (dLogp[i]·logp_i + dEntropy[i]·H_i) over the scored
    /// positions of <paramref name="pass"/> (entries at unscored positions are ignored). <paramref name="dEntropy"/> may be empty.
    /// </summary>
    public void Backward(ForwardPass pass, ReadOnlySpan<float> dLogp, ReadOnlySpan<float> dEntropy = default)
    {
        ArgumentNullException.ThrowIfNull(pass);
        var batch = pass.Batch ?? throw new InvalidOperationException("This forward pass was already backpropagated (the backward overwrites its logits); run Forward again.");
        if (pass.Config != Config)
        {
            throw new ArgumentException($"The pass was computed by a model with config {pass.Config}, not {Config}.", nameof(pass));
        }

        int n = batch.TokenCount, d = Config.ModelDim, f = Config.FfnDim, v = Config.VocabSize;
        if (dLogp.Length != n || (dEntropy.Length != 0 && dEntropy.Length != n))
        {
            throw new ArgumentException($"dLogp has {dLogp.Length} and dEntropy {dEntropy.Length} entries; the batch has {n} positions (dEntropy may be empty).", nameof(dLogp));
        }

        var threads = Threads;
        var ws = pass.Workspace ??= new BackwardWorkspace(n, d, f);
        var dz = pass.LogitsBuffer;
        var dLogpArr = dLogp.ToArray();
        var dEntArr = dEntropy.Length == 0 ? null : dEntropy.ToArray();
        RowsParallel(n, (r0, r1) =>
        {
            for (var i = r0; i < r1; i++)
            {
                var row = dz.AsSpan(i * v, v);
                if (!batch.LossMask[i])
                {
                    row.Clear();
                    continue;
                }

                var lse = pass.LogSumExp[i];
                for (var j = 0; j < v; j++)
                {
                    row[j] -= lse;
                }

                Ops.LogSoftmaxBackwardInPlace(row, batch.TargetIds[i], pass.Entropy[i], dLogpArr[i], dEntArr?[i] ?? 0f);
            }
        });

        // The logits buffer now holds dz; the pass can no longer be backpropagated twice.
        pass.Batch = null;
        var h = pass.Hidden;
        var x = pass.XOut;
        Ops.RmsNormApply(x, P("norm"), pass.InvRmsOut, h, n, d);
        if (Config.TiedEmbeddings)
        {
            Gemm.Multiply(true, false, v, d, n, dz, v, h, d, G("tok_embeddings"), d, true, threads);
            Gemm.Multiply(false, false, n, d, v, dz, v, P("tok_embeddings"), d, ws.DH, d, false, threads);
        }
        else
        {
            Gemm.Multiply(true, false, d, v, n, h, d, dz, v, G("lm_head"), v, true, threads);
            Gemm.Multiply(false, true, n, d, v, dz, v, P("lm_head"), v, ws.DH, d, false, threads);
        }

        Ops.RmsNormGainGrad(x, pass.InvRmsOut, ws.DH, G("norm"), n, d);
        var dx = ws.DX;
        RowsParallel(n, (r0, r1) => Ops.RmsNormBackward(x.AsSpan(r0 * d, (r1 - r0) * d), P("norm"), pass.InvRmsOut.AsSpan(r0), ws.DH.AsSpan(r0 * d, (r1 - r0) * d), dx.AsSpan(r0 * d, (r1 - r0) * d), new float[d], r1 - r0, d, false));

        for (var l = Config.Layers - 1; l >= 0; l--)
        {
            var tape = pass.Layers[l];

            // MLP block: x_out = x_mid + (silu(h2·Wg) ⊙ h2·Wu)·Wd with h2 = norm(x_mid).
            var s = pass.Ffn;
            RowsParallel(n, (r0, r1) => Ops.SwiGlu(tape.Gate.AsSpan(r0 * f, (r1 - r0) * f), tape.Up.AsSpan(r0 * f, (r1 - r0) * f), s.AsSpan(r0 * f, (r1 - r0) * f)));
            Gemm.Multiply(true, false, f, d, n, s, f, dx, d, G(l, "w_down"), d, true, threads);
            Gemm.Multiply(false, true, n, f, d, dx, d, P(l, "w_down"), d, ws.DGate, f, false, threads);
            // s is dead once w_down's gradient is taken, so its buffer receives dUp.
            var dUp = s;
            RowsParallel(n, (r0, r1) => Ops.SwiGluBackward(tape.Gate.AsSpan(r0 * f, (r1 - r0) * f), tape.Up.AsSpan(r0 * f, (r1 - r0) * f), ws.DGate.AsSpan(r0 * f, (r1 - r0) * f), ws.DGate.AsSpan(r0 * f, (r1 - r0) * f), dUp.AsSpan(r0 * f, (r1 - r0) * f)));
            Ops.RmsNormApply(tape.XMid, P(l, "mlp_norm"), tape.InvRms2, h, n, d);
            Gemm.Multiply(true, false, d, f, n, h, d, ws.DGate, f, G(l, "w_gate"), f, true, threads);
            Gemm.Multiply(true, false, d, f, n, h, d, dUp, f, G(l, "w_up"), f, true, threads);
            Gemm.Multiply(false, true, n, d, f, ws.DGate, f, P(l, "w_gate"), f, ws.DH, d, false, threads);
            Gemm.Multiply(false, true, n, d, f, dUp, f, P(l, "w_up"), f, ws.DH, d, true, threads);
            Ops.RmsNormGainGrad(tape.XMid, tape.InvRms2, ws.DH, G(l, "mlp_norm"), n, d);
            RowsParallel(n, (r0, r1) => Ops.RmsNormBackward(tape.XMid.AsSpan(r0 * d, (r1 - r0) * d), P(l, "mlp_norm"), tape.InvRms2.AsSpan(r0), ws.DH.AsSpan(r0 * d, (r1 - r0) * d), dx.AsSpan(r0 * d, (r1 - r0) * d), new float[d], r1 - r0, d, true));

            // Attention block: x_mid = x_in + attn(rope(h1·Wq), rope(h1·Wk), h1·Wv)·Wo with h1 = norm(x_in).
            Gemm.Multiply(true, false, d, d, n, tape.O, d, dx, d, G(l, "wo"), d, true, threads);
            Gemm.Multiply(false, true, n, d, d, dx, d, P(l, "wo"), d, ws.DH, d, false, threads);
            AttentionBackward(pass, tape, ws.DH, ws);
            RowsParallel(n, (r0, r1) =>
            {
                Ops.Rope(ws.DQ.AsSpan(r0 * d, (r1 - r0) * d), pass.Positions.AsSpan(r0), Rope, r1 - r0, d, inverse: true);
                Ops.Rope(ws.DK.AsSpan(r0 * d, (r1 - r0) * d), pass.Positions.AsSpan(r0), Rope, r1 - r0, d, inverse: true);
            });
            Ops.RmsNormApply(tape.XIn, P(l, "attn_norm"), tape.InvRms1, h, n, d);
            Gemm.Multiply(true, false, d, d, n, h, d, ws.DQ, d, G(l, "wq"), d, true, threads);
            Gemm.Multiply(true, false, d, d, n, h, d, ws.DK, d, G(l, "wk"), d, true, threads);
            Gemm.Multiply(true, false, d, d, n, h, d, ws.DV, d, G(l, "wv"), d, true, threads);
            Gemm.Multiply(false, true, n, d, d, ws.DQ, d, P(l, "wq"), d, ws.DH, d, false, threads);
            Gemm.Multiply(false, true, n, d, d, ws.DK, d, P(l, "wk"), d, ws.DH, d, true, threads);
            Gemm.Multiply(false, true, n, d, d, ws.DV, d, P(l, "wv"), d, ws.DH, d, true, threads);
            Ops.RmsNormGainGrad(tape.XIn, tape.InvRms1, ws.DH, G(l, "attn_norm"), n, d);
            RowsParallel(n, (r0, r1) => Ops.RmsNormBackward(tape.XIn.AsSpan(r0 * d, (r1 - r0) * d), P(l, "attn_norm"), tape.InvRms1.AsSpan(r0), ws.DH.AsSpan(r0 * d, (r1 - r0) * d), dx.AsSpan(r0 * d, (r1 - r0) * d), new float[d], r1 - r0, d, true));
        }

        var dEmb = G("tok_embeddings");
        for (var i = 0; i < n; i++)
        {
            var row = dEmb.Slice(batch.InputIds[i] * d, d);
            System.Numerics.Tensors.TensorPrimitives.Add(row, dx.AsSpan(i * d, d), row);
        }
    }

    internal void HeadForward(float[] hidden, float[] logits, int rows)
    {
        int d = Config.ModelDim, v = Config.VocabSize;
        if (Config.TiedEmbeddings)
        {
            Gemm.Multiply(false, true, rows, v, d, hidden, d, P("tok_embeddings"), d, logits, v, false, Threads);
        }
        else
        {
            Gemm.Multiply(false, false, rows, v, d, hidden, d, P("lm_head"), v, logits, v, false, Threads);
        }
    }

    internal Span<float> P(string name) => Parameter(name);

    internal Span<float> P(int layer, string name) => Parameter(ParameterLayout.LayerName(layer, name));

    private Span<float> G(string name) => Gradient(name);

    private Span<float> G(int layer, string name) => Gradient(ParameterLayout.LayerName(layer, name));

    internal void RowsParallel(int rows, Action<int, int> body) => ParallelRunner.ForChunks(Threads, rows, body);

    private void AttentionForward(ForwardPass pass, LayerTape tape)
    {
        int t = pass.SeqLen, d = Config.ModelDim, hd = Config.HeadDim, heads = Config.Heads;
        var scale = 1f / MathF.Sqrt(hd);
        var mask = pass.Batch!.AttentionMask;
        ParallelRunner.For(Threads, pass.BatchSize * heads, task =>
        {
            int b = task / heads, hh = task % heads;
            var start = b * t * d + hh * hd;
            var len = (t - 1) * d + hd;
            Ops.AttentionHead(
                tape.Q.AsSpan(start, len), tape.K.AsSpan(start, len), tape.V.AsSpan(start, len), tape.O.AsSpan(start, len),
                tape.Probs.AsSpan(task * t * t, t * t), mask.AsSpan(b * t, t), t, hd, d, scale);
        });
    }

    private void AttentionBackward(ForwardPass pass, LayerTape tape, float[] dO, BackwardWorkspace ws)
    {
        int t = pass.SeqLen, d = Config.ModelDim, hd = Config.HeadDim, heads = Config.Heads;
        var scale = 1f / MathF.Sqrt(hd);
        ParallelRunner.For(Threads, pass.BatchSize * heads, task =>
        {
            int b = task / heads, hh = task % heads;
            var start = b * t * d + hh * hd;
            var len = (t - 1) * d + hd;
            var scratch = t_attentionScratch;
            if (scratch is null || scratch.Length < t * t)
            {
                scratch = new float[t * t];
                t_attentionScratch = scratch;
            }

            Ops.AttentionHeadBackward(
                tape.Q.AsSpan(start, len), tape.K.AsSpan(start, len), tape.V.AsSpan(start, len),
                tape.Probs.AsSpan(task * t * t, t * t), dO.AsSpan(start, len), scratch.AsSpan(0, t * t),
                ws.DQ.AsSpan(start, len), ws.DK.AsSpan(start, len), ws.DV.AsSpan(start, len), t, hd, d, scale);
        });
    }

    private void RequireLength(int length, string name)
    {
        if (length != Weights.Length)
        {
            throw new ArgumentException($"{name} holds {length} values; the model has {Weights.Length} parameters.", name);
        }
    }

    private void ValidateIds(int[] ids, bool[] mask, string what, bool requireAll)
    {
        var v = Config.VocabSize;
        for (var i = 0; i < ids.Length; i++)
        {
            if ((requireAll || mask[i]) && (uint)ids[i] >= (uint)v)
            {
                throw new ArgumentException($"The {what} token id {ids[i]} at position {i} is outside the vocabulary of {v}.");
            }
        }
    }
}
