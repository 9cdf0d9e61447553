using System.Runtime.Intrinsics;
using Basis.Model.Sampling;

namespace Basis.Model.Tests;

/// <summary>The streaming KV-cache attention kernel against the per-head definition it must reproduce bit for bit.</summary>
public sealed class CachedAttentionTests
{
    /// <summary>
    /// Attention of one query, one head after another, written the plain way with the documented operation order: a score is
    /// an 8-lane fused multiply-add chain over the head's whole vectors, <see cref="Vector256.Sum{T}(Vector256{T})"/>, plus a
    /// scalar tail, times the scale; an output element is a fused multiply-add chain over the positions in order (a
    /// separate multiply and add past the last whole vector), times 1/Σ.
    /// </summary>
    private static float[] PerHead(float[] q, float[] keys, float[] values, int count, int heads, int headDim, float scale)
    {
        var d = heads * headDim;
        var vectorEnd = headDim - headDim % 8;
        var o = new float[d];
        for (var h = 0; h < heads; h++)
        {
            var head = h * headDim;
            var p = new float[count];
            for (var j = 0; j < count; j++)
            {
                var acc = Vector256<float>.Zero;
                for (var c = 0; c < vectorEnd; c += 8)
                {
                    acc = Vector256.FusedMultiplyAdd(Vector256.Create(q.AsSpan(head + c, 8)), Vector256.Create(keys.AsSpan(j * d + head + c, 8)), acc);
                }

                var tail = 0f;
                for (var c = vectorEnd; c < headDim; c++)
                {
                    tail += q[head + c] * keys[j * d + head + c];
                }

                p[j] = (Vector256.Sum(acc) + tail) * scale;
            }

            var inv = 1f / Ops.ExpShiftedInPlace(p, p.Max());
            for (var c = 0; c < headDim; c++)
            {
                var acc = 0f;
                for (var j = 0; j < count; j++)
                {
                    var v = values[j * d + head + c];
                    acc = c < vectorEnd ? MathF.FusedMultiplyAdd(p[j], v, acc) : acc + p[j] * v;
                }

                o[head + c] = acc * inv;
            }
        }

        return o;
    }

    [Fact]
    public void EqualsThePerHeadDefinitionBitForBit()
    {
        var rng = new DeterministicRandom(31);
        for (var trial = 0; trial < 200; trial++)
        {
            var heads = 1 + (int)(rng.NextUInt64() % 5);
            var headDim = 2 * (1 + (int)(rng.NextUInt64() % 24));
            var count = 1 + (int)(rng.NextUInt64() % 70);
            var d = heads * headDim;
            var spread = 1 + (float)(rng.NextDouble() * 20);
            var q = TestModels.Weights(d, rng.NextUInt64()).Select(x => x * spread).ToArray();
            var keys = TestModels.Weights(count * d, rng.NextUInt64());
            var values = TestModels.Weights(count * d, rng.NextUInt64());
            var nextKeys = TestModels.Weights(d, rng.NextUInt64());
            var scale = 1f / MathF.Sqrt(headDim);
            var o = new float[d];
            CachedAttention.Attend(q, keys, values, count, heads, headDim, scale, new float[CachedAttention.ScratchLength(heads, count)], o, nextKeys);
            var expected = PerHead(q, keys, values, count, heads, headDim, scale);
            for (var i = 0; i < d; i++)
            {
                Assert.True(
                    BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(o[i]),
                    $"trial {trial} (heads {heads}, headDim {headDim}, count {count}), element {i}: {o[i]} vs {expected[i]}");
            }
        }
    }

    [Fact]
    public void LeavesItsInputsAloneAndNeedsOnlyTheCachedPrefix()
    {
        const int heads = 2, headDim = 16, count = 9, d = heads * headDim;
        var q = TestModels.Weights(d, 1);
        var keys = TestModels.Weights(count * d, 2);
        var values = TestModels.Weights(count * d, 3);
        var (qCopy, keysCopy, valuesCopy) = (q.ToArray(), keys.ToArray(), values.ToArray());
        var o = new float[d];
        CachedAttention.Attend(q, keys, values, count, heads, headDim, 0.25f, new float[CachedAttention.ScratchLength(heads, count)], o);
        Assert.Equal(qCopy, q);
        Assert.Equal(keysCopy, keys);
        Assert.Equal(valuesCopy, values);
        Assert.Equal(PerHead(q, keys, values, count, heads, headDim, 0.25f), o);
        Assert.Throws<ArgumentException>(() => CachedAttention.Attend(q, keys, values, count + 1, heads, headDim, 0.25f, new float[CachedAttention.ScratchLength(heads, count + 1)], o));
        Assert.Throws<ArgumentException>(() => CachedAttention.Attend(q, keys, values, count, heads, headDim, 0.25f, new float[count], o));
    }
}
