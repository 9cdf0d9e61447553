using System.Runtime.CompilerServices;
using Basis.Model.Compute;

namespace Basis.Model.Sampling;

/// <summary>
/// Runs the model incrementally: <see cref="Prefill"/> feeds every row its prompt, then each <see cref="Step"/> appends one
/// token to some rows' caches; both return each fed row's last logits.
/// </summary>
/// <remarks>
/// All rows of a step go through every weight product together (one GEMM per projection, M = the rows), so the weights
/// are read once per step, not once per row. Each row's keys and values live in one array per row, [layer][position][d],
/// which the attention kernel reads front to back. A step allocates nothing on one thread.
/// </remarks>
internal sealed class KvCacheDecoder : IIncrementalDecoder
{
    private readonly TransformerModel _model;
    private readonly int _capacity;
    private readonly int[] _lengths;
    private readonly float[][] _keys;
    private readonly float[][] _values;
    private readonly DecodeProfile? _profile;
    private readonly LayerOffsets[] _layers;
    private readonly int _finalNorm;
    private readonly float _scale;
    private readonly Action<int> _attendChunk;
    private StepWorkspace? _workspace;

    // The layer and the number of fed tokens of the attention in progress, read by _attendChunk on the pool's threads.
    private int _attentionLayer;
    private int _attentionTokens;
    private int _attentionChunks;

    public KvCacheDecoder(TransformerModel model, int rows, int capacity, DecodeProfile? profile = null)
    {
        _model = model;
        _profile = profile;
        _capacity = capacity;
        _lengths = new int[rows];
        var cfg = model.Config;
        var size = cfg.Layers * capacity * cfg.ModelDim;
        _keys = [.. Enumerable.Range(0, rows).Select(_ => new float[size])];
        _values = [.. Enumerable.Range(0, rows).Select(_ => new float[size])];
        _layers = [.. Enumerable.Range(0, cfg.Layers).Select(l => new LayerOffsets(model.Layout, l))];
        _finalNorm = model.Layout["norm"].Offset;
        _scale = 1f / MathF.Sqrt(cfg.HeadDim);
        _attendChunk = AttendChunk;
    }

    public int Length(int row) => _lengths[row];

    /// <summary>
    /// Feeds prompt r to row r, for every row; returns the logits at each prompt's last token, row r at [r·V, (r+1)·V).
    /// The array is reused by the next step.
    /// </summary>
    public float[] Prefill(IReadOnlyList<IReadOnlyList<int>> prompts)
    {
        var d = _model.Config.ModelDim;
        var m = prompts.Sum(p => p.Count);
        var ws = Workspace(m, prompts.Count);
        var emb = _model.Parameter("tok_embeddings");
        var idx = 0;
        for (var r = 0; r < prompts.Count; r++)
        {
            var prompt = prompts[r];
            CheckCapacity(r, prompt.Count);
            for (var j = 0; j < prompt.Count; j++, idx++)
            {
                ws.RowOf[idx] = r;
                ws.Positions[idx] = _lengths[r] + j;
                emb.Slice(prompt[j] * d, d).CopyTo(ws.X.AsSpan(idx * d, d));
            }

            ws.Last[r] = idx - 1;
            _lengths[r] += prompt.Count;
        }

        return Run(ws, m, prompts.Count);
    }

    /// <summary>Feeds <paramref name="tokens"/>[i] to row <paramref name="rows"/>[i]; returns the logits after it, row i at [i·V, (i+1)·V).</summary>
    public float[] Step(ReadOnlySpan<int> rows, ReadOnlySpan<int> tokens)
    {
        var d = _model.Config.ModelDim;
        var ws = Workspace(rows.Length, rows.Length);
        var emb = _model.Parameter("tok_embeddings");
        for (var i = 0; i < rows.Length; i++)
        {
            var r = rows[i];
            CheckCapacity(r, 1);
            ws.RowOf[i] = r;
            ws.Positions[i] = _lengths[r]++;
            ws.Last[i] = i;
            emb.Slice(tokens[i] * d, d).CopyTo(ws.X.AsSpan(i * d, d));
        }

        return Run(ws, rows.Length, rows.Length);
    }

    private void CheckCapacity(int row, int tokens)
    {
        if (_lengths[row] + tokens > _capacity)
        {
            throw new InvalidOperationException($"Row {row} would exceed the KV cache capacity of {_capacity} positions.");
        }
    }

    private StepWorkspace Workspace(int tokens, int rows)
    {
        if (_workspace is null || _workspace.Tokens < tokens || _workspace.Rows < rows)
        {
            _workspace = new StepWorkspace(_model.Config, Math.Max(tokens, _lengths.Length), Math.Max(rows, _lengths.Length));
        }

        return _workspace;
    }

    /// <summary>The layers over the m tokens in the workspace, then the head at the <paramref name="rows"/> last ones.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private float[] Run(StepWorkspace ws, int m, int rows)
    {
        var cfg = _model.Config;
        int d = cfg.ModelDim, f = cfg.FfnDim, threads = _model.Threads;
        var w = _model.Weights;
        var (x, h, q, k, v, o, gate, up, inv) = (ws.X, ws.H, ws.Q, ws.K, ws.V, ws.O, ws.Gate, ws.Up, ws.InvRms);
        var mark = Mark();
        for (var l = 0; l < cfg.Layers; l++)
        {
            var p = _layers[l];
            Ops.RmsNorm(x, w.AsSpan(p.AttnNorm, d), h, inv, m, d, cfg.NormEps);
            mark = Charge(DecodeSection.RowOps, mark);
            Gemm.Multiply(false, false, m, d, d, h, d, w.AsSpan(p.Wq, d * d), d, q, d, false, threads);
            Gemm.Multiply(false, false, m, d, d, h, d, w.AsSpan(p.Wk, d * d), d, k, d, false, threads);
            Gemm.Multiply(false, false, m, d, d, h, d, w.AsSpan(p.Wv, d * d), d, v, d, false, threads);
            mark = Charge(DecodeSection.Matrix, mark);
            Ops.Rope(q, ws.Positions, _model.Rope, m, d, inverse: false);
            Ops.Rope(k, ws.Positions, _model.Rope, m, d, inverse: false);
            mark = Charge(DecodeSection.RowOps, mark);
            Attention(ws, l, m);
            mark = Charge(DecodeSection.Attention, mark);
            Gemm.Multiply(false, false, m, d, d, o, d, w.AsSpan(p.Wo, d * d), d, x, d, true, threads);
            mark = Charge(DecodeSection.Matrix, mark);
            Ops.RmsNorm(x, w.AsSpan(p.MlpNorm, d), h, inv, m, d, cfg.NormEps);
            mark = Charge(DecodeSection.RowOps, mark);
            Gemm.Multiply(false, false, m, f, d, h, d, w.AsSpan(p.WGate, d * f), f, gate, f, false, threads);
            Gemm.Multiply(false, false, m, f, d, h, d, w.AsSpan(p.WUp, d * f), f, up, f, false, threads);
            mark = Charge(DecodeSection.Matrix, mark);
            Ops.SwiGlu(gate.AsSpan(0, m * f), up.AsSpan(0, m * f), gate.AsSpan(0, m * f));
            mark = Charge(DecodeSection.RowOps, mark);
            Gemm.Multiply(false, false, m, d, f, gate, f, w.AsSpan(p.WDown, f * d), d, x, d, true, threads);
            mark = Charge(DecodeSection.Matrix, mark);
        }

        var lastHidden = ws.LastHidden;
        for (var i = 0; i < rows; i++)
        {
            x.AsSpan(ws.Last[i] * d, d).CopyTo(lastHidden.AsSpan(i * d, d));
        }

        Ops.RmsNorm(lastHidden, w.AsSpan(_finalNorm, d), ws.Normed, inv, rows, d, cfg.NormEps);
        mark = Charge(DecodeSection.RowOps, mark);
        _model.HeadForward(ws.Normed, ws.Logits, rows);
        Charge(DecodeSection.Matrix, mark);
        return ws.Logits;
    }

    /// <summary>Writes layer l's new keys and values into the caches, then attends every fed token over its row's prefix.</summary>
    private void Attention(StepWorkspace ws, int layer, int m)
    {
        var d = _model.Config.ModelDim;
        var layerOffset = layer * _capacity * d;
        for (var i = 0; i < m; i++)
        {
            var at = layerOffset + ws.Positions[i] * d;
            ws.K.AsSpan(i * d, d).CopyTo(_keys[ws.RowOf[i]].AsSpan(at, d));
            ws.V.AsSpan(i * d, d).CopyTo(_values[ws.RowOf[i]].AsSpan(at, d));
        }

        (_attentionLayer, _attentionTokens) = (layer, m);
        var threads = _model.Threads;

        // Contiguous runs of tokens per thread keep each thread's reads one stream (the kernel fetches the next row ahead).
        _attentionChunks = threads <= 1 || m < 2 * threads ? 1 : 2 * threads;
        if (_attentionChunks == 1)
        {
            AttendChunk(0);
            return;
        }

        ParallelRunner.For(threads, _attentionChunks, _attendChunk);
    }

    private void AttendChunk(int chunk)
    {
        var cfg = _model.Config;
        int d = cfg.ModelDim, heads = cfg.Heads, m = _attentionTokens;
        var ws = _workspace!;
        var layerOffset = _attentionLayer * _capacity * d;
        var start = (int)((long)m * chunk / _attentionChunks);
        var end = (int)((long)m * (chunk + 1) / _attentionChunks);
        var longest = 0;
        for (var i = start; i < end; i++)
        {
            longest = Math.Max(longest, ws.Positions[i] + 1);
        }

        var length = CachedAttention.ScratchLength(heads, longest);
        var scratch = length <= 4096 ? stackalloc float[length] : new float[length];
        for (var i = start; i < end; i++)
        {
            var count = ws.Positions[i] + 1;
            var next = i + 1 < end ? _keys[ws.RowOf[i + 1]].AsSpan(layerOffset, (ws.Positions[i + 1] + 1) * d) : default;
            CachedAttention.Attend(
                ws.Q.AsSpan(i * d, d), _keys[ws.RowOf[i]].AsSpan(layerOffset, count * d), _values[ws.RowOf[i]].AsSpan(layerOffset, count * d),
                count, heads, cfg.HeadDim, _scale, scratch, ws.O.AsSpan(i * d, d), next);
        }
    }

    private long Mark() => _profile is null ? 0 : DecodeProfile.Mark();

    private long Charge(DecodeSection section, long mark) => _profile?.Charge(section, mark) ?? 0;

    /// <summary>Where one layer's parameters start in <see cref="TransformerModel.Weights"/> (looked up once, not per step).</summary>
    private readonly struct LayerOffsets(ParameterLayout layout, int layer)
    {
        public int AttnNorm { get; } = layout[ParameterLayout.LayerName(layer, "attn_norm")].Offset;

        public int Wq { get; } = layout[ParameterLayout.LayerName(layer, "wq")].Offset;

        public int Wk { get; } = layout[ParameterLayout.LayerName(layer, "wk")].Offset;

        public int Wv { get; } = layout[ParameterLayout.LayerName(layer, "wv")].Offset;

        public int Wo { get; } = layout[ParameterLayout.LayerName(layer, "wo")].Offset;

        public int MlpNorm { get; } = layout[ParameterLayout.LayerName(layer, "mlp_norm")].Offset;

        public int WGate { get; } = layout[ParameterLayout.LayerName(layer, "w_gate")].Offset;

        public int WUp { get; } = layout[ParameterLayout.LayerName(layer, "w_up")].Offset;

        public int WDown { get; } = layout[ParameterLayout.LayerName(layer, "w_down")].Offset;
    }
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
