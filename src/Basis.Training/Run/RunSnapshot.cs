using System.Runtime.InteropServices;
using Basis.Estimators;
using Basis.Model;
using Basis.Model.Optim;

namespace Basis.Training.Run;

/// <summary>
/// Everything a run needs to continue after step <see cref="NextStep"/> − 1 exactly as if it had never
/// stopped: the policy weights, AdamW's moments and step count, the learner's version, the estimator's
/// state, the data cursor and the running totals of metrics.csv. Stored in the journal's snapshot table
/// under the learner's persistence id, at the learner sequence number of the step's
/// <c>PolicyUpdated</c>, so it is always consistent with the events before it.
/// </summary>
/// <remarks>
/// The run has no other random generator state: the prompt schedule is a pure function of (seed, step),
/// every rollout's sampling seed of (seed, step, slot) and every held-out evaluation uses one fixed seed,
/// so the cursor <see cref="NextStep"/> is the generators' whole state.
/// Arrays of floats are stored as their little-endian bytes (base64 in the JSON payload), bit for bit.
/// </remarks>
/// <param name="NextStep">The first step not yet trained (the data cursor).</param>
/// <param name="AggregatorSequence">The last aggregator sequence number the snapshot covers.</param>
/// <param name="LearnerSequence">The last learner sequence number the snapshot covers (its own).</param>
/// <param name="PolicyHash">Hash of the warm-started policy the run began from (as in <c>RunStarted</c>).</param>
/// <param name="EstimatorState">The estimator's exported state as JSON; null for stateless estimators.</param>
/// <param name="Rollouts">Rollouts generated so far (metrics.csv's running total).</param>
/// <param name="Tokens">Completion tokens generated so far.</param>
/// <param name="RlSeconds">RL wall-clock seconds so far, over every process that worked on the run.</param>
/// <param name="LastHeldOutAccuracy">The latest held-out accuracy (the summary's final accuracy so far).</param>
public sealed record RunSnapshot(
    long NextStep,
    long LearnerVersion,
    long AggregatorSequence,
    long LearnerSequence,
    ulong Seed,
    string PolicyHash,
    byte[] Weights,
    byte[] AdamFirstMoment,
    byte[] AdamSecondMoment,
    int AdamStepCount,
    string? EstimatorState,
    long Rollouts,
    long Tokens,
    double RlSeconds,
    double LastHeldOutAccuracy)
{
    /// <summary>Captures the learner's model and optimizer after step <paramref name="nextStep"/> − 1, with the estimator's state as of that step.</summary>
    public static RunSnapshot Capture(
        long nextStep,
        long learnerVersion,
        long aggregatorSequence,
        long learnerSequence,
        ulong seed,
        string policyHash,
        IPolicyModel model,
        IPolicyOptimizer optimizer,
        string? estimatorState,
        long rollouts,
        long tokens,
        double rlSeconds,
        double lastHeldOutAccuracy)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        AdamWState adam = optimizer.ExportState();
        return new RunSnapshot(
            nextStep,
            learnerVersion,
            aggregatorSequence,
            learnerSequence,
            seed,
            policyHash,
            ToBytes(model.ExportWeights()),
            ToBytes(adam.FirstMoment),
            ToBytes(adam.SecondMoment),
            adam.StepCount,
            estimatorState,
            rollouts,
            tokens,
            rlSeconds,
            lastHeldOutAccuracy);
    }

    /// <summary>Loads the weights into <paramref name="model"/> (before the learner publishes them).</summary>
    /// <exception cref="InvalidOperationException">The snapshot holds another number of weights.</exception>
    public void RestoreWeights(IPolicyModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        float[] weights = ToFloats(Weights);
        if (weights.Length != model.Layout.TotalLength)
        {
            throw new InvalidOperationException($"the snapshot at step {NextStep - 1} holds {weights.Length} weights; the configured model has {model.Layout.TotalLength}.");
        }

        model.WriteWeights(weights);
    }

    /// <summary>Loads AdamW's moments and step count and the estimator's state.</summary>
    /// <exception cref="InvalidOperationException">The snapshot does not fit this optimizer or estimator.</exception>
    public void RestoreState(IPolicyOptimizer optimizer, IAdvantageEstimator estimator)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(estimator);
        try
        {
            optimizer.ImportState(new AdamWState(ToFloats(AdamFirstMoment), ToFloats(AdamSecondMoment), AdamStepCount));
            if (estimator is IStatefulAdvantageEstimator stateful)
            {
                string json = EstimatorState ?? throw new InvalidOperationException($"the snapshot at step {NextStep - 1} has no state for the stateful estimator '{estimator.Name}'.");
                stateful.ImportState(EstimatorStateJson.Deserialize(json));
            }
        }
        catch (Exception e) when (e is ArgumentException or FormatException)
        {
            throw new InvalidOperationException($"the snapshot at step {NextStep - 1} does not fit this run: {e.Message}", e);
        }
    }

    private static byte[] ToBytes(float[] values)
    {
        RequireLittleEndian();
        return MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
    }

    private static float[] ToFloats(byte[] bytes)
    {
        RequireLittleEndian();
        if (bytes.Length % sizeof(float) != 0)
        {
            throw new InvalidOperationException($"a snapshot array of {bytes.Length} bytes is not a whole number of float32 values.");
        }

        return MemoryMarshal.Cast<byte, float>(bytes).ToArray();
    }

    private static void RequireLittleEndian()
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("run snapshots store float32 arrays little-endian; this machine is big-endian.");
        }
    }
}
