namespace Basis.Estimators;

/// <summary>How BASIS picks beta for a batch without letting r_i into b_i.</summary>
public enum BetaCalibration
{
    /// <summary>beta_-i minimises the squared error over the batch without rollout i.</summary>
    LeaveOneOut,

    /// <summary>The beta calibrated on the previous batch (InitialBeta at the first step).</summary>
    PreviousStep,

    /// <summary>Always InitialBeta.</summary>
    Fixed,
}

/// <summary>Baseline of a prompt whose value is within delta of 0 or 1.</summary>
public enum InactiveBaseline
{
    Zero,
    OwnValue,
}

/// <summary>Configuration of <see cref="BasisEstimator"/>.</summary>
public sealed record BasisOptions
{
    /// <summary>
    /// The project's BASIS: tilted pass rate on an empirical-Bayes-smoothed offline table, previous-step beta, each
    /// prompt's own past rewards folded into its value (half-life 32 steps or 4 revisits, whichever is longer; offline
    /// model worth 8 rollouts), then
    /// BLUE across the batch, clipped to [0, 1]. Fixed in code; every scenario and `basis train` use it.
    /// </summary>
    public static BasisOptions Default { get; } = new();

    /// <summary>The spec as written: raw k/N, leave-one-out beta, no history, BLUE (inactive prompts keep their own v,
    /// the spec's optional fallback; a zero baseline for a prompt at v = 1 would cost an error of 1).</summary>
    public static BasisOptions SpecAsWritten { get; } = new()
    {
        SmoothOffline = false,
        Calibration = BetaCalibration.LeaveOneOut,
        UseHistory = false,
    };

    public OfflineValueForm Form { get; init; } = OfflineValueForm.TiltedPassRate;

    public BetaCalibration Calibration { get; init; } = BetaCalibration.PreviousStep;

    /// <summary>Beta before any calibration (and for <see cref="BetaCalibration.Fixed"/>); the grid's top, where
    /// the values are closest to the reference policy's.</summary>
    public double InitialBeta { get; init; } = OfflineValueModel.GridMax;

    /// <summary>Smooth k/N with a Beta prior fitted to the batch's offline counts (method of moments).</summary>
    public bool SmoothOffline { get; init; } = true;

    /// <summary>Active set: values within delta of 0 or 1 leave it.</summary>
    public double Delta { get; init; } = 1e-3;

    public InactiveBaseline Inactive { get; init; } = InactiveBaseline.OwnValue;

    /// <summary>Fold each prompt's own past rewards (residuals against the offline model) into its value.</summary>
    public bool UseHistory { get; init; } = true;

    /// <summary>A past reward of age a steps weighs 2^(-a / h), h = max(HistoryHalfLife, HistoryHalfLifeRevisits x the
    /// mean revisit interval seen so far): a prompt that comes back every 60 steps keeps its history over a few
    /// visits instead of forgetting it between any two.</summary>
    public double HistoryHalfLife { get; init; } = 32;

    /// <summary>The history half-life's floor in revisits of a prompt (0 = steps only).</summary>
    public double HistoryHalfLifeRevisits { get; init; } = 4;

    /// <summary>Weight of the offline model's value against the prompt's own history, in rollouts.</summary>
    public double PriorStrength { get; init; } = 8;

    /// <summary>BLUE across the batch; false reports the initial value v as the baseline (basis-initial).</summary>
    public bool Refine { get; init; } = true;

    public bool Clip { get; init; } = true;

    public bool Whiten { get; init; }

    internal void Validate()
    {
        if (!(InitialBeta > 0) || !double.IsFinite(InitialBeta))
        {
            throw new ArgumentException("BASIS InitialBeta must be a positive finite number.");
        }

        if (!(Delta >= 0 && Delta < 0.5))
        {
            throw new ArgumentException("BASIS Delta must lie in [0, 0.5).");
        }

        if (!(HistoryHalfLife > 0) || !(PriorStrength > 0) || !(HistoryHalfLifeRevisits >= 0) || !double.IsFinite(HistoryHalfLifeRevisits))
        {
            throw new ArgumentException("BASIS history needs a positive half-life and prior strength.");
        }
    }

    public string Describe() =>
        $"form={Form}, calibration={Calibration}, initial_beta={InitialBeta:G4}, grid={OfflineValueModel.GridSize} log-spaced in [{OfflineValueModel.GridMin}, {OfflineValueModel.GridMax}], " +
        $"smooth_offline={SmoothOffline}, delta={Delta:G3}, inactive={Inactive}, history={UseHistory} (half_life=max({HistoryHalfLife:G4} steps, {HistoryHalfLifeRevisits:G4} revisits), prior_strength={PriorStrength:G4}), " +
        $"refine={(Refine ? "BLUE" : "none")}, clip={Clip}, whiten={Whiten}";
}
