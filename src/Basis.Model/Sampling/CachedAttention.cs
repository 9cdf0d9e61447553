using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Basis.Model.Sampling;

/// <summary>Attention of one query row over a row's KV cache, every head at once.</summary>
/// <remarks>
/// Decoding reads the whole cached prefix of every row at every step, so this kernel is bound by memory, not by
/// arithmetic. It walks the keys, then the values, once each and in address order (all heads of a cached position
/// together), so the hardware prefetcher sees two plain streams. Every number is still formed by the same operations
/// in the same order as the per-head definition: a score is an 8-lane fused multiply-add chain over the head's
/// columns, summed by <see cref="Vector256.Sum{T}(Vector256{T})"/>, plus a scalar tail, times the scale; an output
/// element is a fused multiply-add chain over the positions in order, from zero, times 1/Σ. So the result does not
/// depend on how positions or heads are grouped (the tests hold it bitwise to the per-head definition).
/// </remarks>
internal static unsafe class CachedAttention
{
    // Positions per pass over the output accumulators: eight rows of values stay in L1 while each head's columns
    // are accumulated.
    private const int ValueBlock = 8;

    // How far ahead of the reads the software prefetch runs: 4 KiB, about a DRAM latency's worth of this kernel's reads.
    private const int PrefetchLead = 1024;

    /// <summary>Floats of scratch <see cref="Attend"/> needs for <paramref name="count"/> positions.</summary>
    public static int ScratchLength(int heads, int count) => heads * (count + 1);

    /// <summary>
    /// o_h = softmax(q_h·K_hᵀ·scale)·V_h for every head h. <paramref name="keys"/> and <paramref name="values"/> hold
    /// <paramref name="count"/> positions of heads·headDim floats each.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Attend(ReadOnlySpan<float> q, ReadOnlySpan<float> keys, ReadOnlySpan<float> values, int count, int heads, int headDim, float scale, Span<float> scratch, Span<float> o) =>
        Attend(q, keys, values, count, heads, headDim, scale, scratch, o, default);

    /// <summary>
    /// As the other overload; <paramref name="nextKeys"/>, the keys the next call will read first, are fetched while the
    /// values are read.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Attend(ReadOnlySpan<float> q, ReadOnlySpan<float> keys, ReadOnlySpan<float> values, int count, int heads, int headDim, float scale, Span<float> scratch, Span<float> o, ReadOnlySpan<float> nextKeys)
    {
        var d = heads * headDim;
        if (count <= 0 || q.Length < d || o.Length < d || keys.Length < count * d || values.Length < count * d || scratch.Length < ScratchLength(heads, count))
        {
            throw new ArgumentException("Attention operands are smaller than the head layout needs.");
        }

        var probs = scratch[..(heads * count)];
        var inverseSums = scratch.Slice(heads * count, heads);
        var stream = new StreamPrefetcher(keys[..(count * d)], values[..(count * d)], nextKeys, PrefetchLead);
        Scores(q, keys, count, heads, headDim, scale, probs, ref stream);
        for (var h = 0; h < heads; h++)
        {
            // Subtracting the maximum keeps exp() finite for sharp heads.
            var p = probs.Slice(h * count, count);
            inverseSums[h] = 1f / Ops.ExpShiftedInPlace(p, TensorPrimitives.Max(p));
        }

        Mix(probs, values, count, heads, headDim, o, ref stream);
        Normalize(o, inverseSums, heads, headDim);
    }

    /// <summary>o_h ·= 1/Σ_h, element by element.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Normalize(Span<float> o, ReadOnlySpan<float> inverseSums, int heads, int headDim)
    {
        var w = Vector256<float>.Count;
        ref var oRef = ref MemoryMarshal.GetReference(o);
        for (var h = 0; h < heads; h++)
        {
            var inv = inverseSums[h];
            var head = h * headDim;
            var c = 0;
            for (; c + w <= headDim; c += w)
            {
                (Vector256.LoadUnsafe(ref oRef, (nuint)(head + c)) * inv).StoreUnsafe(ref oRef, (nuint)(head + c));
            }

            for (; c < headDim; c++)
            {
                o[head + c] *= inv;
            }
        }
    }

    /// <summary>probs[h·count + j] = q_h·k_{j,h}·scale, four positions at a time (four independent chains per head).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Scores(ReadOnlySpan<float> q, ReadOnlySpan<float> keys, int count, int heads, int headDim, float scale, Span<float> probs, ref StreamPrefetcher stream)
    {
        var d = heads * headDim;
        var w = Vector256<float>.Count;
        var vectorEnd = headDim - headDim % w;
        ref var qRef = ref MemoryMarshal.GetReference(q);
        ref var kRef = ref MemoryMarshal.GetReference(keys);
        var j = 0;
        for (; j + 4 <= count; j += 4)
        {
            stream.Advance(4 * d);
            for (var h = 0; h < heads; h++)
            {
                var head = h * headDim;
                var key = j * d + head;
                Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
                for (var c = 0; c < vectorEnd; c += w)
                {
                    var qv = Vector256.LoadUnsafe(ref qRef, (nuint)(head + c));
                    a0 = Vector256.FusedMultiplyAdd(qv, Vector256.LoadUnsafe(ref kRef, (nuint)(key + c)), a0);
                    a1 = Vector256.FusedMultiplyAdd(qv, Vector256.LoadUnsafe(ref kRef, (nuint)(key + d + c)), a1);
                    a2 = Vector256.FusedMultiplyAdd(qv, Vector256.LoadUnsafe(ref kRef, (nuint)(key + 2 * d + c)), a2);
                    a3 = Vector256.FusedMultiplyAdd(qv, Vector256.LoadUnsafe(ref kRef, (nuint)(key + 3 * d + c)), a3);
                }

                var row = h * count + j;
                probs[row] = (Vector256.Sum(a0) + TailDot(q, keys, head, key, vectorEnd, headDim)) * scale;
                probs[row + 1] = (Vector256.Sum(a1) + TailDot(q, keys, head, key + d, vectorEnd, headDim)) * scale;
                probs[row + 2] = (Vector256.Sum(a2) + TailDot(q, keys, head, key + 2 * d, vectorEnd, headDim)) * scale;
                probs[row + 3] = (Vector256.Sum(a3) + TailDot(q, keys, head, key + 3 * d, vectorEnd, headDim)) * scale;
            }
        }

        for (; j < count; j++)
        {
            stream.Advance(d);
            for (var h = 0; h < heads; h++)
            {
                var head = h * headDim;
                var key = j * d + head;
                var acc = Vector256<float>.Zero;
                for (var c = 0; c < vectorEnd; c += w)
                {
                    acc = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref qRef, (nuint)(head + c)), Vector256.LoadUnsafe(ref kRef, (nuint)(key + c)), acc);
                }

                probs[h * count + j] = (Vector256.Sum(acc) + TailDot(q, keys, head, key, vectorEnd, headDim)) * scale;
            }
        }
    }

    /// <summary>o_h = Σ_j probs[h·count + j]·v_{j,h} (unnormalised), blocks of positions at a time, o as the accumulator.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Mix(ReadOnlySpan<float> probs, ReadOnlySpan<float> values, int count, int heads, int headDim, Span<float> o, ref StreamPrefetcher stream)
    {
        var d = heads * headDim;
        var w = Vector256<float>.Count;
        var vectorEnd = headDim - headDim % w;
        ref var vRef = ref MemoryMarshal.GetReference(values);
        ref var oRef = ref MemoryMarshal.GetReference(o);
        ref var pRef = ref MemoryMarshal.GetReference(probs);
        o[..d].Clear();
        for (var j0 = 0; j0 < count; j0 += ValueBlock)
        {
            var j1 = Math.Min(count, j0 + ValueBlock);
            stream.Advance((j1 - j0) * d);

            for (var h = 0; h < heads; h++)
            {
                var head = h * headDim;
                ref var p = ref Unsafe.Add(ref pRef, h * count);
                var col = 0;
                for (; col + 4 * w <= vectorEnd; col += 4 * w)
                {
                    var dst = (nuint)(head + col);
                    var a0 = Vector256.LoadUnsafe(ref oRef, dst);
                    var a1 = Vector256.LoadUnsafe(ref oRef, dst + (nuint)w);
                    var a2 = Vector256.LoadUnsafe(ref oRef, dst + (nuint)(2 * w));
                    var a3 = Vector256.LoadUnsafe(ref oRef, dst + (nuint)(3 * w));
                    for (var jj = j0; jj < j1; jj++)
                    {
                        var pj = Vector256.Create(Unsafe.Add(ref p, jj));
                        var row = (nuint)(jj * d) + dst;
                        a0 = Vector256.FusedMultiplyAdd(pj, Vector256.LoadUnsafe(ref vRef, row), a0);
                        a1 = Vector256.FusedMultiplyAdd(pj, Vector256.LoadUnsafe(ref vRef, row + (nuint)w), a1);
                        a2 = Vector256.FusedMultiplyAdd(pj, Vector256.LoadUnsafe(ref vRef, row + (nuint)(2 * w)), a2);
                        a3 = Vector256.FusedMultiplyAdd(pj, Vector256.LoadUnsafe(ref vRef, row + (nuint)(3 * w)), a3);
                    }

                    a0.StoreUnsafe(ref oRef, dst);
                    a1.StoreUnsafe(ref oRef, dst + (nuint)w);
                    a2.StoreUnsafe(ref oRef, dst + (nuint)(2 * w));
                    a3.StoreUnsafe(ref oRef, dst + (nuint)(3 * w));
                }

                for (; col < vectorEnd; col += w)
                {
                    var dst = (nuint)(head + col);
                    var acc = Vector256.LoadUnsafe(ref oRef, dst);
                    for (var jj = j0; jj < j1; jj++)
                    {
                        acc = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref p, jj)), Vector256.LoadUnsafe(ref vRef, (nuint)(jj * d) + dst), acc);
                    }

                    acc.StoreUnsafe(ref oRef, dst);
                }

                // Columns past the last full vector: separate multiply and add, as a scalar loop writes them.
                for (; col < headDim; col++)
                {
                    var acc = o[head + col];
                    for (var jj = j0; jj < j1; jj++)
                    {
                        acc += Unsafe.Add(ref p, jj) * values[jj * d + head + col];
                    }

                    o[head + col] = acc;
                }
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

    /// <summary>
    /// Software prefetch a fixed distance ahead of a read that walks three regions in order. The hardware prefetcher
    /// stops at every 4 KiB page, which at d = 256 is every four cached positions, and never links one region to the next.
    /// </summary>
    private ref struct StreamPrefetcher
    {
        private const int LineFloats = 16;
        private readonly ReadOnlySpan<float> _first;
        private readonly ReadOnlySpan<float> _second;
        private readonly ReadOnlySpan<float> _third;
        private int _next;

        /// <summary>Fetches the first <paramref name="lead"/> floats; each <see cref="Advance"/> then keeps that lead.</summary>
        public StreamPrefetcher(ReadOnlySpan<float> first, ReadOnlySpan<float> second, ReadOnlySpan<float> third, int lead)
        {
            _first = first;
            _second = second;
            _third = third;
            Advance(lead);
        }

        /// <summary>The reader consumed <paramref name="floats"/> more floats: fetch as many more ahead.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Advance(int floats)
        {
            if (Sse.IsSupported)
            {
                var end = _next + floats;
                Fetch(_first, 0, end);
                Fetch(_second, _first.Length, end);
                Fetch(_third, _first.Length + _second.Length, end);
                _next = end;
            }
        }

        /// <summary>Fetches the lines of <paramref name="region"/> (starting at <paramref name="start"/> in the walk) from _next to <paramref name="end"/>.</summary>
        private readonly void Fetch(ReadOnlySpan<float> region, int start, int end)
        {
            var from = _next - start;
            var to = Math.Min(end - start, region.Length);
            if (from < to)
            {
                var p = (float*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(region));
                for (var i = Math.Max(from, 0); i < to; i += LineFloats)
                {
                    Sse.Prefetch0(p + i);
                }
            }
        }
    }
}
