using System.ComponentModel.DataAnnotations;

namespace Basis.Training.Chaos;

/// <summary>
/// <c>basis.chaos</c>: fault injection for testing supervision and quarantine end to end. Every knob
/// is off (0) by default, and every injected fault is deterministic: chosen by a seeded hash or a
/// count, never by the wall clock, so a chaos run can be repeated exactly.
/// </summary>
public sealed class ChaosSettings
{
    /// <summary>Fraction of rollouts whose verification throws, chosen by a hash of (seed, step, slot).</summary>
    [Range(0.0, 1.0)]
    public double VerifierFailureRate { get; set; }

    /// <summary>Every generator incarnation crashes on its N-th chunk (0 = never); a restarted one counts from 1 again.</summary>
    [Range(0, int.MaxValue)]
    public int GeneratorCrashEvery { get; set; }

    /// <summary>Seed of the verifier-failure hash.</summary>
    public ulong Seed { get; set; }

    public bool Enabled => VerifierFailureRate > 0 || GeneratorCrashEvery > 0;
}
