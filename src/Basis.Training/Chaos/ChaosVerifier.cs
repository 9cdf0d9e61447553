using Basis.Tasks.Verification;
using Basis.Training.Graph;

namespace Basis.Training.Chaos;

/// <summary>Wraps a verifier so that the rollouts <see cref="ChaosSchedule"/> picks throw instead of being scored.</summary>
public sealed class ChaosVerifier : IWorkItemVerifier
{
    private readonly IVerifier _inner;
    private readonly double _rate;
    private readonly ulong _seed;

    public ChaosVerifier(IVerifier inner, double rate, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentOutOfRangeException.ThrowIfNegative(rate);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(rate, 1.0);
        _inner = inner;
        _rate = rate;
        _seed = seed;
    }

    public string Name => _inner.Name;

    /// <summary>Without the rollout's identity there is nothing to hash: scored by the inner verifier.</summary>
    public VerificationResult Verify(string completion, string gold) => _inner.Verify(completion, gold);

    public VerificationResult Verify(WorkItem work, string completion, string gold)
    {
        ArgumentNullException.ThrowIfNull(work);
        if (ChaosSchedule.VerifierFails(_seed, _rate, work.Step, work.Slot))
        {
            throw new ChaosException($"injected verifier failure at step {work.Step} slot {work.Slot} (basis.chaos.verifier-failure-rate = {_rate.ToString(System.Globalization.CultureInfo.InvariantCulture)})");
        }

        return _inner.Verify(completion, gold);
    }
}
