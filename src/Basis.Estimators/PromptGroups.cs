namespace Basis.Estimators;

/// <summary>Rollouts grouped by prompt id, groups in order of first appearance.</summary>
internal sealed class PromptGroups
{
    private PromptGroups(int[][] members, int[] groupOf)
    {
        Members = members;
        GroupOf = groupOf;
    }

    public int[][] Members { get; }

    public int[] GroupOf { get; }

    public static PromptGroups Build(IReadOnlyList<ScoredRollout> rollouts)
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var lists = new List<List<int>>();
        var groupOf = new int[rollouts.Count];
        for (int i = 0; i < rollouts.Count; i++)
        {
            string id = rollouts[i].PromptId ?? throw new ArgumentException($"Rollout {i} has no prompt id.");
            if (!index.TryGetValue(id, out int g))
            {
                g = lists.Count;
                index.Add(id, g);
                lists.Add([]);
            }

            lists[g].Add(i);
            groupOf[i] = g;
        }

        return new PromptGroups(lists.Select(l => l.ToArray()).ToArray(), groupOf);
    }

    public static double Mean(IReadOnlyList<ScoredRollout> rollouts, int[] members)
    {
        double sum = 0;
        foreach (int j in members)
        {
            sum += rollouts[j].Reward;
        }

        return sum / members.Length;
    }

    /// <summary>Mean of the group's rewards except member <paramref name="skip"/>, summed in a fixed order
    /// that never touches the skipped reward, so the result is bit-identical whatever that reward is.</summary>
    public static double MeanExcept(IReadOnlyList<ScoredRollout> rollouts, int[] members, int skip)
    {
        double sum = 0;
        int n = 0;
        foreach (int j in members)
        {
            if (j != skip)
            {
                sum += rollouts[j].Reward;
                n++;
            }
        }

        return n == 0 ? double.NaN : sum / n;
    }

    /// <summary>Bessel-corrected standard deviation; 0 for fewer than two members.</summary>
    public static double StdDev(IReadOnlyList<ScoredRollout> rollouts, int[] members, double mean)
    {
        if (members.Length < 2)
        {
            return 0;
        }

        double ss = 0;
        foreach (int j in members)
        {
            double d = rollouts[j].Reward - mean;
            ss += d * d;
        }

        return Math.Sqrt(ss / (members.Length - 1));
    }
}
