using System.Collections.Concurrent;
using Basis.Estimators;

namespace Basis.Training.Run;

/// <summary>
/// Wraps the run's estimator and exports its state right after the batches of chosen steps. The
/// aggregator may already be estimating step s + 1 while the learner snapshots step s (the learner
/// publishes version s + 1 before it reports the step), so the state is taken where step s ends, in
/// the aggregator's own order, not when the snapshot is written.
/// </summary>
public sealed class EstimatorStateRecorder : IAdvantageEstimator
{
    private readonly IAdvantageEstimator _inner;
    private readonly Func<long, bool> _record;
    private readonly ConcurrentDictionary<long, string?> _states = new();

    /// <param name="record">Whether to keep the state after a step (the steps that get a snapshot).</param>
    public EstimatorStateRecorder(IAdvantageEstimator inner, Func<long, bool> record)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(record);
        _inner = inner;
        _record = record;
    }

    public string Name => _inner.Name;

    public int RolloutsPerPrompt => _inner.RolloutsPerPrompt;

    public bool BaselineExcludesOwnReward => _inner.BaselineExcludesOwnReward;

    public AdvantageResult Estimate(RolloutBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        AdvantageResult result = _inner.Estimate(batch);
        if (_record(batch.Step))
        {
            _states[batch.Step] = _inner is IStatefulAdvantageEstimator stateful ? EstimatorStateJson.Serialize(stateful.ExportState()) : null;
        }

        return result;
    }

    /// <summary>The state recorded after <paramref name="step"/> (JSON; null for a stateless estimator), forgotten once taken.</summary>
    /// <exception cref="InvalidOperationException">No state was recorded for the step.</exception>
    public string? TakeState(long step) =>
        _states.TryRemove(step, out string? state) ? state : throw new InvalidOperationException($"no estimator state was recorded after step {step}.");
}
