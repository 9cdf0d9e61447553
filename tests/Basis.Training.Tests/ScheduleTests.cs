using Basis.Training.Schedule;
using FsCheck;
using FsCheck.Fluent;
using Xunit;

namespace Basis.Training.Tests;

public class ScheduleTests
{
    [Fact]
    public void EveryEpochVisitsEveryPromptOnce()
    {
        Prop.ForAll(
            Arb.From(Gen.Choose(1, 50)),
            Arb.From(Gen.Choose(1, 17)),
            Arb.From(Gen.Choose(0, 1000)),
            (prompts, batch, seed) =>
            {
                var schedule = new PromptSchedule(prompts, batch, (ulong)seed);
                int epochs = 3;
                long steps = ((long)prompts * epochs + batch - 1) / batch;
                List<int> flat = new();
                for (long s = 0; s < steps; s++)
                {
                    flat.AddRange(schedule.PromptsOf(s));
                }

                for (int e = 0; e < epochs; e++)
                {
                    int[] epoch = flat.Skip(e * prompts).Take(prompts).OrderBy(i => i).ToArray();
                    if (!epoch.SequenceEqual(Enumerable.Range(0, prompts)))
                    {
                        throw new InvalidOperationException($"epoch {e} is not a permutation");
                    }
                }
            }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void ScheduleIsAPureFunctionOfItsInputs()
    {
        var first = new PromptSchedule(100, 8, 42);
        var second = new PromptSchedule(100, 8, 42);
        var other = new PromptSchedule(100, 8, 43);

        // Ask in a different order: the answer must not depend on what was asked before.
        int[] late = second.PromptsOf(30);
        Assert.Equal(first.PromptsOf(30), late);
        Assert.Equal(first.PromptsOf(0), second.PromptsOf(0));
        Assert.NotEqual(first.PromptsOf(0), other.PromptsOf(0));
    }

    [Fact]
    public void EpochsAreShuffledDifferently()
    {
        var schedule = new PromptSchedule(64, 64, 7);
        Assert.NotEqual(schedule.PromptsOf(0), schedule.PromptsOf(1));
        Assert.NotEqual(Enumerable.Range(0, 64).ToArray(), schedule.PromptsOf(0));
    }

    [Fact]
    public void MixedSeedsDifferPerCoordinate()
    {
        var seen = new HashSet<ulong>();
        for (ulong a = 0; a < 50; a++)
        {
            for (ulong b = 0; b < 50; b++)
            {
                Assert.True(seen.Add(SeededRandom.Mix(1, a, b)), $"collision at ({a}, {b})");
            }
        }
    }
}
