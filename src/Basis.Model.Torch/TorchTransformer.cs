using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Basis.Model.Torch;

using Tensor = TorchSharp.torch.Tensor;

/// <summary>
/// The built-in transformer's architecture as TorchSharp modules: token embedding, pre-norm blocks (RMSNorm → causal
/// attention with interleaved-pair RoPE → residual; RMSNorm → SwiGLU → residual), final RMSNorm and a tied or separate
/// head. Parameters are named and shaped exactly as <see cref="ParameterLayout"/> (linear weights [in, out], y = x·W),
/// so a checkpoint of either backend loads into the other.
/// </summary>
internal sealed class TorchTransformer : nn.Module
{
    // A finite "minus infinity": a row whose keys are all masked (a padding row) stays finite instead of NaN.
    private const float Masked = float.MinValue;

    private readonly Parameter _tokEmbeddings;
    private readonly ModuleList<TorchBlock> _layers;
    private readonly Parameter _norm;
    private readonly Parameter? _lmHead;

    private readonly Tensor _cos;
    private readonly Tensor _sin;

    public TorchTransformer(TransformerConfig config, Device device)
        : base("transformer")
    {
        Config = config;
        int d = config.ModelDim;
        _tokEmbeddings = new Parameter(zeros(config.VocabSize, d, device: device));
        _layers = new ModuleList<TorchBlock>([.. Enumerable.Range(0, config.Layers).Select(l => new TorchBlock(config, device, l))]);
        _norm = new Parameter(ones(d, device: device));
        _lmHead = config.TiedEmbeddings ? null : new Parameter(zeros(d, config.VocabSize, device: device));
        (float[] cos, float[] sin) = RopeTables(config);
        _cos = tensor(cos, [config.MaxSeqLen, config.HeadDim / 2], device: device);
        _sin = tensor(sin, [config.MaxSeqLen, config.HeadDim / 2], device: device);

        // Registered under the checkpoint's tensor names: named_parameters() then yields layers.N.wq and so on.
        register_parameter("tok_embeddings", _tokEmbeddings);
        register_module("layers", _layers);
        register_parameter("norm", _norm);
        if (_lmHead is not null)
        {
            register_parameter("lm_head", _lmHead);
        }
    }

    public TransformerConfig Config { get; }

    /// <summary>Logits [B, T, V] of every position. <paramref name="allowed"/> [B, 1, T, T] says which keys each query sees.</summary>
    public Tensor Forward(Tensor ids, Tensor positions, Tensor allowed)
    {
        long b = ids.shape[0], t = ids.shape[1];
        Tensor x = _tokEmbeddings.index_select(0, ids.flatten()).view(b, t, Config.ModelDim);
        (Tensor cos, Tensor sin) = Rotation(positions);
        foreach (TorchBlock block in _layers)
        {
            x = block.Forward(x, cos, sin, (q, k, v) => Attend(q, k, v, allowed));
        }

        return Head(x);
    }

    /// <summary>
    /// One incremental step over <paramref name="rows"/> rows of new tokens [R, L] at <paramref name="positions"/>:
    /// each layer's keys and values go into <paramref name="cache"/> (row, position) where <paramref name="valid"/>,
    /// queries attend to their row's cached positions up to their own. Returns logits [R, L, V].
    /// </summary>
    public Tensor Step(Tensor ids, Tensor positions, Tensor valid, Tensor rows, KvCache cache, long visible)
    {
        long r = ids.shape[0], l = ids.shape[1];
        Tensor x = _tokEmbeddings.index_select(0, ids.flatten()).view(r, l, Config.ModelDim);
        (Tensor cos, Tensor sin) = Rotation(positions);
        Tensor flatValid = valid.flatten().nonzero().squeeze(1);
        Tensor validRows = rows.unsqueeze(1).expand(r, l).flatten().index_select(0, flatValid);
        Tensor validPositions = positions.flatten().index_select(0, flatValid);
        Tensor keyPositions = arange(visible, device: ids.device);
        Tensor allowed = keyPositions.view(1, 1, 1, visible).le(positions.view(r, 1, l, 1));
        int layer = 0;
        foreach (TorchBlock block in _layers)
        {
            int index = layer++;
            x = block.Forward(x, cos, sin, (q, k, v) =>
            {
                long d = Config.ModelDim;
                cache.Keys[index].index_put_(k.reshape(r * l, d).index_select(0, flatValid), validRows, validPositions);
                cache.Values[index].index_put_(v.reshape(r * l, d).index_select(0, flatValid), validRows, validPositions);
                Tensor keys = cache.Keys[index].index_select(0, rows).narrow(1, 0, visible);
                Tensor values = cache.Values[index].index_select(0, rows).narrow(1, 0, visible);
                return Attend(q, keys, values, allowed);
            });
        }

        return Head(x);
    }

    /// <summary>The parameters in <see cref="ParameterLayout"/> order.</summary>
    public IReadOnlyList<Parameter> InLayoutOrder(ParameterLayout layout)
    {
        var byName = named_parameters().ToDictionary(p => p.name, p => p.parameter, StringComparer.Ordinal);
        if (byName.Count != layout.Entries.Count)
        {
            throw new InvalidOperationException($"The TorchSharp transformer has {byName.Count} parameters; the layout {layout.Entries.Count}.");
        }

        return [.. layout.Entries.Select(e => byName.TryGetValue(e.Name, out Parameter? p) ? p : throw new InvalidOperationException($"The TorchSharp transformer has no parameter '{e.Name}'."))];
    }

    internal static Tensor RmsNorm(Tensor x, Tensor gain, float eps) =>
        x.mul(x.square().mean([-1L], keepdim: true).add(eps).rsqrt()).mul(gain);

    /// <summary>Rotates interleaved pairs (x₂ᵢ, x₂ᵢ₊₁) of every head: [B, T, H, hd] by per-position angles [B, T, 1, hd/2].</summary>
    internal static Tensor Rope(Tensor x, Tensor cos, Tensor sin)
    {
        long[] shape = x.shape;
        Tensor pairs = x.reshape(shape[0], shape[1], shape[2], shape[3] / 2, 2);
        Tensor even = pairs.select(-1, 0);
        Tensor odd = pairs.select(-1, 1);
        return stack([even.mul(cos).sub(odd.mul(sin)), odd.mul(cos).add(even.mul(sin))], -1).reshape(shape);
    }

    // The built-in RopeTable's values, computed the same way (double angle, rounded once to float).
    private static (float[] Cos, float[] Sin) RopeTables(TransformerConfig config)
    {
        int half = config.HeadDim / 2;
        var cos = new float[config.MaxSeqLen * half];
        var sin = new float[config.MaxSeqLen * half];
        for (int pos = 0; pos < config.MaxSeqLen; pos++)
        {
            for (int i = 0; i < half; i++)
            {
                double angle = pos * Math.Pow(config.RopeTheta, -2.0 * i / config.HeadDim);
                cos[(pos * half) + i] = (float)Math.Cos(angle);
                sin[(pos * half) + i] = (float)Math.Sin(angle);
            }
        }

        return (cos, sin);
    }

    private (Tensor Cos, Tensor Sin) Rotation(Tensor positions)
    {
        long b = positions.shape[0], t = positions.shape[1];
        Tensor flat = positions.flatten();
        return (_cos.index_select(0, flat).view(b, t, 1, -1), _sin.index_select(0, flat).view(b, t, 1, -1));
    }

    /// <summary>Queries [B, T, H, hd] (already rotated) against keys and values [B, S, d]; returns [B, T, d].</summary>
    private Tensor Attend(Tensor q, Tensor keys, Tensor values, Tensor allowed)
    {
        long b = q.shape[0], t = q.shape[1], s = keys.shape[1];
        int heads = Config.Heads, hd = Config.HeadDim;
        Tensor qh = q.transpose(1, 2);
        Tensor kh = keys.view(b, s, heads, hd).transpose(1, 2);
        Tensor vh = values.view(b, s, heads, hd).transpose(1, 2);
        Tensor scores = qh.matmul(kh.transpose(-2, -1)).mul(1f / MathF.Sqrt(hd)).masked_fill(allowed.logical_not(), Masked);
        return scores.softmax(-1).matmul(vh).transpose(1, 2).reshape(b, t, Config.ModelDim);
    }

    private Tensor Head(Tensor x)
    {
        Tensor h = RmsNorm(x, _norm, Config.NormEps);
        return _lmHead is null ? h.matmul(_tokEmbeddings.t()) : h.matmul(_lmHead);
    }
}

/// <summary>One pre-norm block. Keys are rotated before the attention callback sees them.</summary>
internal sealed class TorchBlock : nn.Module
{
    private readonly Parameter _attnNorm;
    private readonly Parameter _wq;
    private readonly Parameter _wk;
    private readonly Parameter _wv;
    private readonly Parameter _wo;
    private readonly Parameter _mlpNorm;
    private readonly Parameter _wGate;
    private readonly Parameter _wUp;
    private readonly Parameter _wDown;
    private readonly TransformerConfig _config;

    public TorchBlock(TransformerConfig config, Device device, int index)
        : base($"block{index}")
    {
        _config = config;
        int d = config.ModelDim, f = config.FfnDim;
        _attnNorm = Register("attn_norm", ones(d, device: device));
        _wq = Register("wq", zeros(d, d, device: device));
        _wk = Register("wk", zeros(d, d, device: device));
        _wv = Register("wv", zeros(d, d, device: device));
        _wo = Register("wo", zeros(d, d, device: device));
        _mlpNorm = Register("mlp_norm", ones(d, device: device));
        _wGate = Register("w_gate", zeros(d, f, device: device));
        _wUp = Register("w_up", zeros(d, f, device: device));
        _wDown = Register("w_down", zeros(f, d, device: device));
    }

    /// <param name="attend">(rotated queries [B, T, H, hd], rotated keys [B, T, d], values [B, T, d]) → attention output [B, T, d].</param>
    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, Func<Tensor, Tensor, Tensor, Tensor> attend)
    {
        long b = x.shape[0], t = x.shape[1];
        int heads = _config.Heads, hd = _config.HeadDim;
        Tensor h = TorchTransformer.RmsNorm(x, _attnNorm, _config.NormEps);
        Tensor q = TorchTransformer.Rope(h.matmul(_wq).view(b, t, heads, hd), cos, sin);
        Tensor k = TorchTransformer.Rope(h.matmul(_wk).view(b, t, heads, hd), cos, sin).reshape(b, t, _config.ModelDim);
        Tensor v = h.matmul(_wv);
        x = x.add(attend(q, k, v).matmul(_wo));
        Tensor h2 = TorchTransformer.RmsNorm(x, _mlpNorm, _config.NormEps);
        return x.add(nn.functional.silu(h2.matmul(_wGate)).mul(h2.matmul(_wUp)).matmul(_wDown));
    }

    private Parameter Register(string name, Tensor initial)
    {
        var parameter = new Parameter(initial);
        register_parameter(name, parameter);
        return parameter;
    }
}

/// <summary>Keys and values of every layer, [rows, capacity, d] each.</summary>
internal sealed class KvCache(TransformerConfig config, long rows, long capacity, Device device)
{
    public Tensor[] Keys { get; } = [.. Enumerable.Range(0, config.Layers).Select(_ => zeros(rows, capacity, config.ModelDim, device: device))];

    public Tensor[] Values { get; } = [.. Enumerable.Range(0, config.Layers).Select(_ => zeros(rows, capacity, config.ModelDim, device: device))];
}
