namespace Basis.Training.Schedule;

/// <summary>
/// SplitMix64: a tiny generator whose whole state is one ulong, so schedules and per-rollout
/// sampling seeds derive from (run seed, step, slot) without carrying generator objects around.
/// </summary>
public struct SeededRandom
{
    private ulong _state;

    public SeededRandom(ulong seed)
    {
        _state = seed;
    }

    public ulong State => _state;

    /// <summary>Derives an independent seed from a parent seed and a coordinate.</summary>
    public static ulong Mix(ulong seed, ulong coordinate)
    {
        var random = new SeededRandom(seed ^ (coordinate * 0xD1B54A32D192ED03UL));
        random.NextUInt64();
        return random.NextUInt64();
    }

    public static ulong Mix(ulong seed, ulong a, ulong b) => Mix(Mix(seed, a), b);

    public ulong NextUInt64()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, bound), without modulo bias worth caring about for bound below 2^32.</summary>
    public int NextInt(int bound)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bound);
        return (int)((NextUInt64() >> 32) * (ulong)bound >> 32);
    }

    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));
}
