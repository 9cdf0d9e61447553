namespace Basis.Estimators;

/// <summary>A Beta(alpha, beta) prior over offline pass rates, used to smooth k/N (so 0/8 is not a certain 0).</summary>
public readonly record struct BetaPrior(double Alpha, double Beta)
{
    /// <summary>Jeffreys prior; the fallback when a moment fit is impossible.</summary>
    public static BetaPrior Jeffreys => new(0.5, 0.5);

    public double Mean => Alpha / (Alpha + Beta);

    public double Smooth(OfflineCounts counts) => (counts.Successes + Alpha) / (counts.Samples + Alpha + Beta);

    /// <summary>
    /// Method-of-moments fit of a beta-binomial: with p̂ = k/N, Var(p̂) = mu(1 - mu)/N (1 + (N - 1) rho) and
    /// alpha + beta = 1/rho - 1. Falls back to Jeffreys when there are fewer than 4 counts, N &lt; 2, or the
    /// moments are outside the beta-binomial range.
    /// </summary>
    public static BetaPrior FitMoments(ReadOnlySpan<OfflineCounts> counts)
    {
        int m = 0;
        double sumRate = 0;
        double sumSamples = 0;
        foreach (OfflineCounts c in counts)
        {
            if (c.Samples > 0)
            {
                m++;
                sumRate += (double)c.Successes / c.Samples;
                sumSamples += c.Samples;
            }
        }

        if (m < 4)
        {
            return Jeffreys;
        }

        double mean = sumRate / m;
        double n = sumSamples / m;
        double ss = 0;
        foreach (OfflineCounts c in counts)
        {
            if (c.Samples > 0)
            {
                double d = (double)c.Successes / c.Samples - mean;
                ss += d * d;
            }
        }

        double variance = ss / (m - 1);
        double bernoulli = mean * (1 - mean);
        if (n < 2 || bernoulli <= 0)
        {
            return Jeffreys;
        }

        double rho = (variance * n / bernoulli - 1) / (n - 1);
        if (!(rho > 0 && rho < 1))
        {
            return Jeffreys;
        }

        // Keep the prior weak enough that N offline samples always dominate it.
        double strength = Math.Min(1 / rho - 1, n);
        strength = Math.Max(strength, 0.2);
        return new BetaPrior(mean * strength, (1 - mean) * strength);
    }
}
