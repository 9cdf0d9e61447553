using Basis.Training.Graph;
using FsCheck;
using FsCheck.Fluent;
using Xunit;

namespace Basis.Training.Tests;

public sealed class StepAssemblerPropertyTests
{
    [Fact]
    public void AnyArrivalOrderReleasesEveryStepOnceInOrderWithItsSlotsInOrder()
    {
        // A permutation of (step, slot) pairs, drawn as sort keys so that every arrival order is reachable.
        Gen<(int Steps, int Slots, int[] Keys)> cases =
            from steps in Gen.Choose(1, 6)
            from slots in Gen.Choose(1, 6)
            from keys in Gen.ArrayOf(Gen.Choose(0, 1000), steps * slots)
            select (steps, slots, keys);

        Prop.ForAll(cases.ToArbitrary(), c =>
        {
            var assembler = new StepAssembler(c.Slots, firstStep: 3);
            int[] order = [.. Enumerable.Range(0, c.Steps * c.Slots).OrderBy(i => c.Keys[i]).ThenBy(i => i)];
            var released = new List<(long Step, VerifiedRollout[] Rollouts)>();
            int arrived = 0;
            foreach (int i in order)
            {
                released.AddRange(assembler.Add(StepAssemblerTests.Verified(3 + (i / c.Slots), i % c.Slots)));
                arrived++;

                // What is not released is pending, and nothing is released before all earlier steps are.
                if (assembler.Pending != arrived - (released.Count * c.Slots))
                {
                    return false;
                }
            }

            return released.Select(r => r.Step).SequenceEqual(Enumerable.Range(3, c.Steps).Select(s => (long)s))
                && released.All(r => r.Rollouts.Select(v => v.Work.Slot).SequenceEqual(Enumerable.Range(0, c.Slots))
                    && r.Rollouts.All(v => v.Work.Step == r.Step))
                && assembler.Pending == 0
                && assembler.NextStep == 3 + c.Steps;
        }).QuickCheckThrowOnFailure();
    }
}
