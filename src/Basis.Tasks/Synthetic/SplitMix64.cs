namespace Basis.Tasks.Synthetic;

/// <summary>
/// A tiny, fully specified PRNG (SplitMix64) so a seed yields the same task set on every runtime version,
/// which System.Random does not promise.
/// </summary>
internal struct SplitMix64
{
    private ulong _state;

    public SplitMix64(ulong seed) => _state = seed;

    public ulong NextUInt64()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [min, max] inclusive, without modulo bias.</summary>
    public long NextInclusive(long min, long max)
    {
        ulong range = (ulong)(max - min) + 1;
        ulong limit = ulong.MaxValue - (ulong.MaxValue % range);
        ulong draw;
        do
        {
            draw = NextUInt64();
        }
        while (draw >= limit);

        return min + (long)(draw % range);
    }

    /// <summary>Derives an independent stream seed from a seed and a stream number.</summary>
    public static ulong Derive(ulong seed, ulong stream)
    {
        var mix = new SplitMix64(seed ^ (stream * 0xD1B54A32D192ED03UL));
        return mix.NextUInt64();
    }
}
