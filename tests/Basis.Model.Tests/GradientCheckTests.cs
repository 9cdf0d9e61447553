namespace Basis.Model.Tests;

/// <summary>Central finite differences (float32 forward, double objective) against the hand-written backward.</summary>
public sealed class GradientCheckTests
{
    private const float Eps = 1e-2f;

    private static void AssertClose(double numeric, double analytic, string what) =>
        Assert.True(Math.Abs(numeric - analytic) <= 1e-3 + 1e-2 * Math.Abs(analytic), $"{what}: finite difference {numeric:G6}, backward {analytic:G6}");

    private static double Numeric(float[] x, int i, Func<double> objective)
    {
        var saved = x[i];
        x[i] = saved + Eps;
        var plus = objective();
        x[i] = saved - Eps;
        var minus = objective();
        x[i] = saved;
        return (plus - minus) / (2 * Eps);
    }

    private static double Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double s = 0;
        for (var i = 0; i < a.Length; i++)
        {
            s += (double)a[i] * b[i];
        }

        return s;
    }

    [Fact]
    public void RmsNorm()
    {
        const int rows = 3, dim = 5;
        var x = TestModels.Weights(rows * dim, 1);
        var g = TestModels.Weights(dim, 2);
        var w = TestModels.Weights(rows * dim, 3);
        var y = new float[rows * dim];
        var inv = new float[rows];
        double Objective()
        {
            Ops.RmsNorm(x, g, y, inv, rows, dim, 1e-5f);
            return Dot(y, w);
        }

        Objective();
        var dx = new float[rows * dim];
        var dg = new float[dim];
        Ops.RmsNormBackward(x, g, inv, w, dx, new float[dim], rows, dim, accumulate: false);
        Ops.RmsNormGainGrad(x, inv, w, dg, rows, dim);
        for (var i = 0; i < x.Length; i++)
        {
            AssertClose(Numeric(x, i, Objective), dx[i], $"dx[{i}]");
        }

        for (var i = 0; i < g.Length; i++)
        {
            AssertClose(Numeric(g, i, Objective), dg[i], $"dgain[{i}]");
        }
    }

    [Fact]
    public void SwiGlu()
    {
        var gate = TestModels.Weights(9, 4);
        var up = TestModels.Weights(9, 5);
        var w = TestModels.Weights(9, 6);
        var s = new float[9];
        double Objective()
        {
            Ops.SwiGlu(gate, up, s);
            return Dot(s, w);
        }

        var dGate = new float[9];
        var dUp = new float[9];
        Ops.SwiGluBackward(gate, up, w, dGate, dUp);
        for (var i = 0; i < 9; i++)
        {
            AssertClose(Numeric(gate, i, Objective), dGate[i], $"dgate[{i}]");
            AssertClose(Numeric(up, i, Objective), dUp[i], $"dup[{i}]");
        }
    }

    [Fact]
    public void RopeBackwardIsTheTransposeOfTheRotation()
    {
        const int rows = 4, dim = 8;
        var table = new RopeTable(16, 4, 10000f);
        var positions = new[] { 0, 3, 7, 15 };
        var x = TestModels.Weights(rows * dim, 7);
        var dy = TestModels.Weights(rows * dim, 8);
        var rx = (float[])x.Clone();
        Ops.Rope(rx, positions, table, rows, dim, inverse: false);
        var rtdy = (float[])dy.Clone();
        Ops.Rope(rtdy, positions, table, rows, dim, inverse: true);
        Assert.Equal(Dot(rx, dy), Dot(x, rtdy), 5);
        Assert.NotEqual(Dot(x, dy), Dot(rx, dy), 3);
    }

    [Fact]
    public void AttentionHeadWithPaddingMask()
    {
        const int t = 5, hd = 4;
        var q = TestModels.Weights(t * hd, 9);
        var k = TestModels.Weights(t * hd, 10);
        var v = TestModels.Weights(t * hd, 11);
        var w = TestModels.Weights(t * hd, 12);
        var mask = new[] { false, true, true, false, true };
        var o = new float[t * hd];
        var p = new float[t * t];
        const float scale = 0.5f;
        double Objective()
        {
            Ops.AttentionHead(q, k, v, o, p, mask, t, hd, hd, scale);
            return Dot(o, w);
        }

        Objective();
        Assert.All(o.AsSpan(0, hd).ToArray(), value => Assert.Equal(0f, value));
        var dq = new float[t * hd];
        var dk = new float[t * hd];
        var dv = new float[t * hd];
        Ops.AttentionHeadBackward(q, k, v, p, w, new float[t * t], dq, dk, dv, t, hd, hd, scale);
        for (var i = 0; i < t * hd; i++)
        {
            AssertClose(Numeric(q, i, Objective), dq[i], $"dq[{i}]");
            AssertClose(Numeric(k, i, Objective), dk[i], $"dk[{i}]");
            AssertClose(Numeric(v, i, Objective), dv[i], $"dv[{i}]");
        }
    }

    [Fact]
    public void LogSoftmaxOfTargetAndEntropy()
    {
        var z = TestModels.Weights(7, 13);
        const int target = 4;
        const float a = 0.7f, b = -1.3f;
        double Objective()
        {
            var lp = (float[])z.Clone();
            var h = Ops.LogSoftmaxInPlace(lp);
            return a * lp[target] + b * h;
        }

        var grad = (float[])z.Clone();
        var entropy = Ops.LogSoftmaxInPlace(grad);
        Ops.LogSoftmaxBackwardInPlace(grad, target, entropy, a, b);
        for (var i = 0; i < z.Length; i++)
        {
            AssertClose(Numeric(z, i, Objective), grad[i], $"dz[{i}]");
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void WholeTwoLayerModel(bool tied)
    {
        var model = TransformerModel.Create(TestModels.Tiny(tied), seed: 3, initStd: 0.3f);
        var batch = TestModels.MixedBatch(model.Config.VocabSize);
        var a = TestModels.Weights(batch.TokenCount, 21);
        var b = TestModels.Weights(batch.TokenCount, 22);
        double Objective()
        {
            var pass = model.Forward(batch);
            return Dot(pass.TokenLogp, a) + Dot(pass.Entropy, b);
        }

        model.ZeroGradients();
        model.Backward(model.Forward(batch), a, b);
        var rng = new DeterministicRandom(5);
        foreach (var p in model.Layout.Entries)
        {
            for (var trial = 0; trial < 3; trial++)
            {
                var i = p.Offset + (int)(rng.NextUInt64() % (ulong)p.Length);
                AssertClose(Numeric(model.Weights, i, Objective), model.Gradients[i], $"{p.Name}[{i - p.Offset}]");
            }
        }
    }

    [Fact]
    public void BackwardAccumulatesAndIgnoresUnscoredPositions()
    {
        var model = TransformerModel.Create(TestModels.Tiny(), seed: 4, initStd: 0.3f);
        var batch = TestModels.MixedBatch(model.Config.VocabSize);
        var d = TestModels.Weights(batch.TokenCount, 30);
        model.Backward(model.Forward(batch), d);
        var once = (float[])model.Gradients.Clone();
        var noisy = (float[])d.Clone();
        for (var i = 0; i < noisy.Length; i++)
        {
            if (!batch.LossMask[i])
            {
                noisy[i] = 1000f;
            }
        }

        model.Backward(model.Forward(batch), noisy);
        for (var i = 0; i < once.Length; i++)
        {
            Assert.Equal(2 * once[i], model.Gradients[i], 1e-4f * (1 + Math.Abs(once[i])));
        }
    }
}
