using Basis.Training.Journal;

namespace Basis.Dashboard;

/// <summary>The chart points a journal event carries.</summary>
public static class JournalPoints
{
    public static IEnumerable<ChartPoint> From(object @event) => @event switch
    {
        BatchFormed formed => FromBatch(formed),
        PolicyUpdated updated => FromPolicy(updated),
        _ => [],
    };

    public static IEnumerable<ChartPoint> FromBatch(BatchFormed formed)
    {
        ArgumentNullException.ThrowIfNull(formed);
        double sum = 0;
        int counted = 0;
        for (int i = 0; i < formed.Rewards.Length; i++)
        {
            if (!formed.Quarantined[i])
            {
                sum += formed.Rewards[i];
                counted++;
            }
        }

        // The same definition as the learner's report (and metrics.csv): a step whose rollouts are all quarantined has mean 0.
        yield return new ChartPoint(DashboardSeries.Reward, formed.Step, counted == 0 ? 0 : sum / counted);
        if (formed.Beta is double beta && double.IsFinite(beta))
        {
            yield return new ChartPoint(DashboardSeries.Beta, formed.Step, beta);
        }

        if (formed.ActiveSetSize is int active)
        {
            yield return new ChartPoint(DashboardSeries.ActiveSet, formed.Step, active);
        }
    }

    public static IEnumerable<ChartPoint> FromPolicy(PolicyUpdated updated)
    {
        ArgumentNullException.ThrowIfNull(updated);
        if (double.IsFinite(updated.Loss))
        {
            yield return new ChartPoint(DashboardSeries.Loss, updated.Step, updated.Loss);
        }

        if (double.IsFinite(updated.GradNorm))
        {
            yield return new ChartPoint(DashboardSeries.GradNorm, updated.Step, updated.GradNorm);
        }

        if (updated.HeldOutAccuracy is double accuracy && double.IsFinite(accuracy))
        {
            yield return new ChartPoint(DashboardSeries.HeldOutAccuracy, updated.Step, accuracy);
        }
    }
}
