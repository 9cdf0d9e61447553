using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Basis.Model.Compute;

/// <summary>
/// Single-precision matrix multiply C = op(A)·op(B) (+ C), row-major, with packed panels, a 6×16 register-blocked
/// AVX2/FMA micro-kernel and, where the CPU has AVX-512, a 12×32 one for the inner tiles (a portable scalar kernel
/// when AVX2/FMA is absent).
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

    // Room for the two lanes the last transposed 6-row store spills past a packed A block.
    private const int PackSlack = 8;

    [ThreadStatic]
    private static float[]? t_packA;

    [ThreadStatic]
    private static float[]? t_packBSingle;

    private static float[] s_packB = [];
    private static readonly Lock s_packBLock = new();

    /// <summary>True when the AVX2/FMA micro-kernel is in use.</summary>
    public static bool IsAccelerated => Fma.IsSupported && Avx2.IsSupported;

    /// <summary>
    /// True when a 12×32 AVX-512 micro-kernel computes the inner tiles (the AVX2 kernel does the edges); DOTNET_EnableAVX512F=0
    /// turns it off.
    /// </summary>
    public static bool IsAvx512 => IsAccelerated && Avx512F.IsSupported;

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

        long started = GemmTelemetry.Start();
        fixed (float* pa = a, pb = b, pc = c)
        {
            Run(new Operands((nint)pa, lda, transA, (nint)pb, ldb, transB, (nint)pc, ldc), m, n, k, accumulate, threads);
        }

        GemmTelemetry.Stop(started, m, n, k);
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Run(Operands op, int m, int n, int k, bool accumulate, int threads)
    {
        var mBlocks = (m + Mc - 1) / Mc;
        var direct = mBlocks == 1 && !op.TransB && n % Nr == 0 && IsAccelerated && !ForceScalar;
        for (var jc = 0; jc < n; jc += Nc)
        {
            var nc = Math.Min(Nc, n - jc);
            var strips = (nc + Nr - 1) / Nr;

            // Split the strips into groups so that small-M products still give every thread work.
            var groups = threads <= 1 ? 1 : Math.Clamp((threads * 3 + mBlocks - 1) / mBlocks, 1, (strips + 1) / 2);
            for (var pc = 0; pc < k; pc += Kc)
            {
                var kc = Math.Min(Kc, k - pc);
                var overwrite = !accumulate && pc == 0;
                if (direct)
                {
                    // Row-major B with whole 16-column strips is read in place: with one block of rows a packed copy
                    // would be used once, so copying it (the weights, at every decoding step) costs more than it saves.
                    var bBase = (float*)op.B + (long)pc * op.Ldb + jc;
                    if (threads <= 1)
                    {
                        ComputeBlock(op, bBase, Nr, op.Ldb, 0, m, pc, kc, jc, nc, 0, strips, overwrite);
                        continue;
                    }

                    var bAddress = (nint)bBase;
                    ParallelRunner.For(threads, groups, g => ComputeBlock(
                        op, (float*)bAddress, Nr, op.Ldb, 0, m, pc, kc, jc, nc, GroupStart(strips, g, groups), GroupStart(strips, g + 1, groups), overwrite));
                    continue;
                }

                var packB = RentPackB(strips * Nr * kc, threads);
                try
                {
                    fixed (float* bp = packB)
                    {
                        // The single-threaded path allocates nothing (no closures): attention and decoding make many small calls.
                        if (threads <= 1)
                        {
                            for (var s = 0; s < strips; s++)
                            {
                                PackB(op, bp, pc, kc, jc + s * Nr, Math.Min(Nr, nc - s * Nr), s);
                            }

                            for (var i0 = 0; i0 < m; i0 += Mc)
                            {
                                ComputeBlock(op, bp, (long)Nr * kc, Nr, i0, Math.Min(Mc, m - i0), pc, kc, jc, nc, 0, strips, overwrite);
                            }

                            continue;
                        }

                        var bPtr = (nint)bp;
                        ParallelRunner.For(threads > 1 && strips >= 8 ? threads : 1, strips, s => PackB(op, (float*)bPtr, pc, kc, jc + s * Nr, Math.Min(Nr, nc - s * Nr), s));
                        ParallelRunner.For(threads, mBlocks * groups, task =>
                        {
                            var mb = task / groups;
                            var g = task % groups;
                            var i0 = mb * Mc;
                            var mc = Math.Min(Mc, m - i0);
                            var s0 = GroupStart(strips, g, groups);
                            var s1 = GroupStart(strips, g + 1, groups);
                            ComputeBlock(op, (float*)bPtr, (long)Nr * kc, Nr, i0, mc, pc, kc, jc, nc, s0, s1, overwrite);
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

    /// <summary>
    /// The first strip of group g of <paramref name="groups"/>: groups hold whole pairs of strips, so the 12×32 kernel
    /// never has to leave a strip to the narrower one at a group's edge.
    /// </summary>
    private static int GroupStart(int strips, int g, int groups) => Math.Min(strips, 2 * (int)((long)((strips + 1) / 2) * g / groups));

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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
        else if (cols == Nr && Avx.IsSupported)
        {
            PackRowsTransposed(b + (long)j0 * op.Ldb + p0, op.Ldb, Nr, d, Nr, kc);
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

    /// <summary>
    /// Writes dst[p·stride + r] = src[r·ld + p] for r &lt; rows (6 or 16) and p &lt; kc, eight columns at a time with 8×8 AVX
    /// transposes. With 6 rows each 8-wide store spills two lanes into the next group, which the next store overwrites;
    /// the last spill lands in the buffer's slack.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackRowsTransposed(float* src, int ld, int rows, float* dst, int stride, int kc)
    {
        var p = 0;
        for (; p + 8 <= kc; p += 8)
        {
            for (var r0 = 0; r0 < rows; r0 += 8)
            {
                var s = src + (long)r0 * ld + p;
                var zero = Vector256<float>.Zero;
                var x0 = Avx.LoadVector256(s);
                var x1 = Avx.LoadVector256(s + ld);
                var x2 = Avx.LoadVector256(s + 2 * ld);
                var x3 = Avx.LoadVector256(s + 3 * ld);
                var x4 = Avx.LoadVector256(s + 4 * ld);
                var x5 = Avx.LoadVector256(s + 5 * ld);
                var x6 = rows - r0 > 6 ? Avx.LoadVector256(s + 6 * ld) : zero;
                var x7 = rows - r0 > 7 ? Avx.LoadVector256(s + 7 * ld) : zero;
                var t0 = Avx.UnpackLow(x0, x1);
                var t1 = Avx.UnpackHigh(x0, x1);
                var t2 = Avx.UnpackLow(x2, x3);
                var t3 = Avx.UnpackHigh(x2, x3);
                var t4 = Avx.UnpackLow(x4, x5);
                var t5 = Avx.UnpackHigh(x4, x5);
                var t6 = Avx.UnpackLow(x6, x7);
                var t7 = Avx.UnpackHigh(x6, x7);
                var u0 = Avx.Shuffle(t0, t2, 0x44);
                var u1 = Avx.Shuffle(t0, t2, 0xEE);
                var u2 = Avx.Shuffle(t1, t3, 0x44);
                var u3 = Avx.Shuffle(t1, t3, 0xEE);
                var u4 = Avx.Shuffle(t4, t6, 0x44);
                var u5 = Avx.Shuffle(t4, t6, 0xEE);
                var u6 = Avx.Shuffle(t5, t7, 0x44);
                var u7 = Avx.Shuffle(t5, t7, 0xEE);
                var d = dst + (long)p * stride + r0;
                Avx.Store(d, Avx.Permute2x128(u0, u4, 0x20));
                Avx.Store(d + stride, Avx.Permute2x128(u1, u5, 0x20));
                Avx.Store(d + 2 * stride, Avx.Permute2x128(u2, u6, 0x20));
                Avx.Store(d + 3 * stride, Avx.Permute2x128(u3, u7, 0x20));
                Avx.Store(d + 4 * stride, Avx.Permute2x128(u0, u4, 0x31));
                Avx.Store(d + 5 * stride, Avx.Permute2x128(u1, u5, 0x31));
                Avx.Store(d + 6 * stride, Avx.Permute2x128(u2, u6, 0x31));
                Avx.Store(d + 7 * stride, Avx.Permute2x128(u3, u7, 0x31));
            }
        }

        for (; p < kc; p++)
        {
            for (var r = 0; r < rows; r++)
            {
                dst[(long)p * stride + r] = src[(long)r * ld + p];
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackA(Operands op, float* dst, int i0, int mc, int p0, int kc)
    {
        var a = (float*)op.A;
        for (var ir = 0; ir < mc; ir += Mr)
        {
            var rows = Math.Min(Mr, mc - ir);
            var d = dst + (long)(ir / Mr) * Mr * kc;
            if (!op.TransA && rows == Mr && Avx.IsSupported)
            {
                PackRowsTransposed(a + (long)(i0 + ir) * op.Lda + p0, op.Lda, Mr, d, Mr, kc);
            }
            else if (!op.TransA)
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
            else if (rows == Mr && Avx.IsSupported)
            {
                for (var p = 0; p < kc; p++)
                {
                    var src = a + (long)(p0 + p) * op.Lda + i0 + ir;
                    var row = d + p * Mr;
                    Sse.Store(row, Sse.LoadVector128(src));
                    Sse2.StoreScalar((double*)(row + 4), Sse2.LoadScalarVector128((double*)(src + 4)));
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ComputeBlock(Operands op, float* bBase, long panelStride, int bStride, int i0, int mc, int p0, int kc, int jc, int nc, int s0, int s1, bool overwrite)
    {
        var needed = ((Mc + Mr - 1) / Mr) * Mr * Kc + PackSlack;
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
            if (useSimd && IsAvx512)
            {
                ComputeBlockAvx512(pa, bBase, panelStride, bStride, c + (long)i0 * op.Ldc + jc, op.Ldc, mc, kc, nc, s0, s1, overwrite);
                return;
            }

            for (var s = s0; s < s1; s++)
            {
                var j = s * Nr;
                var cols = Math.Min(Nr, nc - j);
                var bPanel = bBase + s * panelStride;
                for (var ir = 0; ir < mc; ir += Mr)
                {
                    var rows = Math.Min(Mr, mc - ir);
                    var cTile = c + (long)(i0 + ir) * op.Ldc + jc + j;
                    var aPanel = pa + (long)(ir / Mr) * Mr * kc;
                    if (useSimd)
                    {
                        KernelAvx2(kc, aPanel, bPanel, bStride, cTile, op.Ldc, rows, cols, overwrite);
                    }
                    else
                    {
                        KernelScalar(kc, aPanel, bPanel, cTile, op.Ldc, rows, cols, overwrite);
                    }
                }
            }
        }
    }

    // Pairs of 16-column strips and of 6-row panels make a 12×32 tile: 24 zmm accumulators, enough to keep both
    // FMA ports busy. Each element is still one FMA per k from zero in k order, so results equal the other kernels'.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ComputeBlockAvx512(float* packA, float* bBase, long panelStride, int bStride, float* c, int ldc, int mc, int kc, int nc, int s0, int s1, bool overwrite)
    {
        for (var s = s0; s < s1; s += 2)
        {
            var j = s * Nr;
            var bPanel = bBase + s * panelStride;
            if (s + 1 == s1)
            {
                var cols = Math.Min(Nr, nc - j);
                for (var ir = 0; ir < mc; ir += Mr)
                {
                    KernelAvx2(kc, packA + (long)(ir / Mr) * Mr * kc, bPanel, bStride, c + (long)ir * ldc + j, ldc, Math.Min(Mr, mc - ir), cols, overwrite);
                }

                continue;
            }

            var pairCols = Math.Min(2 * Nr, nc - j);

            // B read in place (weights at a decoding step) is usually not cached: while this pair of strips is computed,
            // the first tiles fetch the next pair's rows (32 floats span at most three cache lines), so the next tiles
            // do not stall on memory. Packed B is contiguous and left to the hardware prefetcher.
            var prefetchNext = panelStride == Nr && s + 3 < s1;
            var ir2 = 0;
            for (var tile = 0; ir2 + Mr < mc; ir2 += 2 * Mr, tile++)
            {
                var prefetch = prefetchNext && tile < 3 ? bBase + (s + 2) * Nr + Math.Min(tile * Nr, 2 * Nr - 1) : bPanel;
                KernelAvx512(kc, packA + (long)(ir2 / Mr) * Mr * kc, bPanel, bPanel + panelStride, bStride, prefetch, c + (long)ir2 * ldc + j, ldc, Math.Min(2 * Mr, mc - ir2), pairCols, overwrite);
            }

            if (ir2 < mc)
            {
                var aPanel = packA + (long)(ir2 / Mr) * Mr * kc;
                var rows = mc - ir2;
                KernelAvx2(kc, aPanel, bPanel, bStride, c + (long)ir2 * ldc + j, ldc, rows, Math.Min(Nr, pairCols), overwrite);
                if (pairCols > Nr)
                {
                    KernelAvx2(kc, aPanel, bPanel + panelStride, bStride, c + (long)ir2 * ldc + j + Nr, ldc, rows, pairCols - Nr, overwrite);
                }
            }
        }
    }

    /// <summary>
    /// A 12×32 tile from two consecutive 6-row A panels and two 16-column B panels (<paramref name="b"/>, <paramref name="b2"/>)
    /// whose rows are <paramref name="bStride"/> floats apart; touches one cache line per k at <paramref name="prefetch"/>
    /// + k·bStride.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void KernelAvx512(int kc, float* a, float* b, float* b2, int bStride, float* prefetch, float* c, int ldc, int rows, int cols, bool overwrite)
    {
        var a2 = a + Mr * kc;
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector512<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        Vector512<float> c60 = default, c61 = default, c70 = default, c71 = default, c80 = default, c81 = default;
        Vector512<float> c90 = default, c91 = default, ca0 = default, ca1 = default, cb0 = default, cb1 = default;
        for (var p = 0; p < kc; p++)
        {
            Sse.Prefetch0(prefetch);
            prefetch += bStride;
            var b0 = Avx512F.LoadVector512(b);
            var b1 = Avx512F.LoadVector512(b2);
            var x = Vector512.Create(a[0]);
            c00 = Avx512F.FusedMultiplyAdd(x, b0, c00);
            c01 = Avx512F.FusedMultiplyAdd(x, b1, c01);
            x = Vector512.Create(a[1]);
            c10 = Avx512F.FusedMultiplyAdd(x, b0, c10);
            c11 = Avx512F.FusedMultiplyAdd(x, b1, c11);
            x = Vector512.Create(a[2]);
            c20 = Avx512F.FusedMultiplyAdd(x, b0, c20);
            c21 = Avx512F.FusedMultiplyAdd(x, b1, c21);
            x = Vector512.Create(a[3]);
            c30 = Avx512F.FusedMultiplyAdd(x, b0, c30);
            c31 = Avx512F.FusedMultiplyAdd(x, b1, c31);
            x = Vector512.Create(a[4]);
            c40 = Avx512F.FusedMultiplyAdd(x, b0, c40);
            c41 = Avx512F.FusedMultiplyAdd(x, b1, c41);
            x = Vector512.Create(a[5]);
            c50 = Avx512F.FusedMultiplyAdd(x, b0, c50);
            c51 = Avx512F.FusedMultiplyAdd(x, b1, c51);
            x = Vector512.Create(a2[0]);
            c60 = Avx512F.FusedMultiplyAdd(x, b0, c60);
            c61 = Avx512F.FusedMultiplyAdd(x, b1, c61);
            x = Vector512.Create(a2[1]);
            c70 = Avx512F.FusedMultiplyAdd(x, b0, c70);
            c71 = Avx512F.FusedMultiplyAdd(x, b1, c71);
            x = Vector512.Create(a2[2]);
            c80 = Avx512F.FusedMultiplyAdd(x, b0, c80);
            c81 = Avx512F.FusedMultiplyAdd(x, b1, c81);
            x = Vector512.Create(a2[3]);
            c90 = Avx512F.FusedMultiplyAdd(x, b0, c90);
            c91 = Avx512F.FusedMultiplyAdd(x, b1, c91);
            x = Vector512.Create(a2[4]);
            ca0 = Avx512F.FusedMultiplyAdd(x, b0, ca0);
            ca1 = Avx512F.FusedMultiplyAdd(x, b1, ca1);
            x = Vector512.Create(a2[5]);
            cb0 = Avx512F.FusedMultiplyAdd(x, b0, cb0);
            cb1 = Avx512F.FusedMultiplyAdd(x, b1, cb1);
            a += Mr;
            a2 += Mr;
            b += bStride;
            b2 += bStride;
        }

        if (rows == 2 * Mr && cols == 2 * Nr)
        {
            StoreRow512(c, c00, c01, overwrite);
            StoreRow512(c + ldc, c10, c11, overwrite);
            StoreRow512(c + 2 * ldc, c20, c21, overwrite);
            StoreRow512(c + 3 * ldc, c30, c31, overwrite);
            StoreRow512(c + 4 * ldc, c40, c41, overwrite);
            StoreRow512(c + 5 * ldc, c50, c51, overwrite);
            StoreRow512(c + 6 * ldc, c60, c61, overwrite);
            StoreRow512(c + 7 * ldc, c70, c71, overwrite);
            StoreRow512(c + 8 * ldc, c80, c81, overwrite);
            StoreRow512(c + 9 * ldc, c90, c91, overwrite);
            StoreRow512(c + 10 * ldc, ca0, ca1, overwrite);
            StoreRow512(c + 11 * ldc, cb0, cb1, overwrite);
            return;
        }

        const int width = 2 * Nr;
        var tile = stackalloc float[2 * Mr * width];
        Avx512F.Store(tile, c00);
        Avx512F.Store(tile + 16, c01);
        Avx512F.Store(tile + 32, c10);
        Avx512F.Store(tile + 48, c11);
        Avx512F.Store(tile + 64, c20);
        Avx512F.Store(tile + 80, c21);
        Avx512F.Store(tile + 96, c30);
        Avx512F.Store(tile + 112, c31);
        Avx512F.Store(tile + 128, c40);
        Avx512F.Store(tile + 144, c41);
        Avx512F.Store(tile + 160, c50);
        Avx512F.Store(tile + 176, c51);
        Avx512F.Store(tile + 192, c60);
        Avx512F.Store(tile + 208, c61);
        Avx512F.Store(tile + 224, c70);
        Avx512F.Store(tile + 240, c71);
        Avx512F.Store(tile + 256, c80);
        Avx512F.Store(tile + 272, c81);
        Avx512F.Store(tile + 288, c90);
        Avx512F.Store(tile + 304, c91);
        Avx512F.Store(tile + 320, ca0);
        Avx512F.Store(tile + 336, ca1);
        Avx512F.Store(tile + 352, cb0);
        Avx512F.Store(tile + 368, cb1);
        StoreEdge(tile, width, c, ldc, rows, cols, overwrite);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow512(float* c, Vector512<float> lo, Vector512<float> hi, bool overwrite)
    {
        if (!overwrite)
        {
            lo = Avx512F.Add(Avx512F.LoadVector512(c), lo);
            hi = Avx512F.Add(Avx512F.LoadVector512(c + 16), hi);
        }

        Avx512F.Store(c, lo);
        Avx512F.Store(c + 16, hi);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void KernelAvx2(int kc, float* a, float* b, int bStride, float* c, int ldc, int rows, int cols, bool overwrite)
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
            b += bStride;
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
        StoreEdge(tile, Nr, c, ldc, rows, cols, overwrite);
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void StoreEdge(float* tile, int width, float* c, int ldc, int rows, int cols, bool overwrite)
    {
        for (var r = 0; r < rows; r++)
        {
            var dst = c + (long)r * ldc;
            var src = tile + r * width;
            for (var j = 0; j < cols; j++)
            {
                dst[j] = overwrite ? src[j] : dst[j] + src[j];
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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

        StoreEdge(tile, Nr, c, ldc, rows, cols, overwrite);
    }
}
