namespace Basis.Estimators;

/// <summary>Global whitening (mean / Bessel std, eps added to the std), in a fixed summation order.</summary>
internal static class Whitening
{
    public const double Epsilon = 1e-8;

    public static void Whiten(Span<double> values)
    {
        if (values.Length == 0)
        {
            return;
        }

        double sum = 0;
        foreach (double v in values)
        {
            sum += v;
        }

        double mean = sum / values.Length;
        double ss = 0;
        foreach (double v in values)
        {
            ss += (v - mean) * (v - mean);
        }

        double std = values.Length > 1 ? Math.Sqrt(ss / (values.Length - 1)) : 0;
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = (values[i] - mean) / (std + Epsilon);
        }
    }
}
