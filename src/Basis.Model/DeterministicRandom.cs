namespace Basis.Model;

/// <summary>A small seeded generator (SplitMix64) whose stream is fixed across runtimes and platforms.</summary>
public sealed class DeterministicRandom(ulong seed)
{
    private ulong _state = seed;

    public ulong NextUInt64()
    {
        var z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    public double NextGaussian()
    {
        var u1 = 1.0 - NextDouble();
        var u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>Derives an independent seed for stream <paramref name="index"/> of <paramref name="seed"/>.</summary>
    public static ulong DeriveSeed(ulong seed, ulong index) => new DeterministicRandom(seed ^ (index * 0xD1B54A32D192ED03UL + 0x632BE59BD9B4E019UL)).NextUInt64();
}
