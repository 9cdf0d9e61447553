using Basis.Model.Compute;

namespace Basis.Model.Tests;

public sealed class GemmTests
{
    [Theory]
    [InlineData(false, false, 1, 1, 1)]
    [InlineData(false, false, 7, 17, 5)]
    [InlineData(true, false, 13, 33, 300)]
    [InlineData(false, true, 100, 19, 64)]
    [InlineData(true, true, 6, 16, 257)]
    [InlineData(false, false, 200, 70, 520)]
    [InlineData(false, false, 50, 48, 300)]
    [InlineData(false, false, 64, 112, 300)]
    public void MatchesNaiveProductInEveryLayout(bool transA, bool transB, int m, int n, int k)
    {
        foreach (var threads in new[] { 1, 2 })
        {
            foreach (var scalar in new[] { false, true })
            {
                var a = TestModels.Weights(m * k, 1);
                var b = TestModels.Weights(k * n, 2);
                var c = TestModels.Weights(m * n, 3);
                var expected = new double[m * n];
                for (var i = 0; i < m; i++)
                {
                    for (var j = 0; j < n; j++)
                    {
                        double sum = c[i * n + j];
                        for (var p = 0; p < k; p++)
                        {
                            sum += (double)(transA ? a[p * m + i] : a[i * k + p]) * (transB ? b[j * k + p] : b[p * n + j]);
                        }

                        expected[i * n + j] = sum;
                    }
                }

                Gemm.ForceScalar = scalar;
                try
                {
                    Gemm.Multiply(transA, transB, m, n, k, a, transA ? m : k, b, transB ? k : n, c, n, accumulate: true, threads);
                }
                finally
                {
                    Gemm.ForceScalar = false;
                }

                for (var i = 0; i < c.Length; i++)
                {
                    Assert.True(Math.Abs(c[i] - expected[i]) <= 1e-5 * (1 + Math.Sqrt(k)), $"element {i}: {c[i]} vs {expected[i]} (threads {threads}, scalar {scalar})");
                }
            }
        }
    }

    [Fact]
    public void RowResultsDoNotDependOnOtherRowsOrThreads()
    {
        const int n = 40, k = 300;
        var a = TestModels.Weights(37 * k, 4);
        var b = TestModels.Weights(k * n, 5);
        var full = new float[37 * n];
        Gemm.Multiply(false, false, 37, n, k, a, k, b, n, full, n, false, threads: 2);
        var single = new float[n];
        Gemm.Multiply(false, false, 1, n, k, a.AsSpan(20 * k, k), k, b, n, single, n, false, threads: 1);
        Assert.Equal(full.AsSpan(20 * n, n).ToArray(), single);
    }

    [Fact]
    public void PortableKernelIsBitwiseEqualToTheSimdKernel()
    {
        const int m = 29, n = 45, k = 600;
        var a = TestModels.Weights(m * k, 6);
        var b = TestModels.Weights(k * n, 7);
        var simd = new float[m * n];
        var portable = new float[m * n];
        Gemm.Multiply(false, true, m, n, k, a, k, b, k, simd, n, false);
        Gemm.ForceScalar = true;
        try
        {
            Gemm.Multiply(false, true, m, n, k, a, k, b, k, portable, n, false);
        }
        finally
        {
            Gemm.ForceScalar = false;
        }

        Assert.Equal(simd, portable);
    }

    // Shapes around the 12×32 AVX-512 tile and the 8-wide transposed packing: partial row pairs, an odd strip, k tails;
    // the last two read B in place (one block of rows, whole 16-column strips).
    [Theory]
    [InlineData(false, false, 31, 75, 517)]
    [InlineData(false, false, 37, 80, 300)]
    [InlineData(true, false, 96, 48, 70)]
    [InlineData(false, true, 24, 64, 259)]
    [InlineData(true, false, 43, 33, 300)]
    [InlineData(true, true, 13, 97, 21)]
    public void PortableKernelIsBitwiseEqualToTheSimdKernelsInEveryLayout(bool transA, bool transB, int m, int n, int k)
    {
        var a = TestModels.Weights(m * k, 8);
        var b = TestModels.Weights(k * n, 9);
        foreach (var threads in new[] { 1, 2 })
        {
            var simd = TestModels.Weights(m * n, 10);
            var portable = TestModels.Weights(m * n, 10);
            Gemm.Multiply(transA, transB, m, n, k, a, transA ? m : k, b, transB ? k : n, simd, n, accumulate: true, threads);
            Gemm.ForceScalar = true;
            try
            {
                Gemm.Multiply(transA, transB, m, n, k, a, transA ? m : k, b, transB ? k : n, portable, n, accumulate: true, threads);
            }
            finally
            {
                Gemm.ForceScalar = false;
            }

            Assert.Equal(portable, simd);
        }
    }

    [Fact]
    public void RejectsTooSmallBuffers()
    {
        var ex = Assert.Throws<ArgumentException>(() => Gemm.Multiply(false, false, 2, 2, 2, new float[3], 2, new float[4], 2, new float[4], 2, false));
        Assert.Contains("a holds 3 elements", ex.Message, StringComparison.Ordinal);
    }
}
