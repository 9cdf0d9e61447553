using System.Runtime.CompilerServices;
using Basis.Model.Compute;

namespace Basis.Model.Sampling;

/// <summary>Runs the model incrementally: each step appends tokens to some rows' caches and returns each row's last logits.</summary>
internal sealed class KvCacheDecoder
{
    private readonly TransformerModel _model;
    private readonly int _capacity;
    private readonly int[] _lengths;
    private readonly float[][] _keys;
    private readonly float[][] _values;
    private readonly DecodeProfile? _profile;
    private StepWorkspace? _workspace;

    public KvCacheDecoder(TransformerModel model, int rows, int capacity, DecodeProfile? profile = null)
    {
        _model = model;
        _profile = profile;
        _capacity = capacity;
        _lengths = new int[rows];
        var size = model.Config.Layers * capacity * model.Config.ModelDim;
        _keys = [.. Enumerable.Range(0, rows).Select(_ => new float[size])];
        _values = [.. Enumerable.Range(0, rows).Select(_ => new float[size])];
    }

    public int Length(int row) => _lengths[row];

    /// <summary>
    /// Feeds <paramref name="tokens"/>[i] to row <paramref name="rows"/>[i]; returns logits at each row's last new token,
    /// row i at [i·V, (i+1)·V). The array is reused by the next step.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public float[] Step(int[] rows, IReadOnlyList<IReadOnlyList<int>> tokens)
    {
        var cfg = _model.Config;
        int d = cfg.ModelDim, f = cfg.FfnDim, hd = cfg.HeadDim, heads = cfg.Heads, threads = _model.Threads;
        var m = 0;
        for (var i = 0; i < tokens.Count; i++)
        {
            m += tokens[i].Count;
        }

        var mark = Mark();
        var ws = _workspace is not null && _workspace.Tokens >= m && _workspace.Rows >= rows.Length ? _workspace : new StepWorkspace(cfg, m, rows.Length);
        _workspace = ws;
        var (rowOf, pos, x) = (ws.RowOf, ws.Positions, ws.X);
        var emb = _model.Parameter("tok_embeddings");
        var idx = 0;
        for (var i = 0; i < rows.Length; i++)
        {
            var r = rows[i];
            if (_lengths[r] + tokens[i].Count > _capacity)
            {
                throw new InvalidOperationException($"Row {r} would exceed the KV cache capacity of {_capacity} positions.");
            }

            for (var j = 0; j < tokens[i].Count; j++, idx++)
            {
                rowOf[idx] = r;
                pos[idx] = _lengths[r] + j;
                emb.Slice(tokens[i][j] * d, d).CopyTo(x.AsSpan(idx * d, d));
            }

            ws.Last[i] = idx - 1;
        }

        var (h, q, k, v, o, gate, up, inv) = (ws.H, ws.Q, ws.K, ws.V, ws.O, ws.Gate, ws.Up, ws.InvRms);
        var scale = 1f / MathF.Sqrt(hd);
        for (var l = 0; l < cfg.Layers; l++)
        {
            Ops.RmsNorm(x, _model.P(l, "attn_norm"), h, inv, m, d, cfg.NormEps);
            mark = Charge(DecodeSection.RowOps, mark);
            Gemm.Multiply(false, false, m, d, d, h, d, _model.P(l, "wq"), d, q, d, false, threads);
            Gemm.Multiply(false, false, m, d, d, h, d, _model.P(l, "wk"), d, k, d, false, threads);
            Gemm.Multiply(false, false, m, d, d, h, d, _model.P(l, "wv"), d, v, d, false, threads);
            mark = Charge(DecodeSection.Matrix, mark);
            Ops.Rope(q, pos, _model.Rope, m, d, inverse: false);
            Ops.Rope(k, pos, _model.Rope, m, d, inverse: false);
            mark = Charge(DecodeSection.RowOps, mark);
            var layerOffset = l * _capacity * d;
            for (var i = 0; i < m; i++)
            {
                k.AsSpan(i * d, d).CopyTo(_keys[rowOf[i]].AsSpan(layerOffset + pos[i] * d, d));
                v.AsSpan(i * d, d).CopyTo(_values[rowOf[i]].AsSpan(layerOffset + pos[i] * d, d));
            }

            ParallelRunner.For(threads, m, i =>
            {
                var count = pos[i] + 1;
                var length = CachedAttention.ScratchLength(heads, count);
                var scratch = length <= 4096 ? stackalloc float[length] : new float[length];
                var next = i + 1 < m ? _keys[rowOf[i + 1]].AsSpan(layerOffset, (pos[i + 1] + 1) * d) : default;
                CachedAttention.Attend(q.AsSpan(i * d, d), _keys[rowOf[i]].AsSpan(layerOffset, count * d), _values[rowOf[i]].AsSpan(layerOffset, count * d), count, heads, hd, scale, scratch, o.AsSpan(i * d, d), next);
            });
            mark = Charge(DecodeSection.Attention, mark);
            Gemm.Multiply(false, false, m, d, d, o, d, _model.P(l, "wo"), d, x, d, true, threads);
            mark = Charge(DecodeSection.Matrix, mark);
            Ops.RmsNorm(x, _model.P(l, "mlp_norm"), h, inv, m, d, cfg.NormEps);
            mark = Charge(DecodeSection.RowOps, mark);
            Gemm.Multiply(false, false, m, f, d, h, d, _model.P(l, "w_gate"), f, gate, f, false, threads);
            Gemm.Multiply(false, false, m, f, d, h, d, _model.P(l, "w_up"), f, up, f, false, threads);
            mark = Charge(DecodeSection.Matrix, mark);
            Ops.SwiGlu(gate.AsSpan(0, m * f), up.AsSpan(0, m * f), gate.AsSpan(0, m * f));
            mark = Charge(DecodeSection.RowOps, mark);
            Gemm.Multiply(false, false, m, d, f, gate, f, _model.P(l, "w_down"), d, x, d, true, threads);
            mark = Charge(DecodeSection.Matrix, mark);
        }

        var lastHidden = ws.LastHidden;
        for (var i = 0; i < rows.Length; i++)
        {
            x.AsSpan(ws.Last[i] * d, d).CopyTo(lastHidden.AsSpan(i * d, d));
            _lengths[rows[i]] += tokens[i].Count;
        }

        Ops.RmsNorm(lastHidden, _model.P("norm"), ws.Normed, inv, rows.Length, d, cfg.NormEps);
        mark = Charge(DecodeSection.RowOps, mark);
        _model.HeadForward(ws.Normed, ws.Logits, rows.Length);
        Charge(DecodeSection.Matrix, mark);
        return ws.Logits;
    }

    private long Mark() => _profile is null ? 0 : DecodeProfile.Mark();

    private long Charge(DecodeSection section, long mark) => _profile?.Charge(section, mark) ?? 0;
}

/// <summary>Activations of one decoding step, kept across steps (the prompt step is the largest).</summary>
internal sealed class StepWorkspace(TransformerConfig config, int tokens, int rows)
{
    public int Tokens { get; } = tokens;

    public int Rows { get; } = rows;

    public int[] RowOf { get; } = new int[tokens];

    public int[] Positions { get; } = new int[tokens];

    public int[] Last { get; } = new int[rows];

    public float[] X { get; } = new float[tokens * config.ModelDim];

    public float[] H { get; } = new float[tokens * config.ModelDim];

    public float[] Q { get; } = new float[tokens * config.ModelDim];

    public float[] K { get; } = new float[tokens * config.ModelDim];

    public float[] V { get; } = new float[tokens * config.ModelDim];

    public float[] O { get; } = new float[tokens * config.ModelDim];

    public float[] Gate { get; } = new float[tokens * config.FfnDim];

    public float[] Up { get; } = new float[tokens * config.FfnDim];

    public float[] InvRms { get; } = new float[Math.Max(tokens, rows)];

    public float[] LastHidden { get; } = new float[rows * config.ModelDim];

    public float[] Normed { get; } = new float[rows * config.ModelDim];

    public float[] Logits { get; } = new float[rows * config.VocabSize];
}
