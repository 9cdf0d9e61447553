using BenchmarkDotNet.Attributes;
using Basis.Model.Compute;

namespace Basis.Model.Bench;

/// <summary>GEMM throughput; GFLOP/s = 2·M·N·K / mean time. Shapes are the medium model's projection, MLP and weight-gradient products.</summary>
[MemoryDiagnoser]
public class GemmBenchmarks
{
    private float[] _a = [];
    private float[] _b = [];
    private float[] _c = [];

    [Params("8192x256x256", "8192x704x256", "256x704x8192t")]
    public string Shape { get; set; } = "";

    [Params(1, 2)]
    public int Threads { get; set; }

    private (int M, int N, int K, bool TransA) Dims
    {
        get
        {
            var transA = Shape.EndsWith('t');
            var parts = Shape.TrimEnd('t').Split('x').Select(int.Parse).ToArray();
            return (parts[0], parts[1], parts[2], transA);
        }
    }

    [GlobalSetup]
    public void Setup()
    {
        var (m, n, k, _) = Dims;
        var rng = new Random(1);
        _a = [.. Enumerable.Range(0, m * k).Select(_ => (float)rng.NextDouble())];
        _b = [.. Enumerable.Range(0, k * n).Select(_ => (float)rng.NextDouble())];
        _c = new float[m * n];
        var seconds = Measure();
        Console.WriteLine($"// GFLOP/s {Shape} threads={Threads}: {2.0 * m * n * k / seconds / 1e9:F1}");
    }

    private double Measure()
    {
        Multiply();
        var sw = System.Diagnostics.Stopwatch.StartNew();
        const int reps = 5;
        for (var i = 0; i < reps; i++)
        {
            Multiply();
        }

        return sw.Elapsed.TotalSeconds / reps;
    }

    [Benchmark]
    public void Multiply()
    {
        var (m, n, k, transA) = Dims;
        Gemm.Multiply(transA, false, m, n, k, _a, transA ? m : k, _b, n, _c, n, accumulate: false, Threads);
    }
}
