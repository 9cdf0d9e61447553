namespace Basis.Cli.Evaluation;

/// <summary>The unbiased pass@k estimator of Chen et al. (2021) from n samples per problem.</summary>
public static class PassAtK
{
    /// <summary>
    /// 1 - C(n - c, k) / C(n, k): the chance that k of the n samples, drawn without replacement, include a correct one.
    /// Computed as a product so large n never overflows.
    /// </summary>
    public static double Estimate(int n, int c, int k)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(c);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(c, n);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(k, n);
        if (n - c < k)
        {
            return 1.0;
        }

        // C(n - c, k) / C(n, k) = prod_{i = n - c + 1}^{n} (1 - k / i).
        double allWrong = 1.0;
        for (int i = n - c + 1; i <= n; i++)
        {
            allWrong *= 1.0 - ((double)k / i);
        }

        return 1.0 - allWrong;
    }

    /// <summary>The mean over problems and its standard error (sample standard deviation over sqrt of the count).</summary>
    public static (double Mean, double StandardError) Mean(IReadOnlyList<double> perProblem)
    {
        int count = perProblem.Count;
        if (count == 0)
        {
            return (double.NaN, double.NaN);
        }

        double mean = perProblem.Average();
        if (count == 1)
        {
            return (mean, double.NaN);
        }

        double ss = perProblem.Sum(x => (x - mean) * (x - mean));
        return (mean, Math.Sqrt(ss / (count - 1) / count));
    }
}
