namespace Basis.Estimators;

/// <summary>
/// Picks beta on the grid by minimising sum_i (r_i - v_beta(p_i))^2. Rollouts are pooled by distinct pass rate, so the
/// cost is O(B + C G) for C distinct pass rates and G grid points (C is at most N + 1 for an N-sample table).
/// </summary>
internal sealed class BetaCalibrator
{
    private readonly double[] _rewards;
    private readonly int[] _classOf;
    private readonly int _classes;

    // _values[c * G + g] = v_beta_g(p_c); _terms[c * G + g] = class c's squared error at beta_g.
    private readonly double[] _values;
    private readonly double[] _terms;

    private BetaCalibrator(double[] rewards, int[] classOf, int classes, double[] values, double[] terms)
    {
        _rewards = rewards;
        _classOf = classOf;
        _classes = classes;
        _values = values;
        _terms = terms;
    }

    public static BetaCalibrator Create(double[] passRates, double[] rewards, OfflineValueForm form)
    {
        int n = passRates.Length;
        int gridSize = OfflineValueModel.GridSize;
        var classIndex = new Dictionary<double, int>();
        var classOf = new int[n];
        var rates = new List<double>();
        for (int i = 0; i < n; i++)
        {
            if (!classIndex.TryGetValue(passRates[i], out int c))
            {
                c = rates.Count;
                classIndex.Add(passRates[i], c);
                rates.Add(passRates[i]);
            }

            classOf[i] = c;
        }

        int classes = rates.Count;
        var count = new double[classes];
        var sum = new double[classes];
        var sumSquares = new double[classes];
        for (int i = 0; i < n; i++)
        {
            int c = classOf[i];
            count[c]++;
            sum[c] += rewards[i];
            sumSquares[c] += rewards[i] * rewards[i];
        }

        ReadOnlySpan<double> grid = OfflineValueModel.BetaGrid;
        var values = new double[classes * gridSize];
        var terms = new double[classes * gridSize];
        for (int c = 0; c < classes; c++)
        {
            for (int g = 0; g < gridSize; g++)
            {
                double v = OfflineValueModel.Value(form, rates[c], grid[g]);
                values[c * gridSize + g] = v;
                terms[c * gridSize + g] = sumSquares[c] - 2 * v * sum[c] + count[c] * v * v;
            }
        }

        return new BetaCalibrator(rewards, classOf, classes, values, terms);
    }

    public double FullBatchBeta()
    {
        int gridSize = OfflineValueModel.GridSize;
        var total = new double[gridSize];
        for (int c = 0; c < _classes; c++)
        {
            for (int g = 0; g < gridSize; g++)
            {
                total[g] += _terms[c * gridSize + g];
            }
        }

        return OfflineValueModel.BetaGrid[ArgMin(total)];
    }

    /// <summary>
    /// beta_-i for every rollout. The error without rollout i is (other classes) + (its class without i); both parts
    /// are built from prefix/suffix sums that never read r_i, so beta_-i is bit-identical whatever r_i is.
    /// </summary>
    public void LeaveOneOutBetas(double[] betas)
    {
        int n = _rewards.Length;
        int gridSize = OfflineValueModel.GridSize;
        ReadOnlySpan<double> grid = OfflineValueModel.BetaGrid;

        // otherClasses[c * G + g] = sum of the terms of every class except c.
        var otherClasses = new double[_classes * gridSize];
        var running = new double[gridSize];
        for (int c = 0; c < _classes; c++)
        {
            Array.Copy(running, 0, otherClasses, c * gridSize, gridSize);
            for (int g = 0; g < gridSize; g++)
            {
                running[g] += _terms[c * gridSize + g];
            }
        }

        Array.Clear(running);
        for (int c = _classes - 1; c >= 0; c--)
        {
            for (int g = 0; g < gridSize; g++)
            {
                otherClasses[c * gridSize + g] += running[g];
                running[g] += _terms[c * gridSize + g];
            }
        }

        // Within-class leave-one-out sums of r and r^2 (prefix/suffix over the class's members in batch order).
        var members = new List<int>[_classes];
        for (int i = 0; i < n; i++)
        {
            (members[_classOf[i]] ??= []).Add(i);
        }

        var sumWithout = new double[n];
        var squaresWithout = new double[n];
        foreach (List<int> list in members)
        {
            var r = new double[list.Count];
            var r2 = new double[list.Count];
            for (int a = 0; a < list.Count; a++)
            {
                r[a] = _rewards[list[a]];
                r2[a] = r[a] * r[a];
            }

            double[] s = LeaveOneOut.Sums(r);
            double[] s2 = LeaveOneOut.Sums(r2);
            for (int a = 0; a < list.Count; a++)
            {
                sumWithout[list[a]] = s[a];
                squaresWithout[list[a]] = s2[a];
            }
        }

        var loss = new double[gridSize];
        for (int i = 0; i < n; i++)
        {
            int c = _classOf[i];
            double others = members[c].Count - 1;
            for (int g = 0; g < gridSize; g++)
            {
                double v = _values[c * gridSize + g];
                loss[g] = otherClasses[c * gridSize + g] + (squaresWithout[i] - 2 * v * sumWithout[i] + others * v * v);
            }

            betas[i] = grid[ArgMin(loss)];
        }
    }

    private static int ArgMin(ReadOnlySpan<double> values)
    {
        int best = 0;
        for (int g = 1; g < values.Length; g++)
        {
            if (values[g] < values[best])
            {
                best = g;
            }
        }

        return best;
    }
}
