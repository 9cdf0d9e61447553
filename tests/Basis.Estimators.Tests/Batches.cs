using FsCheck;
using FsCheck.Fluent;

namespace Basis.Estimators.Tests;

/// <summary>Generators and builders for rollout batches.</summary>
internal static class Batches
{
    /// <summary>One rollout: offline counts out of 8 (0 and 8 included), binary or fractional reward.</summary>
    public static Gen<ScoredRollout> Rollout { get; } =
        from successes in Gen.Choose(0, 8)
        from binary in Gen.Elements(true, true, false)
        from reward100 in Gen.Choose(0, 100)
        select new ScoredRollout("", 0, binary ? (reward100 >= 50 ? 1 : 0) : reward100 / 100.0, Offline: new OfflineCounts(successes, 8));

    /// <summary>Batches of n rollouts over between n/3 and n prompts, so some prompts have groups of several.</summary>
    public static Gen<ScoredRollout[]> Batch(int min, int max) =>
        from n in Gen.Choose(min, max)
        from prompts in Gen.Choose(Math.Max(1, n / 3), n)
        from items in Gen.ArrayOf(Rollout, n)
        select items.Select((r, i) => r with { PromptId = $"p{i % prompts}", GroupIndex = i / prompts }).ToArray();

    public static ScoredRollout[] Grouped(params double[][] groups) =>
        groups.SelectMany((rewards, g) => rewards.Select((r, i) => new ScoredRollout($"q{g}", i, r))).ToArray();

    public static ScoredRollout[] WithRates(double[] passRates, double[] rewards) =>
        passRates.Select((p, i) => new ScoredRollout($"p{i}", 0, rewards[i], OfflinePassRate: p)).ToArray();
}
