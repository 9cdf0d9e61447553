using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Basis.Model.Compute;

/// <summary>
/// Single-precision matrix multiply C = op(A)·op(B) (+ C), row-major, with packed panels and a
/// 6×16 register-blocked AVX2/FMA micro-kernel (a portable scalar kernel when AVX2/FMA is absent).
/// </summary>
/// <remarks>
/// Every element of C is accumulated in the same k order regardless of M, N, tile position or
/// thread count (edge tiles use the same kernel on zero-padded panels), so a row's result does not
/// depend on which other rows are in the batch. Sampling relies on that for determinism.
/// </remarks>
public static unsafe class Gemm
{
    private const int Mr = 6;
    private const int Nr = 16;
    private const int Kc = 256;
    private const int Mc = 96;
    private const int Nc = 3072;

    [ThreadStatic]
    private static float[]? t_packA;

    [ThreadStatic]
    private static float[]? t_packBSingle;

    private static float[] s_packB = [];
    private static readonly Lock s_packBLock = new();

    /// <summary>True when the AVX2/FMA micro-kernel is in use.</summary>
    public static bool IsAccelerated => Fma.IsSupported && Avx2.IsSupported;

    /// <summary>
    /// Forces the portable kernel (tests compare both paths). Both kernels do one fused multiply-add per k in the same
    /// order, so their results are bitwise equal and flipping this cannot change any other caller's numbers.
    /// </summary>
    internal static bool ForceScalar { get; set; }

    /// <summary>
    /// C[m,n] = op(A)[m,k] · op(B)[k,n], added to C when <paramref name="accumulate"/>.
    /// op(A) is A[m,k] (lda ≥ k) or, when <paramref name="transA"/>, the transpose of A[k,m] (lda ≥ m); likewise B.
    /// </summary>
    public static void Multiply(
        bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
        Span<float> c, int ldc, bool accumulate, int threads = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(m);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        if (m == 0 || n == 0)
        {
            return;
        }

        CheckExtent(nameof(c), c.Length, m, n, ldc);
        if (k == 0)
        {
            if (!accumulate)
            {
                for (var i = 0; i < m; i++)
                {
                    c.Slice(i * ldc, n).Clear();
                }
            }

            return;
        }

        CheckExtent(nameof(a), a.Length, transA ? k : m, transA ? m : k, lda);
        CheckExtent(nameof(b), b.Length, transB ? n : k, transB ? k : n, ldb);

        fixed (float* pa = a, pb = b, pc = c)
        {
            Run(new Operands((nint)pa, lda, transA, (nint)pb, ldb, transB, (nint)pc, ldc), m, n, k, accumulate, threads);
        }
    }

    private static void CheckExtent(string name, int length, int rows, int cols, int ld)
    {
        if (ld < cols)
        {
            throw new ArgumentException($"Leading dimension {ld} is smaller than the {cols} columns of {name}.", name);
        }

        if ((long)(rows - 1) * ld + cols > length)
        {
            throw new ArgumentException($"{name} holds {length} elements; a {rows}×{cols} matrix with leading dimension {ld} needs {(long)(rows - 1) * ld + cols}.", name);
        }
    }

    private readonly record struct Operands(nint A, int Lda, bool TransA, nint B, int Ldb, bool TransB, nint C, int Ldc);

    private static void Run(Operands op, int m, int n, int k, bool accumulate, int threads)
    {
        var mBlocks = (m + Mc - 1) / Mc;
        for (var jc = 0; jc < n; jc += Nc)
        {
            var nc = Math.Min(Nc, n - jc);
            var strips = (nc + Nr - 1) / Nr;

            // Split the strips into groups so that small-M products still give every thread work.
            var groups = threads <= 1 ? 1 : Math.Clamp((threads * 3 + mBlocks - 1) / mBlocks, 1, strips);
            for (var pc = 0; pc < k; pc += Kc)
            {
                var kc = Math.Min(Kc, k - pc);
                var overwrite = !accumulate && pc == 0;
                var packB = RentPackB(strips * Nr * kc, threads);
                try
                {
                    fixed (float* bp = packB)
                    {
                        var bPtr = (nint)bp;
                        ParallelRunner.For(threads > 1 && strips >= 8 ? threads : 1, strips, s => PackB(op, (float*)bPtr, pc, kc, jc + s * Nr, Math.Min(Nr, nc - s * Nr), s));
                        ParallelRunner.For(threads, mBlocks * groups, task =>
                        {
                            var mb = task / groups;
                            var g = task % groups;
                            var i0 = mb * Mc;
                            var mc = Math.Min(Mc, m - i0);
                            var s0 = (int)((long)strips * g / groups);
                            var s1 = (int)((long)strips * (g + 1) / groups);
                            ComputeBlock(op, (float*)bPtr, i0, mc, pc, kc, jc, nc, s0, s1, overwrite);
                        });
                    }
                }
                finally
                {
                    ReturnPackB(packB, threads);
                }
            }
        }
    }

    // One shared B buffer for the single-threaded path; parallel callers (attention heads run
    // single-threaded GEMMs concurrently) get their own.
    private static float[] RentPackB(int size, int threads)
    {
        if (threads > 1)
        {
            lock (s_packBLock)
            {
                if (s_packB.Length >= size)
                {
                    var buffer = s_packB;
                    s_packB = [];
                    return buffer;
                }
            }

            return GC.AllocateUninitializedArray<float>(size, pinned: true);
        }

        var local = t_packBSingle;
        if (local is null || local.Length < size)
        {
            local = GC.AllocateUninitializedArray<float>(Math.Max(size, Nr * Kc * 64), pinned: true);
            t_packBSingle = local;
        }

        return local;
    }

    private static void ReturnPackB(float[] buffer, int threads)
    {
        if (threads > 1)
        {
            lock (s_packBLock)
            {
                if (buffer.Length > s_packB.Length)
                {
                    s_packB = buffer;
                }
            }
        }
    }

    private static void PackB(Operands op, float* dst, int p0, int kc, int j0, int cols, int strip)
    {
        var d = dst + (long)strip * Nr * kc;
        var b = (float*)op.B;
        if (!op.TransB)
        {
            for (var p = 0; p < kc; p++)
            {
                var src = b + (long)(p0 + p) * op.Ldb + j0;
                var row = d + p * Nr;
                if (cols == Nr)
                {
                    Unsafe.CopyBlockUnaligned(row, src, Nr * sizeof(float));
                }
                else
                {
                    for (var j = 0; j < Nr; j++)
                    {
                        row[j] = j < cols ? src[j] : 0f;
                    }
                }
            }
        }
        else
        {
            for (var j = 0; j < Nr; j++)
            {
                if (j < cols)
                {
                    var src = b + (long)(j0 + j) * op.Ldb + p0;
                    for (var p = 0; p < kc; p++)
                    {
                        d[p * Nr + j] = src[p];
                    }
                }
                else
                {
                    for (var p = 0; p < kc; p++)
                    {
                        d[p * Nr + j] = 0f;
                    }
                }
            }
        }
    }

    private static void PackA(Operands op, float* dst, int i0, int mc, int p0, int kc)
    {
        var a = (float*)op.A;
        for (var ir = 0; ir < mc; ir += Mr)
        {
            var rows = Math.Min(Mr, mc - ir);
            var d = dst + (long)(ir / Mr) * Mr * kc;
            if (!op.TransA)
            {
                for (var r = 0; r < Mr; r++)
                {
                    if (r < rows)
                    {
                        var src = a + (long)(i0 + ir + r) * op.Lda + p0;
                        for (var p = 0; p < kc; p++)
                        {
                            d[p * Mr + r] = src[p];
                        }
                    }
                    else
                    {
                        for (var p = 0; p < kc; p++)
                        {
                            d[p * Mr + r] = 0f;
                        }
                    }
                }
            }
            else
            {
                for (var p = 0; p < kc; p++)
                {
                    var src = a + (long)(p0 + p) * op.Lda + i0 + ir;
                    var row = d + p * Mr;
                    for (var r = 0; r < Mr; r++)
                    {
                        row[r] = r < rows ? src[r] : 0f;
                    }
                }
            }
        }
    }

    private static void ComputeBlock(Operands op, float* packB, int i0, int mc, int p0, int kc, int jc, int nc, int s0, int s1, bool overwrite)
    {
        var needed = ((Mc + Mr - 1) / Mr) * Mr * Kc;
        var packA = t_packA;
        if (packA is null || packA.Length < needed)
        {
            packA = GC.AllocateUninitializedArray<float>(needed, pinned: true);
            t_packA = packA;
        }

        fixed (float* pa = packA)
        {
            PackA(op, pa, i0, mc, p0, kc);
            var c = (float*)op.C;
            var useSimd = IsAccelerated && !ForceScalar;
            for (var s = s0; s < s1; s++)
            {
                var j = s * Nr;
                var cols = Math.Min(Nr, nc - j);
                var bPanel = packB + (long)s * Nr * kc;
                for (var ir = 0; ir < mc; ir += Mr)
                {
                    var rows = Math.Min(Mr, mc - ir);
                    var cTile = c + (long)(i0 + ir) * op.Ldc + jc + j;
                    var aPanel = pa + (long)(ir / Mr) * Mr * kc;
                    if (useSimd)
                    {
                        KernelAvx2(kc, aPanel, bPanel, cTile, op.Ldc, rows, cols, overwrite);
                    }
                    else
                    {
                        KernelScalar(kc, aPanel, bPanel, cTile, op.Ldc, rows, cols, overwrite);
                    }
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void KernelAvx2(int kc, float* a, float* b, float* c, int ldc, int rows, int cols, bool overwrite)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (var p = 0; p < kc; p++)
        {
            var b0 = Avx.LoadVector256(b);
            var b1 = Avx.LoadVector256(b + 8);
            var x = Avx.BroadcastScalarToVector256(a);
            c00 = Fma.MultiplyAdd(x, b0, c00);
            c01 = Fma.MultiplyAdd(x, b1, c01);
            x = Avx.BroadcastScalarToVector256(a + 1);
            c10 = Fma.MultiplyAdd(x, b0, c10);
            c11 = Fma.MultiplyAdd(x, b1, c11);
            x = Avx.BroadcastScalarToVector256(a + 2);
            c20 = Fma.MultiplyAdd(x, b0, c20);
            c21 = Fma.MultiplyAdd(x, b1, c21);
            x = Avx.BroadcastScalarToVector256(a + 3);
            c30 = Fma.MultiplyAdd(x, b0, c30);
            c31 = Fma.MultiplyAdd(x, b1, c31);
            x = Avx.BroadcastScalarToVector256(a + 4);
            c40 = Fma.MultiplyAdd(x, b0, c40);
            c41 = Fma.MultiplyAdd(x, b1, c41);
            x = Avx.BroadcastScalarToVector256(a + 5);
            c50 = Fma.MultiplyAdd(x, b0, c50);
            c51 = Fma.MultiplyAdd(x, b1, c51);
            a += Mr;
            b += Nr;
        }

        if (rows == Mr && cols == Nr)
        {
            StoreRow(c, c00, c01, overwrite);
            StoreRow(c + ldc, c10, c11, overwrite);
            StoreRow(c + 2 * ldc, c20, c21, overwrite);
            StoreRow(c + 3 * ldc, c30, c31, overwrite);
            StoreRow(c + 4 * ldc, c40, c41, overwrite);
            StoreRow(c + 5 * ldc, c50, c51, overwrite);
            return;
        }

        var tile = stackalloc float[Mr * Nr];
        Avx.Store(tile, c00);
        Avx.Store(tile + 8, c01);
        Avx.Store(tile + 16, c10);
        Avx.Store(tile + 24, c11);
        Avx.Store(tile + 32, c20);
        Avx.Store(tile + 40, c21);
        Avx.Store(tile + 48, c30);
        Avx.Store(tile + 56, c31);
        Avx.Store(tile + 64, c40);
        Avx.Store(tile + 72, c41);
        Avx.Store(tile + 80, c50);
        Avx.Store(tile + 88, c51);
        StoreEdge(tile, c, ldc, rows, cols, overwrite);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(float* c, Vector256<float> lo, Vector256<float> hi, bool overwrite)
    {
        if (!overwrite)
        {
            lo = Avx.Add(Avx.LoadVector256(c), lo);
            hi = Avx.Add(Avx.LoadVector256(c + 8), hi);
        }

        Avx.Store(c, lo);
        Avx.Store(c + 8, hi);
    }

    private static void StoreEdge(float* tile, float* c, int ldc, int rows, int cols, bool overwrite)
    {
        for (var r = 0; r < rows; r++)
        {
            var dst = c + (long)r * ldc;
            var src = tile + r * Nr;
            for (var j = 0; j < cols; j++)
            {
                dst[j] = overwrite ? src[j] : dst[j] + src[j];
            }
        }
    }

    private static void KernelScalar(int kc, float* a, float* b, float* c, int ldc, int rows, int cols, bool overwrite)
    {
        var tile = stackalloc float[Mr * Nr];
        new Span<float>(tile, Mr * Nr).Clear();
        for (var p = 0; p < kc; p++)
        {
            for (var r = 0; r < Mr; r++)
            {
                var x = a[r];
                var row = tile + r * Nr;
                for (var j = 0; j < Nr; j++)
                {
                    row[j] = MathF.FusedMultiplyAdd(x, b[j], row[j]);
                }
            }

            a += Mr;
            b += Nr;
        }

        StoreEdge(tile, c, ldc, rows, cols, overwrite);
    }
}
