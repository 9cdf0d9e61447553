using System.Diagnostics;

namespace Basis.Model.Sampling;

/// <summary>The parts of a sampling run that <see cref="DecodeProfile"/> times separately.</summary>
internal enum DecodeSection
{
    /// <summary>Products with the weights: the q/k/v/o, gate/up/down projections and the output head.</summary>
    Matrix,

    /// <summary>Attention over the KV cache, with the cache writes.</summary>
    Attention,

    /// <summary>The small row-wise ops: embedding look-up, RMSNorm, RoPE, SwiGLU.</summary>
    RowOps,

    /// <summary>Token selection: softmax, tempering, top-k/top-p ordering, the draw, the log-probabilities.</summary>
    Selection,
}

/// <summary>
/// Where a sampling run's wall-clock time went (the throughput bench prints it). Whatever the sections do not cover is
/// <see cref="OtherTicks"/>: bookkeeping, and on more than one thread the handoffs between the sections.
/// </summary>
/// <remarks>A section costs two timestamps (a few nanoseconds); without a profile the decoder takes none.</remarks>
internal sealed class DecodeProfile
{
    private readonly long[] _ticks = new long[Enum.GetValues<DecodeSection>().Length];

    /// <summary>Wall-clock ticks of the whole run.</summary>
    public long TotalTicks { get; set; }

    public long OtherTicks => TotalTicks - _ticks.Sum();

    public long this[DecodeSection section] => _ticks[(int)section];

    public static long Mark() => Stopwatch.GetTimestamp();

    /// <summary>Charges the time since <paramref name="mark"/> to <paramref name="section"/>; returns now, the next section's mark.</summary>
    public long Charge(DecodeSection section, long mark)
    {
        var now = Stopwatch.GetTimestamp();
        _ticks[(int)section] += now - mark;
        return now;
    }

    public static double Seconds(long ticks) => (double)ticks / Stopwatch.Frequency;
}
