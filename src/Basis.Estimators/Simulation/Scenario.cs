namespace Basis.Estimators.Simulation;

/// <summary>One component of the Beta mixture the reference pass rates p0 are drawn from.</summary>
public sealed record DifficultyComponent(double Weight, double Alpha, double Beta);

/// <summary>How the policy's true values move away from p0 over training steps.</summary>
public abstract record ImprovementModel
{
    /// <summary>True value V_t(x) for a prompt with reference pass rate p0, rate and noise drawn once per prompt.</summary>
    public abstract double Value(double p0, double rate, double noise, long step);
}

/// <summary>logit V_t = logit p0 + t rate(x) + e(x); rate = mean_rate exp(spread z - spread^2/2), e ~ N(0, noise^2).</summary>
public sealed record LogitShiftImprovement(double MeanRate = 0.006, double RateSpread = 0.5, double Noise = 0.1) : ImprovementModel
{
    public override double Value(double p0, double rate, double noise, long step)
    {
        double logit = Math.Log(p0) - Math.Log(1 - p0) + step * rate + noise;
        return 1 / (1 + Math.Exp(-logit));
    }
}

/// <summary>V_t = p0 e^(1/beta_t) / (p0 e^(1/beta_t) + 1 - p0), beta_t = end + (start - end) e^(-t / tau).</summary>
public sealed record TiltImprovement(double BetaStart = 5, double BetaEnd = 0.4, double Tau = 25) : ImprovementModel
{
    public double BetaAt(long step) => BetaEnd + (BetaStart - BetaEnd) * Math.Exp(-step / Tau);

    public override double Value(double p0, double rate, double noise, long step) =>
        OfflineValueModel.Value(OfflineValueForm.TiltedPassRate, p0, BetaAt(step));
}

/// <summary>A synthetic training run whose true values are known exactly. Every field has a documented default.</summary>
public sealed record Scenario
{
    public static Scenario Default { get; } = new();

    public int Prompts { get; init; } = 2000;

    public int BatchSize { get; init; } = 256;

    /// <summary>Samples per prompt in the offline table (N).</summary>
    public int OfflineSamples { get; init; } = 8;

    public IReadOnlyList<long> Checkpoints { get; init; } = [0, 50, 100, 150, 200];

    public IReadOnlyList<int> Seeds { get; init; } = Enumerable.Range(1, 16).ToArray();

    public IReadOnlyList<DifficultyComponent> Difficulty { get; init; } =
    [
        new(0.6, 0.5, 1.5),
        new(0.4, 3, 1.5),
    ];

    public ImprovementModel Improvement { get; init; } = new LogitShiftImprovement();
}
