namespace Basis.Estimators.Simulation;

/// <summary>Value-estimate error measures shared by the synthetic benchmark and real-policy evaluation.</summary>
public static class ValueMse
{
    /// <summary>Mean squared error against exactly known values.</summary>
    public static double Exact(ReadOnlySpan<double> estimates, ReadOnlySpan<double> trueValues)
    {
        CheckLengths(estimates, trueValues);
        double sum = 0;
        for (int i = 0; i < estimates.Length; i++)
        {
            double d = estimates[i] - trueValues[i];
            sum += d * d;
        }

        return sum / estimates.Length;
    }

    /// <summary>
    /// MSE against Monte-Carlo values from M rollouts per prompt with the Monte-Carlo noise removed:
    /// mean (V_hat - V_MC)^2 - mean V_MC (1 - V_MC) / (M - 1). Unbiased for Bernoulli rewards because
    /// E[V_MC (1 - V_MC)] = V (1 - V)(1 - 1/M), so V_MC (1 - V_MC)/(M - 1) estimates Var(V_MC) = V (1 - V)/M.
    /// </summary>
    public static double MonteCarloCorrected(ReadOnlySpan<double> estimates, ReadOnlySpan<double> monteCarloValues, int rolloutsPerValue)
    {
        CheckLengths(estimates, monteCarloValues);
        ArgumentOutOfRangeException.ThrowIfLessThan(rolloutsPerValue, 2);
        double squared = 0;
        double noise = 0;
        for (int i = 0; i < estimates.Length; i++)
        {
            double d = estimates[i] - monteCarloValues[i];
            squared += d * d;
            noise += monteCarloValues[i] * (1 - monteCarloValues[i]);
        }

        return squared / estimates.Length - noise / estimates.Length / (rolloutsPerValue - 1);
    }

    private static void CheckLengths(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        if (a.Length != b.Length || a.Length == 0)
        {
            throw new ArgumentException($"Need equally many estimates and values, at least one (got {a.Length} and {b.Length}).");
        }
    }
}

/// <summary>Mean with a Student-t 95% interval over independent replicates (seeds).</summary>
public readonly record struct Interval(double Mean, double Low, double High)
{
    public static Interval Of(ReadOnlySpan<double> samples)
    {
        int n = samples.Length;
        if (n == 0)
        {
            return new Interval(double.NaN, double.NaN, double.NaN);
        }

        double sum = 0;
        foreach (double s in samples)
        {
            sum += s;
        }

        double mean = sum / n;
        if (n == 1)
        {
            return new Interval(mean, double.NaN, double.NaN);
        }

        double ss = 0;
        foreach (double s in samples)
        {
            ss += (s - mean) * (s - mean);
        }

        double half = StudentT975(n - 1) * Math.Sqrt(ss / (n - 1) / n);
        return new Interval(mean, mean - half, mean + half);
    }

    /// <summary>97.5% quantile of Student's t: exact for 1 and 2 degrees of freedom, Cornish-Fisher expansion beyond
    /// (error below 1e-3 from 3 on).</summary>
    internal static double StudentT975(int degrees)
    {
        switch (degrees)
        {
            case 1:
                return 12.706204736;
            case 2:
                return 4.302652730;
        }

        const double z = 1.959963985;
        double v = degrees;
        double z3 = z * z * z;
        double z5 = z3 * z * z;
        double z7 = z5 * z * z;
        return z + (z3 + z) / (4 * v) + (5 * z5 + 16 * z3 + 3 * z) / (96 * v * v) + (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * v * v * v);
    }
}
