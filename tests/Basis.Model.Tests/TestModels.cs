namespace Basis.Model.Tests;

internal static class TestModels
{
    public static TransformerConfig Tiny(bool tied = true) => new(VocabSize: 11, ModelDim: 8, Layers: 2, Heads: 2, FfnDim: 12, MaxSeqLen: 16, TiedEmbeddings: tied);

    /// <summary>A batch with right padding, left padding and partial loss masks, so masking is exercised.</summary>
    public static TokenBatch MixedBatch(int vocab, int seqLen = 6)
    {
        var rng = new DeterministicRandom(7);
        const int b = 3;
        var inputs = new int[b * seqLen];
        var targets = new int[b * seqLen];
        var attention = new bool[b * seqLen];
        var loss = new bool[b * seqLen];
        for (var i = 0; i < inputs.Length; i++)
        {
            inputs[i] = (int)(rng.NextUInt64() % (ulong)vocab);
            targets[i] = (int)(rng.NextUInt64() % (ulong)vocab);
            var row = i / seqLen;
            var col = i % seqLen;
            attention[i] = row switch
            {
                0 => true,
                1 => col < seqLen - 2,
                _ => col >= 1,
            };
            loss[i] = attention[i] && (row != 0 || col >= 2);
        }

        return new TokenBatch(b, seqLen, inputs, targets, attention, loss);
    }

    public static float[] Weights(int n, ulong seed)
    {
        var rng = new DeterministicRandom(seed);
        var w = new float[n];
        for (var i = 0; i < n; i++)
        {
            w[i] = (float)(rng.NextDouble() * 2 - 1);
        }

        return w;
    }
}
