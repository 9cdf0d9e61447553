using Basis.Tasks;
using Basis.Training.Graph;
using Xunit;

namespace Basis.Training.Tests;

public class StepAssemblerTests
{
    [Fact]
    public void ReleasesCompleteStepsInStepOrderWhateverTheArrivalOrder()
    {
        var assembler = new StepAssembler(slotsPerStep: 2);

        Assert.Empty(assembler.Add(Verified(1, 0)));
        Assert.Empty(assembler.Add(Verified(1, 1)));
        Assert.Empty(assembler.Add(Verified(0, 1)));
        Assert.Equal(3, assembler.Pending);

        var released = assembler.Add(Verified(0, 0));

        Assert.Equal([0L, 1L], released.Select(r => r.Step));
        Assert.Equal([0, 1], released[0].Rollouts.Select(r => r.Work.Slot));
        Assert.Equal(0, assembler.Pending);
        Assert.Equal(2, assembler.NextStep);
    }

    [Fact]
    public void RefusesDuplicatesLateArrivalsAndBadSlots()
    {
        var assembler = new StepAssembler(slotsPerStep: 1);
        assembler.Add(Verified(0, 0));

        Assert.Contains("after the step was released", Assert.Throws<InvalidOperationException>(() => assembler.Add(Verified(0, 0))).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => assembler.Add(Verified(1, 1)));

        var two = new StepAssembler(slotsPerStep: 2);
        two.Add(Verified(0, 1));
        Assert.Contains("received twice", Assert.Throws<InvalidOperationException>(() => two.Add(Verified(0, 1))).Message);
    }

    internal static VerifiedRollout Verified(long step, int slot, double reward = 1)
    {
        var prompt = new TaskPrompt($"p{slot}", "1+1=", "2", "easy", "exact");
        var work = new WorkItem(step, slot, 0, prompt, null, 0);
        return new VerifiedRollout(new Rollout(work, "2", [1], [2], [-0.1f], 0), reward, "correct", false);
    }
}
