using Basis.Training.Schedule;

namespace Basis.Training.Chaos;

/// <summary>Which rollouts a chaos run fails: a pure function of (seed, step, slot), whichever verifier or thread scores them.</summary>
public static class ChaosSchedule
{
    public static bool VerifierFails(ulong seed, double rate, long step, int slot)
    {
        if (rate <= 0)
        {
            return false;
        }

        // A salt keeps these draws independent of the sampling seeds, which mix the same (step, slot).
        ulong hash = SeededRandom.Mix(seed ^ 0x6368_616F_73UL, (ulong)step, (ulong)slot);
        return (hash >> 11) * (1.0 / (1UL << 53)) < rate;
    }
}
