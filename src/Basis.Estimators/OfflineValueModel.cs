namespace Basis.Estimators;

/// <summary>How the offline pass rate p0 and the temperature beta give a value.</summary>
public enum OfflineValueForm
{
    /// <summary>v = beta log(1 - p0 + p0 e^(1/beta)), computed as 1 + beta log(p0 + (1 - p0) e^(-1/beta)).</summary>
    SoftValue,

    /// <summary>v = p0 e^(1/beta) / (p0 e^(1/beta) + 1 - p0): the reference policy tilted by exp(r / beta); a shift of
    /// 1/beta in logit space.</summary>
    TiltedPassRate,
}

/// <summary>The offline value model and the beta grid it is calibrated on.</summary>
public static class OfflineValueModel
{
    public const int GridSize = 230;
    public const double GridMin = 0.01;
    public const double GridMax = 5.0;

    private static readonly double[] s_grid = BuildGrid();

    /// <summary>The 230 log-spaced betas over [0.01, 5], ascending.</summary>
    public static ReadOnlySpan<double> BetaGrid => s_grid;

    public static double Value(OfflineValueForm form, double passRate, double beta) =>
        Value(form, passRate, beta, Math.Exp(-1 / beta));

    /// <summary>As <see cref="Value(OfflineValueForm, double, double)"/> with e^(-1/beta) precomputed for a batch.</summary>
    internal static double Value(OfflineValueForm form, double passRate, double beta, double decay)
    {
        if (passRate <= 0)
        {
            return 0;
        }

        if (passRate >= 1)
        {
            return 1;
        }

        return form switch
        {
            OfflineValueForm.SoftValue => Math.Clamp(1 + beta * Math.Log(passRate + (1 - passRate) * decay), 0, 1),
            OfflineValueForm.TiltedPassRate => passRate / (passRate + (1 - passRate) * decay),
            _ => throw new ArgumentOutOfRangeException(nameof(form)),
        };
    }

    private static double[] BuildGrid()
    {
        var grid = new double[GridSize];
        double logMin = Math.Log(GridMin);
        double step = (Math.Log(GridMax) - logMin) / (GridSize - 1);
        for (int g = 0; g < GridSize; g++)
        {
            grid[g] = Math.Exp(logMin + g * step);
        }

        grid[0] = GridMin;
        grid[^1] = GridMax;
        return grid;
    }
}
