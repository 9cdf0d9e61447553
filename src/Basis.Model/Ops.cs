using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Basis.Model.Compute;

namespace Basis.Model;

/// <summary>The transformer's operations, each with its exact backward. Row-major spans; no allocation on the hot path.</summary>
internal static class Ops
{
    // Query rows per block of the causal attention products: smaller blocks skip more of the masked upper triangle but
    // make more, smaller GEMM calls.
    private const int CausalBlock = 32;

    /// <summary>y = x / rms(x) · g per row; stores 1/rms per row for the backward.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RmsNorm(ReadOnlySpan<float> x, ReadOnlySpan<float> gain, Span<float> y, Span<float> invRms, int rows, int dim, float eps)
    {
        for (var r = 0; r < rows; r++)
        {
            var xr = x.Slice(r * dim, dim);
            var inv = 1f / MathF.Sqrt(TensorPrimitives.SumOfSquares(xr) / dim + eps);
            invRms[r] = inv;
            var yr = y.Slice(r * dim, dim);
            TensorPrimitives.Multiply(xr, inv, yr);
            TensorPrimitives.Multiply(yr, gain, yr);
        }
    }

    /// <summary>Recomputes y from x and the stored 1/rms.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RmsNormApply(ReadOnlySpan<float> x, ReadOnlySpan<float> gain, ReadOnlySpan<float> invRms, Span<float> y, int rows, int dim)
    {
        for (var r = 0; r < rows; r++)
        {
            var yr = y.Slice(r * dim, dim);
            TensorPrimitives.Multiply(x.Slice(r * dim, dim), invRms[r], yr);
            TensorPrimitives.Multiply(yr, gain, yr);
        }
    }

    /// <summary>dx (+)= ∂/∂x, using dx_i = r·g_i·dy_i − x_i·r³/D·Σ_j dy_j g_j x_j. Gain gradient is separate.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RmsNormBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> gain, ReadOnlySpan<float> invRms, ReadOnlySpan<float> dy, Span<float> dx, Span<float> scratch, int rows, int dim, bool accumulate)
    {
        var gdy = scratch[..dim];
        for (var r = 0; r < rows; r++)
        {
            var xr = x.Slice(r * dim, dim);
            var dyr = dy.Slice(r * dim, dim);
            var dxr = dx.Slice(r * dim, dim);
            var inv = invRms[r];
            TensorPrimitives.Multiply(dyr, gain, gdy);
            var dot = TensorPrimitives.Dot(gdy, xr);
            var coef = -dot * inv * inv * inv / dim;
            var i = 0;
            for (; i + Vector256<float>.Count <= dim; i += Vector256<float>.Count)
            {
                var v = (inv * Vector256.Create(gdy[i..])) + (coef * Vector256.Create(xr[i..]));
                (accumulate ? Vector256.Create(dxr[i..]) + v : v).CopyTo(dxr[i..]);
            }

            for (; i < dim; i++)
            {
                var v = inv * gdy[i] + coef * xr[i];
                dxr[i] = accumulate ? dxr[i] + v : v;
            }
        }
    }

    /// <summary>dGain += Σ_rows dy · x · (1/rms).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RmsNormGainGrad(ReadOnlySpan<float> x, ReadOnlySpan<float> invRms, ReadOnlySpan<float> dy, Span<float> dGain, int rows, int dim)
    {
        for (var r = 0; r < rows; r++)
        {
            var xr = x.Slice(r * dim, dim);
            var dyr = dy.Slice(r * dim, dim);
            var inv = invRms[r];
            var i = 0;
            for (; i + Vector256<float>.Count <= dim; i += Vector256<float>.Count)
            {
                (Vector256.Create(dGain[i..]) + (Vector256.Create(dyr[i..]) * Vector256.Create(xr[i..]) * inv)).CopyTo(dGain[i..]);
            }

            for (; i < dim; i++)
            {
                dGain[i] += dyr[i] * xr[i] * inv;
            }
        }
    }

    /// <summary>Rotates pairs (2i, 2i+1) of every head by position·θ_i; <paramref name="inverse"/> rotates back (the backward).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Rope(Span<float> x, ReadOnlySpan<int> positions, RopeTable table, int rows, int dim, bool inverse)
    {
        var half = table.HalfHeadDim;
        var headDim = 2 * half;
        var w = Vector256<float>.Count;
        if (headDim % w == 0)
        {
            // Pairwise: out = x·cos + swap(x)·(∓sin, ±sin), the same products and sums as the scalar loop.
            var swap = Vector256.Create(1, 0, 3, 2, 5, 4, 7, 6);
            for (var r = 0; r < rows; r++)
            {
                var row = x.Slice(r * dim, dim);
                var cos = table.CosPairs(positions[r]);
                var sin = table.SinPairs(positions[r]);
                for (var h = 0; h < dim; h += headDim)
                {
                    for (var c = 0; c < headDim; c += w)
                    {
                        var v = Vector256.Create(row[(h + c)..]);
                        var sn = Vector256.Create(sin[c..]);
                        sn = inverse ? -sn : sn;
                        (v * Vector256.Create(cos[c..]) + Vector256.Shuffle(v, swap) * sn).CopyTo(row[(h + c)..]);
                    }
                }
            }

            return;
        }

        for (var r = 0; r < rows; r++)
        {
            var row = x.Slice(r * dim, dim);
            var cos = table.Cos(positions[r]);
            var sin = table.Sin(positions[r]);
            for (var h = 0; h < dim; h += headDim)
            {
                for (var i = 0; i < half; i++)
                {
                    var x0 = row[h + 2 * i];
                    var x1 = row[h + 2 * i + 1];
                    var s = inverse ? -sin[i] : sin[i];
                    row[h + 2 * i] = x0 * cos[i] - x1 * s;
                    row[h + 2 * i + 1] = x0 * s + x1 * cos[i];
                }
            }
        }
    }

    /// <summary>s = silu(gate) · up.</summary>
    /// <remarks>
    /// Every element, the tail included, goes through the same vector code, so an element's value does not depend on
    /// where it sits in the span (a sampled row must not change with the batch around it).
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SwiGlu(ReadOnlySpan<float> gate, ReadOnlySpan<float> up, Span<float> s)
    {
        var w = Vector256<float>.Count;
        var n = s.Length;
        var i = 0;
        for (; i + w <= n; i += w)
        {
            SwiGluVector(Vector256.Create(gate[i..]), Vector256.Create(up[i..])).CopyTo(s[i..]);
        }

        if (i < n)
        {
            Span<float> g = stackalloc float[w];
            Span<float> u = stackalloc float[w];
            gate[i..n].CopyTo(g);
            up[i..n].CopyTo(u);
            SwiGluVector(Vector256.Create(g), Vector256.Create(u)).CopyTo(g);
            g[..(n - i)].CopyTo(s[i..]);
        }
    }

    private static Vector256<float> SwiGluVector(Vector256<float> a, Vector256<float> up) => a / (Vector256<float>.One + Exp(-a)) * up;

    /// <summary>dGate = ds · up · silu'(gate), dUp = ds · silu(gate); may write dGate over ds.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SwiGluBackward(ReadOnlySpan<float> gate, ReadOnlySpan<float> up, ReadOnlySpan<float> ds, Span<float> dGate, Span<float> dUp)
    {
        var w = Vector256<float>.Count;
        var n = ds.Length;
        var i = 0;
        for (; i + w <= n; i += w)
        {
            var (dg, du) = SwiGluBackwardVector(Vector256.Create(gate[i..]), Vector256.Create(up[i..]), Vector256.Create(ds[i..]));
            dg.CopyTo(dGate[i..]);
            du.CopyTo(dUp[i..]);
        }

        if (i < n)
        {
            Span<float> a = stackalloc float[w];
            Span<float> u = stackalloc float[w];
            Span<float> g = stackalloc float[w];
            gate[i..n].CopyTo(a);
            up[i..n].CopyTo(u);
            ds[i..n].CopyTo(g);
            var (dg, du) = SwiGluBackwardVector(Vector256.Create(a), Vector256.Create(u), Vector256.Create(g));
            dg.CopyTo(a);
            du.CopyTo(u);
            a[..(n - i)].CopyTo(dGate[i..]);
            u[..(n - i)].CopyTo(dUp[i..]);
        }
    }

    private static (Vector256<float> DGate, Vector256<float> DUp) SwiGluBackwardVector(Vector256<float> a, Vector256<float> up, Vector256<float> g)
    {
        var sig = Vector256<float>.One / (Vector256<float>.One + Exp(-a));
        return (g * up * sig * (Vector256<float>.One + a * (Vector256<float>.One - sig)), g * a * sig);
    }

    /// <summary>
    /// e^x per lane (Cephes' single-precision polynomial, about 1 ulp), inputs clamped to [−87.34, 88.38]. Written out
    /// rather than taken from the runtime so it is fully optimised from the first call.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp(Vector256<float> x)
    {
        x = Vector256.Min(Vector256.Max(x, Vector256.Create(-87.336544f)), Vector256.Create(88.37626f));
        var n = Vector256.Round(x * Vector256.Create(1.442695f));
        var r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-0.693359375f), x);
        r = Vector256.FusedMultiplyAdd(n, Vector256.Create(2.12194440e-4f), r);
        var p = Vector256.Create(1.9875691500e-4f);
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1.3981999507e-3f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(8.3334519073e-3f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(4.1665795894e-2f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1.6666665459e-1f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(5.0000001201e-1f));
        p = Vector256.FusedMultiplyAdd(p, r * r, r + Vector256<float>.One);
        var scale = Vector256.ShiftLeft(Vector256.ConvertToInt32(n) + Vector256.Create(127), 23).AsSingle();
        return p * scale;
    }

    /// <summary>
    /// x ← e^(x − max) for a whole span, every element (the tail too) through <see cref="Exp(Vector256{float})"/>; returns the sum.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float ExpShiftedInPlace(Span<float> x, float max)
    {
        var w = Vector256<float>.Count;
        var shift = Vector256.Create(max);
        var sum = Vector256<float>.Zero;
        var i = 0;
        for (; i + w <= x.Length; i += w)
        {
            var e = Exp(Vector256.Create(x[i..]) - shift);
            e.CopyTo(x[i..]);
            sum += e;
        }

        var total = Vector256.Sum(sum);
        if (i < x.Length)
        {
            Span<float> tail = stackalloc float[w];
            x[i..].CopyTo(tail);
            Exp(Vector256.Create(tail) - shift).CopyTo(tail);
            for (var j = 0; j < x.Length - i; j++)
            {
                x[i + j] = tail[j];
                total += tail[j];
            }
        }

        return total;
    }

    /// <summary>
    /// Causal attention of one (row, head): P = softmax(QKᵀ·scale) over keys j ≤ i with keyMask[j]; O = P V.
    /// Q, K, V, O are strided views (leading dimension ld); P is T×T. A query with no visible key outputs zeros.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AttentionHead(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, Span<float> o, Span<float> p, ReadOnlySpan<bool> keyMask, int t, int headDim, int ld, float scale)
    {
        // Causal: a block of query rows needs only the keys up to its last row.
        for (var r0 = 0; r0 < t; r0 += CausalBlock)
        {
            var r1 = Math.Min(t, r0 + CausalBlock);
            Gemm.Multiply(false, true, r1 - r0, r1, headDim, q[(r0 * ld)..], ld, k, ld, p[(r0 * t)..], t, accumulate: false);
        }

        for (var i = 0; i < t; i++)
        {
            var row = p.Slice(i * t, t);
            row[(i + 1)..].Clear();
            var visible = row[..(i + 1)];
            TensorPrimitives.Multiply(visible, scale, visible);
            var masked = keyMask[..(i + 1)].Contains(false);
            if (masked)
            {
                for (var j = 0; j <= i; j++)
                {
                    visible[j] = keyMask[j] ? visible[j] : float.NegativeInfinity;
                }
            }

            var max = TensorPrimitives.Max(visible);
            if (max == float.NegativeInfinity)
            {
                visible.Clear();
                continue;
            }

            var sum = ExpShiftedInPlace(visible, max);
            if (masked)
            {
                for (var j = 0; j <= i; j++)
                {
                    visible[j] = keyMask[j] ? visible[j] : 0f;
                }

                sum = TensorPrimitives.Sum(visible);
            }

            TensorPrimitives.Multiply(visible, 1f / sum, visible);
        }

        for (var r0 = 0; r0 < t; r0 += CausalBlock)
        {
            var r1 = Math.Min(t, r0 + CausalBlock);
            Gemm.Multiply(false, false, r1 - r0, headDim, r1, p[(r0 * t)..], t, v, ld, o[(r0 * ld)..], ld, accumulate: false);
        }
    }

    /// <summary>Backward of <see cref="AttentionHead"/>: writes dQ, dK, dV (strided) from dO and the stored P; dP is T×T scratch.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AttentionHeadBackward(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, ReadOnlySpan<float> p, ReadOnlySpan<float> dO, Span<float> dP, Span<float> dQ, Span<float> dK, Span<float> dV, int t, int headDim, int ld, float scale)
    {
        // P and dS are zero above the diagonal, so each block of rows (or of columns, for the transposed products)
        // multiplies only the part of the other operand that can be non-zero.
        for (var r0 = 0; r0 < t; r0 += CausalBlock)
        {
            var r1 = Math.Min(t, r0 + CausalBlock);
            Gemm.Multiply(false, true, r1 - r0, r1, headDim, dO[(r0 * ld)..], ld, v, ld, dP[(r0 * t)..], t, accumulate: false);
            Gemm.Multiply(true, false, r1 - r0, headDim, t - r0, p[(r0 * t + r0)..], t, dO[(r0 * ld)..], ld, dV[(r0 * ld)..], ld, accumulate: false);
        }

        for (var i = 0; i < t; i++)
        {
            var pr = p.Slice(i * t, t);
            var dr = dP.Slice(i * t, t);
            var visible = dr[..(i + 1)];
            var dot = TensorPrimitives.Dot(pr[..(i + 1)], visible);
            TensorPrimitives.Subtract(visible, dot, visible);
            TensorPrimitives.Multiply(visible, pr[..(i + 1)], visible);
            TensorPrimitives.Multiply(visible, scale, visible);
            dr[(i + 1)..].Clear();
        }

        for (var r0 = 0; r0 < t; r0 += CausalBlock)
        {
            var r1 = Math.Min(t, r0 + CausalBlock);
            Gemm.Multiply(false, false, r1 - r0, headDim, r1, dP[(r0 * t)..], t, k, ld, dQ[(r0 * ld)..], ld, accumulate: false);
            Gemm.Multiply(true, false, r1 - r0, headDim, t - r0, dP[(r0 * t + r0)..], t, q[(r0 * ld)..], ld, dK[(r0 * ld)..], ld, accumulate: false);
        }
    }

    /// <summary>Turns a row of logits into log-probabilities in place; returns the entropy −Σ p log p.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float LogSoftmaxInPlace(Span<float> logits)
    {
        var max = TensorPrimitives.Max(logits);
        double sum = 0;
        foreach (var z in logits)
        {
            sum += Math.Exp(z - max);
        }

        var lse = max + (float)Math.Log(sum);
        TensorPrimitives.Subtract(logits, lse, logits);
        double entropy = 0;
        foreach (var lp in logits)
        {
            entropy -= Math.Exp(lp) * lp;
        }

        return (float)entropy;
    }

    /// <summary>
    /// Gradient w.r.t. the logits of a·logp[target] + b·H: dz_j = a(δ_jt − p_j) − b·p_j(log p_j + H). Overwrites logp with dz.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void LogSoftmaxBackwardInPlace(Span<float> logp, int target, float entropy, float dLogp, float dEntropy)
    {
        for (var j = 0; j < logp.Length; j++)
        {
            var lp = logp[j];
            var pj = MathF.Exp(lp);
            logp[j] = -dLogp * pj - dEntropy * pj * (lp + entropy);
        }

        logp[target] += dLogp;
    }
}

/// <summary>Cos/sin tables of the rotary embedding, one row per position.</summary>
internal sealed class RopeTable
{
    private readonly float[] _cos;
    private readonly float[] _sin;
    private readonly float[] _cosPairs;
    private readonly float[] _sinPairs;

    public RopeTable(int maxPositions, int headDim, float theta)
    {
        HalfHeadDim = headDim / 2;
        MaxPositions = maxPositions;
        _cos = new float[maxPositions * HalfHeadDim];
        _sin = new float[maxPositions * HalfHeadDim];
        _cosPairs = new float[maxPositions * 2 * HalfHeadDim];
        _sinPairs = new float[maxPositions * 2 * HalfHeadDim];
        for (var pos = 0; pos < maxPositions; pos++)
        {
            for (var i = 0; i < HalfHeadDim; i++)
            {
                var freq = Math.Pow(theta, -2.0 * i / headDim);
                var angle = pos * freq;
                var cos = (float)Math.Cos(angle);
                var sin = (float)Math.Sin(angle);
                _cos[pos * HalfHeadDim + i] = cos;
                _sin[pos * HalfHeadDim + i] = sin;
                var pair = 2 * (pos * HalfHeadDim + i);
                _cosPairs[pair] = cos;
                _cosPairs[pair + 1] = cos;
                _sinPairs[pair] = -sin;
                _sinPairs[pair + 1] = sin;
            }
        }
    }

    public int HalfHeadDim { get; }

    public int MaxPositions { get; }

    public ReadOnlySpan<float> Cos(int position) => _cos.AsSpan(position * HalfHeadDim, HalfHeadDim);

    public ReadOnlySpan<float> Sin(int position) => _sin.AsSpan(position * HalfHeadDim, HalfHeadDim);

    /// <summary>cos θ_i repeated for both members of pair i: [c0, c0, c1, c1, …].</summary>
    public ReadOnlySpan<float> CosPairs(int position) => _cosPairs.AsSpan(position * 2 * HalfHeadDim, 2 * HalfHeadDim);

    /// <summary>sin θ_i signed for the rotation of pair i: [−s0, s0, −s1, s1, …].</summary>
    public ReadOnlySpan<float> SinPairs(int position) => _sinPairs.AsSpan(position * 2 * HalfHeadDim, 2 * HalfHeadDim);
}
