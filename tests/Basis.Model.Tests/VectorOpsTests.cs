using System.Runtime.Intrinsics;
using Basis.Model.Sampling;

namespace Basis.Model.Tests;

public sealed class VectorOpsTests
{
    [Fact]
    public void ExpIsWithinTwoUlpOfTheLibraryExp()
    {
        var lanes = new float[Vector256<float>.Count];
        for (var x = -87f; x <= 88f; x += 0.0137f)
        {
            for (var j = 0; j < lanes.Length; j++)
            {
                lanes[j] = x + j * 1e-3f;
            }

            var result = Ops.Exp(Vector256.Create(lanes));
            for (var j = 0; j < lanes.Length; j++)
            {
                var expected = Math.Exp(lanes[j]);
                Assert.True(Math.Abs(result[j] - expected) <= 2.5e-7 * expected, $"exp({lanes[j]}) = {result[j]}, expected {expected}");
            }
        }
    }

    [Fact]
    public void ExpStaysFiniteAndPositiveBeyondTheClampRange()
    {
        var result = Ops.Exp(Vector256.Create(-1000f, -200f, -88f, 0f, 88.5f, 200f, float.MaxValue, float.MinValue));
        for (var j = 0; j < Vector256<float>.Count; j++)
        {
            Assert.True(float.IsFinite(result[j]) && result[j] > 0f, $"lane {j}: {result[j]}");
        }

        Assert.Equal(1f, result[3]);
    }

    [Fact]
    public void ElementwiseKernelsDoNotDependOnAnElementsPositionInTheSpan()
    {
        const int n = 37;
        var gate = TestModels.Weights(n, 11).Select(g => g * 6).ToArray();
        var up = TestModels.Weights(n, 12);
        var ds = TestModels.Weights(n, 13);
        var whole = new float[n];
        Ops.SwiGlu(gate, up, whole);
        var dGate = new float[n];
        var dUp = new float[n];
        Ops.SwiGluBackward(gate, up, ds, dGate, dUp);
        var shifted = TestModels.Weights(n, 14);
        var shiftedSum = Ops.ExpShiftedInPlace(shifted, 0.5f);
        foreach (var (start, length) in new[] { (0, 5), (3, 11), (9, 28), (30, 7) })
        {
            var s = new float[length];
            Ops.SwiGlu(gate.AsSpan(start, length), up.AsSpan(start, length), s);
            Assert.Equal(whole.AsSpan(start, length).ToArray(), s);
            var dg = new float[length];
            var du = new float[length];
            Ops.SwiGluBackward(gate.AsSpan(start, length), up.AsSpan(start, length), ds.AsSpan(start, length), dg, du);
            Assert.Equal(dGate.AsSpan(start, length).ToArray(), dg);
            Assert.Equal(dUp.AsSpan(start, length).ToArray(), du);
            var e = TestModels.Weights(n, 14).AsSpan(start, length).ToArray();
            Ops.ExpShiftedInPlace(e, 0.5f);
            Assert.Equal(shifted.AsSpan(start, length).ToArray(), e);
        }

        for (var i = 0; i < n; i++)
        {
            var a = (double)gate[i];
            var sig = 1 / (1 + Math.Exp(-a));
            Assert.Equal(a * sig * up[i], whole[i], 1e-6);
            Assert.Equal(ds[i] * up[i] * sig * (1 + a * (1 - sig)), dGate[i], 1e-6);
            Assert.Equal(ds[i] * a * sig, dUp[i], 1e-6);
        }

        Assert.Equal(shifted.Sum(), shiftedSum, 1e-5);
    }

    [Theory]
    [InlineData(3, 12, 7)]
    [InlineData(2, 32, 13)]
    [InlineData(4, 4, 1)]
    public void CachedAttentionMatchesADoublePrecisionSoftmax(int heads, int headDim, int count)
    {
        var d = heads * headDim;
        var q = TestModels.Weights(d, 15).Select(x => x * 3).ToArray();
        var keys = TestModels.Weights(count * d, 16);
        var values = TestModels.Weights(count * d, 17);
        var o = new float[d];
        var scale = 1f / MathF.Sqrt(headDim);
        CachedAttention.Attend(q, keys, values, count, heads, headDim, scale, new float[CachedAttention.ScratchLength(heads, count)], o);
        for (var h = 0; h < heads; h++)
        {
            var scores = new double[count];
            for (var j = 0; j < count; j++)
            {
                for (var c = 0; c < headDim; c++)
                {
                    scores[j] += (double)q[h * headDim + c] * keys[j * d + h * headDim + c] * scale;
                }
            }

            var max = scores.Max();
            var weights = scores.Select(s => Math.Exp(s - max)).ToArray();
            var total = weights.Sum();
            for (var c = 0; c < headDim; c++)
            {
                var expected = 0.0;
                for (var j = 0; j < count; j++)
                {
                    expected += weights[j] / total * values[j * d + h * headDim + c];
                }

                Assert.Equal(expected, o[h * headDim + c], 1e-5);
            }
        }
    }

    // 70 positions span three causal blocks; a padded key and a query with no visible key exercise the masks.
    [Fact]
    public void BlockedCausalAttentionMatchesADoublePrecisionReference()
    {
        const int t = 70, hd = 5, ld = 7;
        var scale = 1f / MathF.Sqrt(hd);
        var len = (t - 1) * ld + hd;
        var q = TestModels.Weights(len, 21).Select(x => x * 2).ToArray();
        var k = TestModels.Weights(len, 22).Select(x => x * 2).ToArray();
        var v = TestModels.Weights(len, 23);
        var dO = TestModels.Weights(len, 24);
        var mask = Enumerable.Range(0, t).Select(j => j != 0 && j != 40).ToArray();
        var o = new float[len];
        var p = new float[t * t];
        var dQ = new float[len];
        var dK = new float[len];
        var dV = new float[len];
        Ops.AttentionHead(q, k, v, o, p, mask, t, hd, ld, scale);
        Ops.AttentionHeadBackward(q, k, v, p, dO, new float[t * t], dQ, dK, dV, t, hd, ld, scale);

        var probs = new double[t, t];
        for (var i = 0; i < t; i++)
        {
            var visible = Enumerable.Range(0, i + 1).Where(j => mask[j]).ToArray();
            if (visible.Length == 0)
            {
                continue;
            }

            var s = visible.Select(j => Enumerable.Range(0, hd).Sum(c => (double)q[i * ld + c] * k[j * ld + c]) * scale).ToArray();
            var max = s.Max();
            var total = s.Sum(x => Math.Exp(x - max));
            for (var a = 0; a < visible.Length; a++)
            {
                probs[i, visible[a]] = Math.Exp(s[a] - max) / total;
            }
        }

        var dS = new double[t, t];
        for (var i = 0; i < t; i++)
        {
            var dP = Enumerable.Range(0, t).Select(j => Enumerable.Range(0, hd).Sum(c => (double)dO[i * ld + c] * v[j * ld + c])).ToArray();
            var dot = Enumerable.Range(0, t).Sum(j => probs[i, j] * dP[j]);
            for (var j = 0; j < t; j++)
            {
                dS[i, j] = probs[i, j] * (dP[j] - dot) * scale;
            }
        }

        for (var i = 0; i < t; i++)
        {
            for (var c = 0; c < hd; c++)
            {
                Assert.Equal(Enumerable.Range(0, t).Sum(j => probs[i, j] * v[j * ld + c]), o[i * ld + c], 1e-5);
                Assert.Equal(Enumerable.Range(0, t).Sum(j => probs[j, i] * dO[j * ld + c]), dV[i * ld + c], 1e-5);
                Assert.Equal(Enumerable.Range(0, t).Sum(j => dS[i, j] * k[j * ld + c]), dQ[i * ld + c], 1e-5);
                Assert.Equal(Enumerable.Range(0, t).Sum(j => dS[j, i] * q[j * ld + c]), dK[i * ld + c], 1e-5);
            }
        }
    }

    [Theory]
    [InlineData(16)]
    [InlineData(6)]
    public void RopeMatchesTheRotationFormulaAndItsInverseUndoesIt(int headDim)
    {
        const int rows = 5, heads = 3;
        var dim = heads * headDim;
        var table = new RopeTable(32, headDim, 10000f);
        var positions = new[] { 0, 3, 7, 31, 12 };
        var original = TestModels.Weights(rows * dim, 18);
        var x = original.ToArray();
        Ops.Rope(x, positions, table, rows, dim, inverse: false);
        for (var r = 0; r < rows; r++)
        {
            for (var h = 0; h < heads; h++)
            {
                for (var i = 0; i < headDim / 2; i++)
                {
                    var at = r * dim + h * headDim + 2 * i;
                    var (cos, sin) = (table.Cos(positions[r])[i], table.Sin(positions[r])[i]);
                    Assert.Equal(original[at] * cos - original[at + 1] * sin, x[at]);
                    Assert.Equal(original[at] * sin + original[at + 1] * cos, x[at + 1]);
                }
            }
        }

        Ops.Rope(x, positions, table, rows, dim, inverse: true);
        for (var i = 0; i < x.Length; i++)
        {
            Assert.Equal(original[i], x[i], 1e-6);
        }
    }
}
