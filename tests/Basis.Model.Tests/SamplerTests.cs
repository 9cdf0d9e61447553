using Basis.Model.Sampling;

namespace Basis.Model.Tests;

public sealed class SamplerTests
{
    private static readonly int[][] s_prompts = [[1, 5, 6], [1, 7], [1, 8, 9, 10, 4]];

    private static TransformerModel Model() => TransformerModel.Create(new TransformerConfig(11, 16, 2, 2, 24, 24), seed: 9, initStd: 0.5f);

    [Fact]
    public void SameSeedGivesSameCompletionsAndRowsDoNotDependOnTheBatch()
    {
        var model = Model();
        var options = new SamplingOptions(Temperature: 0.9f, TopK: 6, TopP: 0.95f, MaxNewTokens: 10, StopTokens: [2]);
        var seeds = new ulong[] { 100, 200, 300 };
        var batch = Sampler.Generate(model, s_prompts, options, seeds);
        var again = Sampler.Generate(model, s_prompts, options, seeds);
        model.Threads = 2;
        var alone = Sampler.Generate(model, [s_prompts[2]], options, [seeds[2]]);
        for (var r = 0; r < 3; r++)
        {
            Assert.Equal(batch[r].Tokens, again[r].Tokens);
            Assert.Equal(batch[r].SamplingLogp, again[r].SamplingLogp);
        }

        Assert.Equal(batch[2].Tokens, alone[0].Tokens);
        Assert.Equal(batch[2].PolicyLogp, alone[0].PolicyLogp);
        var other = Sampler.Generate(model, s_prompts, options, seed: 12345);
        Assert.False(Enumerable.Range(0, 3).All(r => other[r].Tokens.SequenceEqual(batch[r].Tokens)));
    }

    [Fact]
    public void PolicyLogpMatchesTheTrainingForward()
    {
        var model = Model();
        var result = Sampler.Generate(model, s_prompts, new SamplingOptions(Temperature: 1.3f, MaxNewTokens: 8), seed: 3);
        var sequences = s_prompts.Select((p, r) => (IReadOnlyList<int>)[.. p, .. result[r].Tokens]).ToList();
        var batch = TokenBatch.FromSequences(sequences, [.. s_prompts.Select(p => p.Length)], padId: 0);
        var pass = model.Forward(batch);
        for (var r = 0; r < s_prompts.Length; r++)
        {
            for (var i = 0; i < result[r].Tokens.Length; i++)
            {
                var position = r * batch.SeqLen + s_prompts[r].Length - 1 + i;
                Assert.Equal(pass.TokenLogp[position], result[r].PolicyLogp[i], 1e-4f);
            }

            // At temperature 1.3 without truncation the sampling distribution differs from the policy.
            Assert.NotEqual(result[r].PolicyLogp, result[r].SamplingLogp);
        }
    }

    [Fact]
    public void TopKOneIsGreedyAndStopsAtStopTokenOrLength()
    {
        var model = Model();
        var greedy = Sampler.Generate(model, s_prompts, new SamplingOptions(Temperature: 0f, MaxNewTokens: 6), seed: 1);
        var topOne = Sampler.Generate(model, s_prompts, new SamplingOptions(Temperature: 1f, TopK: 1, MaxNewTokens: 6), seed: 2);
        for (var r = 0; r < s_prompts.Length; r++)
        {
            Assert.Equal(greedy[r].Tokens, topOne[r].Tokens);
            Assert.All(topOne[r].SamplingLogp, lp => Assert.Equal(0f, lp));
            Assert.Equal(6, greedy[r].Tokens.Length);
            Assert.Equal(FinishReason.Length, greedy[r].Finish);
        }

        var stopAt = greedy[0].Tokens[2];
        var stopped = Sampler.Generate(model, [s_prompts[0]], new SamplingOptions(Temperature: 0f, MaxNewTokens: 6, StopTokens: [stopAt]), seed: 1)[0];
        Assert.Equal(FinishReason.Stop, stopped.Finish);
        Assert.Equal(stopAt, stopped.Tokens[^1]);
        Assert.True(stopped.Tokens.Length <= 3);
    }

    [Fact]
    public void TopPKeepsOnlyTheNucleus()
    {
        var model = Model();
        var options = new SamplingOptions(Temperature: 1f, TopP: 0.5f, MaxNewTokens: 12);
        var result = Sampler.Generate(model, s_prompts, options, seed: 8);
        foreach (var row in result)
        {
            for (var i = 0; i < row.Tokens.Length; i++)
            {
                // Renormalising over a nucleus can only raise a token's probability.
                Assert.True(row.SamplingLogp[i] >= row.PolicyLogp[i] - 1e-5f);
            }
        }
    }

    [Fact]
    public void RejectsBadOptionsAndPrompts()
    {
        var model = Model();
        Assert.Throws<ArgumentException>(() => Sampler.Generate(model, s_prompts, new SamplingOptions(TopP: 0f), seed: 1));
        Assert.Throws<ArgumentException>(() => Sampler.Generate(model, s_prompts, new SamplingOptions(Temperature: -1f), seed: 1));
        var ex = Assert.Throws<ArgumentException>(() => Sampler.Generate(model, [[1, 99]], new SamplingOptions(), seed: 1));
        Assert.Contains("99", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1f, 0)]
    [InlineData(0.8f, 5)]
    public void ManyRowsDrawTheSameOnOneAndTwoThreadsAndAlone(float temperature, int topK)
    {
        var model = Model();
        var rng = new DeterministicRandom(5);
        var prompts = Enumerable.Range(0, 24)
            .Select(r => (IReadOnlyList<int>)[1, .. Enumerable.Range(0, 1 + r % 7).Select(_ => 3 + (int)(rng.NextUInt64() % 8))])
            .ToList();
        var options = new SamplingOptions(Temperature: temperature, TopK: topK, MaxNewTokens: 9);
        var one = Sampler.Generate(model, prompts, options, seed: 21);
        model.Threads = 2;
        var two = Sampler.Generate(model, prompts, options, seed: 21);
        for (var r = 0; r < prompts.Count; r++)
        {
            Assert.Equal(one[r].Tokens, two[r].Tokens);
            Assert.Equal(one[r].SamplingLogp, two[r].SamplingLogp);
            Assert.Equal(one[r].PolicyLogp, two[r].PolicyLogp);
        }

        var alone = Sampler.Generate(model, [prompts[13]], options, [DeterministicRandom.DeriveSeed(21, 13)])[0];
        Assert.Equal(one[13].Tokens, alone.Tokens);
        Assert.Equal(one[13].PolicyLogp, alone.PolicyLogp);
        if (temperature == 1f && topK == 0)
        {
            // Untempered and untruncated, the distribution sampled from is the policy.
            Assert.All(one, row => Assert.Equal(row.PolicyLogp, row.SamplingLogp, (a, b) => Math.Abs(a - b) <= 1e-5f));
        }
    }
}
