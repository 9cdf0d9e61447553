using System.Globalization;

namespace Basis.Estimators;

/// <summary>Builds estimators from spec strings such as "basis", "grpo:8" or "rloo:4".</summary>
public static class EstimatorCatalog
{
    /// <summary>Every accepted spec; ":G" sets the rollouts per prompt (default shown).</summary>
    public static IReadOnlyList<string> KnownSpecs { get; } =
    [
        "basis", "basis-initial", "basis-spec", "basis-whiten", "reinforce", "reinforce++", "grpo:8", "drgrpo:8", "rloo:8", "gpg:8", "kae[:G]", "ebpo:8",
    ];

    private const int DefaultGroupSize = 8;

    /// <exception cref="ArgumentException">Unknown name or bad group size; the message lists the known specs.</exception>
    public static IAdvantageEstimator Create(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        string trimmed = spec.Trim();
        int colon = trimmed.IndexOf(':');
        string name = (colon < 0 ? trimmed : trimmed[..colon]).ToLowerInvariant();
        int? group = null;
        if (colon >= 0)
        {
            if (!int.TryParse(trimmed[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out int g) || g < 1)
            {
                throw new ArgumentException($"Estimator spec '{spec}': the group size after ':' must be a positive integer.", nameof(spec));
            }

            group = g;
        }

        IAdvantageEstimator? estimator = name switch
        {
            "basis" => new BasisEstimator(BasisOptions.Default, "basis"),
            "basis-initial" => new BasisEstimator(BasisOptions.Default with { Refine = false }, "basis-initial"),
            "basis-spec" => new BasisEstimator(BasisOptions.SpecAsWritten, "basis-spec"),
            "basis-whiten" => new BasisEstimator(BasisOptions.Default with { Whiten = true }, "basis-whiten"),
            "reinforce" => new ReinforceEstimator(),
            "reinforce++" => new ReinforcePlusPlusEstimator(),
            "grpo" => new GrpoEstimator(group ?? DefaultGroupSize),
            "drgrpo" or "dr.grpo" => new DrGrpoEstimator(group ?? DefaultGroupSize),
            "rloo" => new RlooEstimator(group ?? DefaultGroupSize),
            "gpg" => new GpgEstimator(group ?? DefaultGroupSize),
            "kae" => new KaeEstimator(group ?? 1),
            "ebpo" => new EbpoEstimator(group ?? DefaultGroupSize),
            _ => null,
        };

        if (estimator is null)
        {
            throw new ArgumentException($"Unknown estimator '{spec}'. Known: {string.Join(", ", KnownSpecs)}.", nameof(spec));
        }

        if (group is int requested && estimator.RolloutsPerPrompt != requested)
        {
            throw new ArgumentException($"Estimator '{name}' uses one rollout per prompt; drop ':{requested}'.", nameof(spec));
        }

        return estimator;
    }

    internal static int CheckGroupSize(int rolloutsPerPrompt)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rolloutsPerPrompt, 1);
        return rolloutsPerPrompt;
    }
}
