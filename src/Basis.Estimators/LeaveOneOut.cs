namespace Basis.Estimators;

/// <summary>
/// Leave-one-out sums from prefix and suffix sums: sum_{j != i} x_j = P_i + Q_i where P_i sums j &lt; i and Q_i sums
/// j &gt; i. Neither touches x_i, so the result is bit-identical whatever x_i is (a total minus x_i would not be).
/// </summary>
internal static class LeaveOneOut
{
    public static double[] Sums(ReadOnlySpan<double> values)
    {
        int n = values.Length;
        var result = new double[n];
        double prefix = 0;
        for (int i = 0; i < n; i++)
        {
            result[i] = prefix;
            prefix += values[i];
        }

        double suffix = 0;
        for (int i = n - 1; i >= 0; i--)
        {
            result[i] += suffix;
            suffix += values[i];
        }

        return result;
    }
}
