using Basis.Model.Sampling;
using Xunit;

namespace Basis.Model.Tests;

/// <summary>
/// Regression: the KV-cached decoder's attention softmax overflowed to NaN when a head's scores
/// exceeded exp's range (a trained model's sharp heads did this), and the sampler then drew
/// near-impossible tokens with NaN log-probabilities.
/// </summary>
public sealed class SamplerSharpAttentionTests
{
    [Fact]
    public void SharpAttentionGivesFiniteLogProbsThatMatchTheFullForward()
    {
        TransformerModel model = TransformerModel.Create(TestModels.Tiny(), seed: 3, initStd: 0.5f);

        // Scale the query and key projections so attention scores reach the hundreds.
        for (int layer = 0; layer < model.Config.Layers; layer++)
        {
            foreach (string name in new[] { "wq", "wk" })
            {
                Span<float> weights = model.Parameter($"layers.{layer}.{name}");
                for (int i = 0; i < weights.Length; i++)
                {
                    weights[i] *= 40f;
                }
            }
        }

        int[][] prompts = [[1, 4, 5, 6, 7], [1, 8, 9], [1, 10, 4, 4, 4, 4, 5]];
        IReadOnlyList<SampledSequence> sampled = Sampler.Generate(model, prompts, new SamplingOptions(MaxNewTokens: 6), seed: 11);

        for (int r = 0; r < prompts.Length; r++)
        {
            Assert.All(sampled[r].PolicyLogp, lp => Assert.True(float.IsFinite(lp), $"row {r}: non-finite log-probability {lp}"));
            int[] sequence = [.. prompts[r], .. sampled[r].Tokens];
            ForwardPass pass = model.Forward(TokenBatch.FromSequences([sequence], [prompts[r].Length], padId: 0));
            for (int j = 0; j < sampled[r].Tokens.Length; j++)
            {
                Assert.Equal(pass.TokenLogp[prompts[r].Length - 1 + j], sampled[r].PolicyLogp[j], 2e-3f);
            }
        }
    }
}
