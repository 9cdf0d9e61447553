using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Basis.Model.Compute;

namespace Basis.Model.Sampling;

/// <summary>
/// How to sample. <see cref="Temperature"/> 0 is greedy. <see cref="TopK"/> 0 and <see cref="TopP"/> 1 disable those
/// filters; top-k is applied before top-p, both to the tempered distribution.
/// </summary>
public sealed record SamplingOptions(float Temperature = 1f, int TopK = 0, float TopP = 1f, int MaxNewTokens = 64, IReadOnlyList<int>? StopTokens = null)
{
    public void Validate()
    {
        if (!(Temperature >= 0f) || !float.IsFinite(Temperature))
        {
            throw new ArgumentException($"SamplingOptions.Temperature must be a finite number ≥ 0, not {Temperature}.", nameof(Temperature));
        }

        if (TopK < 0)
        {
            throw new ArgumentException($"SamplingOptions.TopK must be ≥ 0, not {TopK}.", nameof(TopK));
        }

        if (!(TopP > 0f && TopP <= 1f))
        {
            throw new ArgumentException($"SamplingOptions.TopP must be in (0, 1], not {TopP}.", nameof(TopP));
        }

        if (MaxNewTokens <= 0)
        {
            throw new ArgumentException($"SamplingOptions.MaxNewTokens must be positive, not {MaxNewTokens}.", nameof(MaxNewTokens));
        }
    }
}

public enum FinishReason
{
    /// <summary>A stop token was sampled (it is the last token).</summary>
    Stop,

    /// <summary>MaxNewTokens or the model's MaxSeqLen was reached.</summary>
    Length,
}

/// <summary>
/// One generated completion. <see cref="SamplingLogp"/>[i] is log q(token i) under the distribution actually sampled
/// from (tempered, top-k/top-p truncated; 0 for greedy). <see cref="PolicyLogp"/>[i] is log π(token i), the untempered
/// full softmax of the policy: the quantity <see cref="TransformerModel.Forward"/> recomputes.
/// </summary>
public sealed record SampledSequence(int[] Tokens, float[] SamplingLogp, float[] PolicyLogp, FinishReason Finish);

/// <summary>Batched incremental decoding with a per-row KV cache.</summary>
/// <remarks>
/// Each row draws from its own generator seeded by its row seed, and every row's arithmetic is independent of the
/// other rows (see <see cref="Gemm"/>), so a prompt with a given row seed yields the same completion in any batch.
/// </remarks>
public static class Sampler
{

    /// <summary>Samples one completion per prompt; row i uses seed <see cref="DeterministicRandom.DeriveSeed"/>(seed, i).</summary>
    public static IReadOnlyList<SampledSequence> Generate(IPolicyModel model, IReadOnlyList<IReadOnlyList<int>> prompts, SamplingOptions options, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        var seeds = new ulong[prompts.Count];
        for (var i = 0; i < seeds.Length; i++)
        {
            seeds[i] = DeterministicRandom.DeriveSeed(seed, (ulong)i);
        }

        return Generate(model, prompts, options, seeds);
    }

    public static IReadOnlyList<SampledSequence> Generate(IPolicyModel model, IReadOnlyList<IReadOnlyList<int>> prompts, SamplingOptions options, IReadOnlyList<ulong> rowSeeds)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(rowSeeds);
        options.Validate();
        if (rowSeeds.Count != prompts.Count)
        {
            throw new ArgumentException($"{rowSeeds.Count} row seeds for {prompts.Count} prompts.", nameof(rowSeeds));
        }

        var cfg = model.Config;
        var rows = prompts.Count;
        if (rows == 0)
        {
            return [];
        }

        for (var r = 0; r < rows; r++)
        {
            if (prompts[r].Count == 0 || prompts[r].Count >= cfg.MaxSeqLen)
            {
                throw new ArgumentException($"Prompt {r} has {prompts[r].Count} tokens; it needs at least 1 and fewer than MaxSeqLen ({cfg.MaxSeqLen}).", nameof(prompts));
            }

            foreach (var id in prompts[r])
            {
                if ((uint)id >= (uint)cfg.VocabSize)
                {
                    throw new ArgumentException($"Prompt {r} holds token id {id}, outside the vocabulary of {cfg.VocabSize}.", nameof(prompts));
                }
            }
        }

        var capacity = prompts.Max(p => Math.Min(cfg.MaxSeqLen, p.Count + options.MaxNewTokens));
        var decoder = model.CreateDecoder(rows, capacity);
        var stop = new HashSet<int>(options.StopTokens ?? []);
        var rngs = rowSeeds.Select(s => new DeterministicRandom(s)).ToArray();
        var tokens = Enumerable.Range(0, rows).Select(_ => new List<int>()).ToArray();
        var samplingLogp = Enumerable.Range(0, rows).Select(_ => new List<float>()).ToArray();
        var policyLogp = Enumerable.Range(0, rows).Select(_ => new List<float>()).ToArray();
        var finish = new FinishReason?[rows];

        var active = Enumerable.Range(0, rows).ToArray();
        var logits = decoder.Step(active, prompts);
        var v = cfg.VocabSize;
        var scratch = new SamplingScratch(v);
        while (active.Length > 0)
        {
            var next = new List<int>(active.Length);
            var nextTokens = new List<IReadOnlyList<int>>(active.Length);
            for (var a = 0; a < active.Length; a++)
            {
                var r = active[a];
                var (token, qLogp, pLogp) = SampleToken(logits.AsSpan(a * v, v), options, rngs[r], scratch);
                tokens[r].Add(token);
                samplingLogp[r].Add(qLogp);
                policyLogp[r].Add(pLogp);
                if (stop.Contains(token))
                {
                    finish[r] = FinishReason.Stop;
                }
                else if (tokens[r].Count >= options.MaxNewTokens || decoder.Length(r) + 1 >= cfg.MaxSeqLen)
                {
                    finish[r] = FinishReason.Length;
                }
                else
                {
                    next.Add(r);
                    nextTokens.Add([token]);
                }
            }

            active = [.. next];
            if (active.Length > 0)
            {
                logits = decoder.Step(active, nextTokens);
            }
        }

        return [.. Enumerable.Range(0, rows).Select(r => new SampledSequence([.. tokens[r]], [.. samplingLogp[r]], [.. policyLogp[r]], finish[r]!.Value))];
    }

    private sealed class SamplingScratch(int v)
    {
        public float[] Scaled { get; } = new float[v];

        public ulong[] Order { get; } = new ulong[v];

        public double[] Weights { get; } = new double[v];
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (int Token, float SamplingLogp, float PolicyLogp) SampleToken(ReadOnlySpan<float> logits, SamplingOptions options, DeterministicRandom rng, SamplingScratch s)
    {
        var v = logits.Length;

        // log π(token) = z − logsumexp(z), computed exactly as Ops.LogSoftmaxInPlace does so it matches the training forward.
        var zMax = TensorPrimitives.Max(logits);
        double zSum = 0;
        foreach (var z in logits)
        {
            zSum += Math.Exp(z - zMax);
        }

        var lse = zMax + (float)Math.Log(zSum);
        if (options.Temperature == 0f)
        {
            var best = TensorPrimitives.IndexOfMax(logits);
            return (best, 0f, logits[best] - lse);
        }

        TensorPrimitives.Divide(logits, options.Temperature, s.Scaled);
        var scaled = s.Scaled;

        // Descending by value, ascending by index on ties, as one primitive sort: the order-preserving bit pattern of
        // −value in the high half, the index in the low half.
        var order = s.Order;
        for (var i = 0; i < v; i++)
        {
            var bits = BitConverter.SingleToUInt32Bits(scaled[i] + 0f);
            var ascending = (bits & 0x8000_0000u) != 0 ? ~bits : bits | 0x8000_0000u;
            order[i] = ((ulong)~ascending << 32) | (uint)i;
        }

        Array.Sort(order);
        var keep = options.TopK > 0 ? Math.Min(options.TopK, v) : v;
        var max = scaled[(int)(uint)order[0]];
        var weights = s.Weights;
        double total = 0;
        for (var i = 0; i < keep; i++)
        {
            weights[i] = Math.Exp(scaled[(int)(uint)order[i]] - max);
            total += weights[i];
        }

        if (options.TopP < 1f)
        {
            double cumulative = 0;
            for (var i = 0; i < keep; i++)
            {
                cumulative += weights[i] / total;
                if (cumulative >= options.TopP)
                {
                    keep = i + 1;
                    break;
                }
            }

            total = 0;
            for (var i = 0; i < keep; i++)
            {
                total += weights[i];
            }
        }

        var u = rng.NextDouble() * total;
        var chosen = (int)(uint)order[keep - 1];
        double acc = 0;
        for (var i = 0; i < keep; i++)
        {
            acc += weights[i];
            if (u < acc)
            {
                chosen = (int)(uint)order[i];
                break;
            }
        }

        var qLogp = (float)(scaled[chosen] - max - Math.Log(total));
        return (chosen, qLogp, logits[chosen] - lse);
    }
}

/// <summary>Runs the model incrementally: each step appends tokens to some rows' caches and returns each row's last logits.</summary>
internal sealed class KvCacheDecoder : IIncrementalDecoder
{
    private readonly TransformerModel _model;
    private readonly int _capacity;
    private readonly int[] _lengths;
    private readonly float[][] _keys;
    private readonly float[][] _values;
    private StepWorkspace? _workspace;

    public KvCacheDecoder(TransformerModel model, int rows, int capacity)
    {
        _model = model;
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
            Gemm.Multiply(false, false, m, d, d, h, d, _model.P(l, "wq"), d, q, d, false, threads);
            Gemm.Multiply(false, false, m, d, d, h, d, _model.P(l, "wk"), d, k, d, false, threads);
            Gemm.Multiply(false, false, m, d, d, h, d, _model.P(l, "wv"), d, v, d, false, threads);
            Ops.Rope(q, pos, _model.Rope, m, d, inverse: false);
            Ops.Rope(k, pos, _model.Rope, m, d, inverse: false);
            var layerOffset = l * _capacity * d;
            for (var i = 0; i < m; i++)
            {
                k.AsSpan(i * d, d).CopyTo(_keys[rowOf[i]].AsSpan(layerOffset + pos[i] * d, d));
                v.AsSpan(i * d, d).CopyTo(_values[rowOf[i]].AsSpan(layerOffset + pos[i] * d, d));
            }

            ParallelRunner.For(threads, m, i =>
            {
                var count = pos[i] + 1;
                var scores = count <= 1024 ? stackalloc float[count] : new float[count];
                Attend(q.AsSpan(i * d, d), _keys[rowOf[i]].AsSpan(layerOffset, count * d), _values[rowOf[i]].AsSpan(layerOffset, count * d), count, heads, hd, scale, scores, o.AsSpan(i * d, d));
            });
            Gemm.Multiply(false, false, m, d, d, o, d, _model.P(l, "wo"), d, x, d, true, threads);
            Ops.RmsNorm(x, _model.P(l, "mlp_norm"), h, inv, m, d, cfg.NormEps);
            Gemm.Multiply(false, false, m, f, d, h, d, _model.P(l, "w_gate"), f, gate, f, false, threads);
            Gemm.Multiply(false, false, m, f, d, h, d, _model.P(l, "w_up"), f, up, f, false, threads);
            Ops.SwiGlu(gate.AsSpan(0, m * f), up.AsSpan(0, m * f), gate.AsSpan(0, m * f));
            Gemm.Multiply(false, false, m, d, f, gate, f, _model.P(l, "w_down"), d, x, d, true, threads);
        }

        var lastHidden = ws.LastHidden;
        for (var i = 0; i < rows.Length; i++)
        {
            x.AsSpan(ws.Last[i] * d, d).CopyTo(lastHidden.AsSpan(i * d, d));
            _lengths[rows[i]] += tokens[i].Count;
        }

        Ops.RmsNorm(lastHidden, _model.P("norm"), ws.Normed, inv, rows.Length, d, cfg.NormEps);
        _model.HeadForward(ws.Normed, ws.Logits, rows.Length);
        return ws.Logits;
    }

    /// <summary>
    /// One query row against <paramref name="count"/> cached positions, every head: o_h = softmax(q_h·K_hᵀ·scale)·V_h. Keys
    /// and values are [count, heads·headDim] rows.
    /// </summary>
    /// <remarks>Four keys (and four 8-lane output slices) at a time keep independent FMA chains in flight.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Attend(ReadOnlySpan<float> q, ReadOnlySpan<float> keys, ReadOnlySpan<float> values, int count, int heads, int headDim, float scale, Span<float> scores, Span<float> o)
    {
        var d = heads * headDim;
        if (q.Length < d || o.Length < d || keys.Length < count * d || values.Length < count * d || scores.Length < count)
        {
            throw new ArgumentException("Attention operands are smaller than the head layout needs.");
        }

        var w = Vector256<float>.Count;
        var vectorEnd = headDim - headDim % w;
        ref var qRef = ref MemoryMarshal.GetReference(q);
        ref var kRef = ref MemoryMarshal.GetReference(keys);
        ref var vRef = ref MemoryMarshal.GetReference(values);
        ref var oRef = ref MemoryMarshal.GetReference(o);
        var probs = scores[..count];
        for (var h = 0; h < heads; h++)
        {
            var head = h * headDim;
            var j = 0;
            for (; j + 4 <= count; j += 4)
            {
                Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
                var key = j * d + head;
                for (var c = 0; c < vectorEnd; c += w)
                {
                    var qv = Vector256.LoadUnsafe(ref qRef, (nuint)(head + c));
                    a0 = Vector256.FusedMultiplyAdd(qv, Vector256.LoadUnsafe(ref kRef, (nuint)(key + c)), a0);
                    a1 = Vector256.FusedMultiplyAdd(qv, Vector256.LoadUnsafe(ref kRef, (nuint)(key + d + c)), a1);
                    a2 = Vector256.FusedMultiplyAdd(qv, Vector256.LoadUnsafe(ref kRef, (nuint)(key + 2 * d + c)), a2);
                    a3 = Vector256.FusedMultiplyAdd(qv, Vector256.LoadUnsafe(ref kRef, (nuint)(key + 3 * d + c)), a3);
                }

                probs[j] = (Vector256.Sum(a0) + TailDot(q, keys, head, key, vectorEnd, headDim)) * scale;
                probs[j + 1] = (Vector256.Sum(a1) + TailDot(q, keys, head, key + d, vectorEnd, headDim)) * scale;
                probs[j + 2] = (Vector256.Sum(a2) + TailDot(q, keys, head, key + 2 * d, vectorEnd, headDim)) * scale;
                probs[j + 3] = (Vector256.Sum(a3) + TailDot(q, keys, head, key + 3 * d, vectorEnd, headDim)) * scale;
            }

            for (; j < count; j++)
            {
                var key = j * d + head;
                var acc = Vector256<float>.Zero;
                for (var c = 0; c < vectorEnd; c += w)
                {
                    acc = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref qRef, (nuint)(head + c)), Vector256.LoadUnsafe(ref kRef, (nuint)(key + c)), acc);
                }

                probs[j] = (Vector256.Sum(acc) + TailDot(q, keys, head, key, vectorEnd, headDim)) * scale;
            }

            // Subtracting the maximum keeps exp() finite for sharp heads.
            var inv = 1f / Ops.ExpShiftedInPlace(probs, TensorPrimitives.Max(probs));
            var col = 0;
            for (; col + 4 * w <= vectorEnd; col += 4 * w)
            {
                Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
                for (var jj = 0; jj < count; jj++)
                {
                    var p = Vector256.Create(probs[jj]);
                    var row = (nuint)(jj * d + head + col);
                    a0 = Vector256.FusedMultiplyAdd(p, Vector256.LoadUnsafe(ref vRef, row), a0);
                    a1 = Vector256.FusedMultiplyAdd(p, Vector256.LoadUnsafe(ref vRef, row + (nuint)w), a1);
                    a2 = Vector256.FusedMultiplyAdd(p, Vector256.LoadUnsafe(ref vRef, row + (nuint)(2 * w)), a2);
                    a3 = Vector256.FusedMultiplyAdd(p, Vector256.LoadUnsafe(ref vRef, row + (nuint)(3 * w)), a3);
                }

                var dst = (nuint)(head + col);
                (a0 * inv).StoreUnsafe(ref oRef, dst);
                (a1 * inv).StoreUnsafe(ref oRef, dst + (nuint)w);
                (a2 * inv).StoreUnsafe(ref oRef, dst + (nuint)(2 * w));
                (a3 * inv).StoreUnsafe(ref oRef, dst + (nuint)(3 * w));
            }

            for (; col < vectorEnd; col += w)
            {
                var acc = Vector256<float>.Zero;
                for (var jj = 0; jj < count; jj++)
                {
                    acc = Vector256.FusedMultiplyAdd(Vector256.Create(probs[jj]), Vector256.LoadUnsafe(ref vRef, (nuint)(jj * d + head + col)), acc);
                }

                (acc * inv).StoreUnsafe(ref oRef, (nuint)(head + col));
            }

            for (; col < headDim; col++)
            {
                var acc = 0f;
                for (var jj = 0; jj < count; jj++)
                {
                    acc += probs[jj] * values[jj * d + head + col];
                }

                o[head + col] = acc * inv;
            }
        }
    }

    private static float TailDot(ReadOnlySpan<float> q, ReadOnlySpan<float> keys, int qOffset, int kOffset, int from, int to)
    {
        var sum = 0f;
        for (var c = from; c < to; c++)
        {
            sum += q[qOffset + c] * keys[kOffset + c];
        }

        return sum;
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
