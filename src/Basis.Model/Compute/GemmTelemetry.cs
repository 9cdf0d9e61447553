using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Basis.Model.Compute;

/// <summary>
/// The "Basis.Model" <see cref="Meter"/>: floating-point work and time spent in <see cref="Gemm.Multiply"/>, and the
/// GFLOP/s between two collections. A GEMM pays two timestamps and two atomic adds, and nothing at all while no
/// listener (e.g. OpenTelemetry) has enabled the instruments.
/// </summary>
public static class GemmTelemetry
{
    public const string MeterName = "Basis.Model";

    private static readonly Meter s_meter = new(MeterName);
    private static readonly ObservableCounter<long> s_flops;
    private static readonly Lock s_rateGate = new();
    private static long s_totalFlops;
    private static long s_totalTicks;
    private static long s_lastFlops;
    private static long s_lastTicks;

    static GemmTelemetry()
    {
        s_flops = s_meter.CreateObservableCounter("basis.gemm.flops", () => Volatile.Read(ref s_totalFlops), "{flop}", "Floating-point operations done by GEMM (2 m n k per product)");
        s_meter.CreateObservableCounter("basis.gemm.time", () => Stopwatch.GetElapsedTime(0, Volatile.Read(ref s_totalTicks)).TotalSeconds, "s", "Time spent inside GEMM, summed over calling threads");
        s_meter.CreateObservableGauge("basis.gemm.throughput", ObserveThroughput, "GFLOP/s", "GEMM GFLOP/s since the previous collection (work over time inside GEMM)");
    }

    /// <summary>Call before a product; returns 0 (and costs one branch) when nothing listens.</summary>
    public static long Start() => s_flops.Enabled ? Stopwatch.GetTimestamp() : 0;

    /// <summary>Call after a product started with <see cref="Start"/>.</summary>
    public static void Stop(long started, int m, int n, int k)
    {
        if (started == 0)
        {
            return;
        }

        long elapsed = Stopwatch.GetTimestamp() - started;
        Interlocked.Add(ref s_totalFlops, 2L * m * n * k);
        Interlocked.Add(ref s_totalTicks, elapsed);
    }

    private static IEnumerable<Measurement<double>> ObserveThroughput()
    {
        lock (s_rateGate)
        {
            long flops = Volatile.Read(ref s_totalFlops);
            long ticks = Volatile.Read(ref s_totalTicks);
            long dFlops = flops - s_lastFlops;
            long dTicks = ticks - s_lastTicks;
            s_lastFlops = flops;
            s_lastTicks = ticks;
            if (dTicks <= 0)
            {
                return [];
            }

            return [new Measurement<double>(dFlops / Stopwatch.GetElapsedTime(0, dTicks).TotalSeconds / 1e9)];
        }
    }
}
