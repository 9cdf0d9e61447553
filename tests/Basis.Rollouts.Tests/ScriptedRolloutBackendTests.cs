using FsCheck;
using FsCheck.Fluent;

namespace Basis.Rollouts.Tests;

public sealed class ScriptedRolloutBackendTests
{
    private static CancellationToken TestCancellation => TestContext.Current.CancellationToken;

    [Fact(Timeout = 20_000)]
    public async Task SpendsItsLatencyOnTheGivenClock()
    {
        var time = new ManualTimeProvider();
        var backend = new ScriptedRolloutBackend(TimeSpan.FromMilliseconds(250), time);

        Task<IReadOnlyList<RolloutResult>> call = backend.GenerateAsync([new RolloutRequest("p0", "prompt", 2, SamplingSettings.Default)], TestCancellation);
        await time.WaitForTimerAsync(TimeSpan.FromMilliseconds(250), TestCancellation);
        time.Advance(TimeSpan.FromMilliseconds(249));
        Assert.False(call.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(1));

        Assert.Equal(2, (await call)[0].Completions.Count);
    }

    [Fact]
    public async Task AnswersWithTheGivenScript()
    {
        var backend = new ScriptedRolloutBackend(
            script: (request, index, seed) => new RolloutCompletion($"{request.PromptId}:{index}:{seed}", ["x"], [-0.5], FinishReason.Length),
            policyVersion: "v7");
        var request = new RolloutRequest("p0", "prompt", 2, SamplingSettings.Default with { Seed = 11 });

        RolloutResult result = Assert.Single(await backend.GenerateAsync([request], TestCancellation));

        Assert.Equal("v7", result.PolicyVersion);
        Assert.Equal(["p0:0:11", "p0:1:11"], result.Completions.Select(c => c.Text));
    }

    [Fact]
    public async Task DrawsAFreshSeedForEachUnseededCall()
    {
        var seeds = new List<long>();
        var backend = new ScriptedRolloutBackend(script: (request, index, seed) =>
        {
            seeds.Add(seed);
            return ScriptedRolloutBackend.DefaultScript(request, index, seed);
        });
        var request = new RolloutRequest("p0", "prompt", 2, SamplingSettings.Default);

        await backend.GenerateAsync([request], TestCancellation);
        await backend.GenerateAsync([request], TestCancellation);

        Assert.Equal(4, seeds.Count);
        Assert.Equal(seeds[0], seeds[1]);
        Assert.NotEqual(seeds[1], seeds[2]);
        Assert.Equal(seeds[2], seeds[3]);
    }

    [Fact]
    public void DefaultScriptKeepsTheCompletionInvariants()
    {
        Prop.ForAll(
            ArbMap.Default.ArbFor<NonNull<string>>(),
            ArbMap.Default.ArbFor<long>(),
            (from index in Gen.Choose(0, 15) from maxTokens in Gen.Choose(1, 12) select (index, maxTokens)).ToArbitrary(),
            (prompt, seed, shape) =>
            {
                (int index, int maxTokens) = shape;
                var request = new RolloutRequest("p", prompt.Get, index + 1, SamplingSettings.Default with { MaxTokens = maxTokens });
                RolloutCompletion completion = ScriptedRolloutBackend.DefaultScript(request, index, seed);
                RolloutCompletion again = ScriptedRolloutBackend.DefaultScript(request, index, seed);

                return completion.Tokens.Count >= 1
                    && completion.Tokens.Count <= maxTokens
                    && completion.Logprobs.Count == completion.Tokens.Count
                    && completion.Logprobs.All(lp => lp >= -4 && lp < 0)
                    && completion.Text == string.Concat(completion.Tokens)
                    && (completion.FinishReason == FinishReason.Stop || completion.Tokens.Count == maxTokens)
                    && again.Text == completion.Text
                    && again.Logprobs.SequenceEqual(completion.Logprobs);
            }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void RejectsNegativeLatency() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new ScriptedRolloutBackend(TimeSpan.FromTicks(-1)));
}
