using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using Basis.Model.Compute;

namespace Basis.Model;

/// <summary>The transformer's operations, each with its exact backward. Row-major spans; no allocation on the hot path.</summary>
internal static class Ops
{
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
            for (var i = 0; i < dim; i++)
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
            for (var i = 0; i < dim; i++)
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
        var w = Vector<float>.Count;
        var n = s.Length;
        var i = 0;
        for (; i + w <= n; i += w)
        {
            SwiGluVector(new Vector<float>(gate[i..]), new Vector<float>(up[i..])).CopyTo(s[i..]);
        }

        if (i < n)
        {
            Span<float> g = stackalloc float[w];
            Span<float> u = stackalloc float[w];
            gate[i..n].CopyTo(g);
            up[i..n].CopyTo(u);
            SwiGluVector(new Vector<float>(g), new Vector<float>(u)).CopyTo(g);
            g[..(n - i)].CopyTo(s[i..]);
        }
    }

    private static Vector<float> SwiGluVector(Vector<float> a, Vector<float> up) => a / (Vector<float>.One + Vector.Exp(-a)) * up;

    /// <summary>dGate = ds · up · silu'(gate), dUp = ds · silu(gate); may write dGate over ds.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SwiGluBackward(ReadOnlySpan<float> gate, ReadOnlySpan<float> up, ReadOnlySpan<float> ds, Span<float> dGate, Span<float> dUp)
    {
        var w = Vector<float>.Count;
        var n = ds.Length;
        var i = 0;
        for (; i + w <= n; i += w)
        {
            var (dg, du) = SwiGluBackwardVector(new Vector<float>(gate[i..]), new Vector<float>(up[i..]), new Vector<float>(ds[i..]));
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
            var (dg, du) = SwiGluBackwardVector(new Vector<float>(a), new Vector<float>(u), new Vector<float>(g));
            dg.CopyTo(a);
            du.CopyTo(u);
            a[..(n - i)].CopyTo(dGate[i..]);
            u[..(n - i)].CopyTo(dUp[i..]);
        }
    }

    private static (Vector<float> DGate, Vector<float> DUp) SwiGluBackwardVector(Vector<float> a, Vector<float> up, Vector<float> g)
    {
        var sig = Vector<float>.One / (Vector<float>.One + Vector.Exp(-a));
        return (g * up * sig * (Vector<float>.One + a * (Vector<float>.One - sig)), g * a * sig);
    }

    /// <summary>
    /// Causal attention of one (row, head): P = softmax(QKᵀ·scale) over keys j ≤ i with keyMask[j]; O = P V.
    /// Q, K, V, O are strided views (leading dimension ld); P is T×T. A query with no visible key outputs zeros.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AttentionHead(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, Span<float> o, Span<float> p, ReadOnlySpan<bool> keyMask, int t, int headDim, int ld, float scale)
    {
        Gemm.Multiply(false, true, t, t, headDim, q, ld, k, ld, p, t, accumulate: false);
        for (var i = 0; i < t; i++)
        {
            var row = p.Slice(i * t, t);
            var max = float.NegativeInfinity;
            for (var j = 0; j <= i; j++)
            {
                if (keyMask[j])
                {
                    max = MathF.Max(max, row[j] * scale);
                }
            }

            var sum = 0f;
            for (var j = 0; j < t; j++)
            {
                var e = j <= i && keyMask[j] ? MathF.Exp(row[j] * scale - max) : 0f;
                row[j] = e;
                sum += e;
            }

            if (sum > 0f)
            {
                TensorPrimitives.Multiply(row, 1f / sum, row);
            }
        }

        Gemm.Multiply(false, false, t, headDim, t, p, t, v, ld, o, ld, accumulate: false);
    }

    /// <summary>Backward of <see cref="AttentionHead"/>: writes dQ, dK, dV (strided) from dO and the stored P; dP is T×T scratch.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AttentionHeadBackward(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, ReadOnlySpan<float> p, ReadOnlySpan<float> dO, Span<float> dP, Span<float> dQ, Span<float> dK, Span<float> dV, int t, int headDim, int ld, float scale)
    {
        Gemm.Multiply(false, true, t, t, headDim, dO, ld, v, ld, dP, t, accumulate: false);
        Gemm.Multiply(true, false, t, headDim, t, p, t, dO, ld, dV, ld, accumulate: false);
        for (var i = 0; i < t; i++)
        {
            var pr = p.Slice(i * t, t);
            var dr = dP.Slice(i * t, t);
            var dot = TensorPrimitives.Dot(pr[..(i + 1)], dr[..(i + 1)]);
            for (var j = 0; j < t; j++)
            {
                dr[j] = j <= i ? pr[j] * (dr[j] - dot) * scale : 0f;
            }
        }

        Gemm.Multiply(false, false, t, headDim, t, dP, t, k, ld, dQ, ld, accumulate: false);
        Gemm.Multiply(true, false, t, headDim, t, dP, t, q, ld, dK, ld, accumulate: false);
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

    public RopeTable(int maxPositions, int headDim, float theta)
    {
        HalfHeadDim = headDim / 2;
        MaxPositions = maxPositions;
        _cos = new float[maxPositions * HalfHeadDim];
        _sin = new float[maxPositions * HalfHeadDim];
        for (var pos = 0; pos < maxPositions; pos++)
        {
            for (var i = 0; i < HalfHeadDim; i++)
            {
                var freq = Math.Pow(theta, -2.0 * i / headDim);
                var angle = pos * freq;
                _cos[pos * HalfHeadDim + i] = (float)Math.Cos(angle);
                _sin[pos * HalfHeadDim + i] = (float)Math.Sin(angle);
            }
        }
    }

    public int HalfHeadDim { get; }

    public int MaxPositions { get; }

    public ReadOnlySpan<float> Cos(int position) => _cos.AsSpan(position * HalfHeadDim, HalfHeadDim);

    public ReadOnlySpan<float> Sin(int position) => _sin.AsSpan(position * HalfHeadDim, HalfHeadDim);
}
