namespace Basis.Estimators.Simulation;

/// <summary>xoshiro256** seeded by SplitMix64: fixed algorithm, so a seed gives the same stream on every runtime.</summary>
public sealed class SimulationRandom
{
    private ulong _s0;
    private ulong _s1;
    private ulong _s2;
    private ulong _s3;
    private double? _spareNormal;

    public SimulationRandom(ulong seed)
    {
        ulong x = seed;
        _s0 = SplitMix(ref x);
        _s1 = SplitMix(ref x);
        _s2 = SplitMix(ref x);
        _s3 = SplitMix(ref x);
    }

    /// <summary>An independent stream for a labelled purpose (e.g. fresh rollouts at a checkpoint).</summary>
    public static SimulationRandom Derive(ulong seed, ulong stream, ulong index) =>
        new(seed * 0x9E3779B97F4A7C15UL ^ (stream + 1) * 0xBF58476D1CE4E5B9UL ^ (index + 1) * 0x94D049BB133111EBUL);

    public ulong NextUInt64()
    {
        ulong result = RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    public int NextInt(int exclusiveMax) => (int)(NextDouble() * exclusiveMax);

    public bool Bernoulli(double p) => NextDouble() < p;

    public double Normal()
    {
        if (_spareNormal is double spare)
        {
            _spareNormal = null;
            return spare;
        }

        double u1 = 1 - NextDouble();
        double u2 = NextDouble();
        double radius = Math.Sqrt(-2 * Math.Log(u1));
        _spareNormal = radius * Math.Sin(2 * Math.PI * u2);
        return radius * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>Marsaglia-Tsang; shape &lt; 1 via the U^(1/shape) boost.</summary>
    public double Gamma(double shape)
    {
        if (shape < 1)
        {
            return Gamma(shape + 1) * Math.Pow(1 - NextDouble(), 1 / shape);
        }

        double d = shape - 1.0 / 3;
        double c = 1 / Math.Sqrt(9 * d);
        while (true)
        {
            double x = Normal();
            double v = 1 + c * x;
            if (v <= 0)
            {
                continue;
            }

            v = v * v * v;
            double u = 1 - NextDouble();
            if (Math.Log(u) < 0.5 * x * x + d - d * v + d * Math.Log(v))
            {
                return d * v;
            }
        }
    }

    public double Beta(double alpha, double beta)
    {
        double x = Gamma(alpha);
        double y = Gamma(beta);
        return x / (x + y);
    }

    public int Binomial(int trials, double p)
    {
        int successes = 0;
        for (int i = 0; i < trials; i++)
        {
            successes += Bernoulli(p) ? 1 : 0;
        }

        return successes;
    }

    public void Shuffle(int[] values)
    {
        for (int i = values.Length - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (values[i], values[j]) = (values[j], values[i]);
        }
    }

    private static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private static ulong RotateLeft(ulong x, int k) => (x << k) | (x >> (64 - k));
}
