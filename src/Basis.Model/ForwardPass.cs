namespace Basis.Model;

/// <summary>
/// The result of <see cref="TransformerModel.Forward"/>: per-token target log-probabilities and entropies
/// (zero where the loss mask is off) plus the activations the backward needs.
/// </summary>
public sealed class ForwardPass : IScoredBatch
{
    internal ForwardPass(TransformerConfig config, int batchSize, int seqLen)
    {
        Config = config;
        BatchSize = batchSize;
        SeqLen = seqLen;
        int n = batchSize * seqLen, d = config.ModelDim, f = config.FfnDim;
        TokenLogp = new float[n];
        Entropy = new float[n];
        Positions = new int[n];
        Layers = new LayerTape[config.Layers];
        for (var l = 0; l < Layers.Length; l++)
        {
            Layers[l] = new LayerTape(n, d, f, batchSize * config.Heads * seqLen * seqLen);
        }

        XOut = new float[n * d];
        InvRmsOut = new float[n];
        LogitsBuffer = new float[n * config.VocabSize];
        LogSumExp = new float[n];
        Hidden = new float[n * d];
        Ffn = new float[n * f];
    }

    public TransformerConfig Config { get; }

    public int BatchSize { get; }

    public int SeqLen { get; }

    /// <summary>log π(target | prefix) per position [B·T]; 0 where the loss mask is off.</summary>
    public float[] TokenLogp { get; }

    /// <summary>Entropy of the next-token distribution per position [B·T]; 0 where the loss mask is off.</summary>
    public float[] Entropy { get; }

    /// <summary>Raw logits [B·T, V].</summary>
    public ReadOnlySpan<float> Logits => LogitsBuffer;

    internal TokenBatch? Batch { get; set; }

    internal int[] Positions { get; }

    internal LayerTape[] Layers { get; }

    internal float[] XOut { get; }

    internal float[] InvRmsOut { get; }

    internal float[] LogitsBuffer { get; }

    internal float[] LogSumExp { get; }

    internal float[] Hidden { get; }

    internal float[] Ffn { get; }

    internal BackwardWorkspace? Workspace { get; set; }

    internal bool Fits(TransformerConfig config, int batchSize, int seqLen) =>
        Config == config && BatchSize == batchSize && SeqLen == seqLen;
}

internal sealed class LayerTape(int n, int d, int f, int probs)
{
    public float[] XIn { get; } = new float[n * d];

    public float[] InvRms1 { get; } = new float[n];

    public float[] Q { get; } = new float[n * d];

    public float[] K { get; } = new float[n * d];

    public float[] V { get; } = new float[n * d];

    public float[] Probs { get; } = new float[probs];

    public float[] O { get; } = new float[n * d];

    public float[] XMid { get; } = new float[n * d];

    public float[] InvRms2 { get; } = new float[n];

    public float[] Gate { get; } = new float[n * f];

    public float[] Up { get; } = new float[n * f];
}

internal sealed class BackwardWorkspace(int n, int d, int f)
{
    public float[] DX { get; } = new float[n * d];

    public float[] DH { get; } = new float[n * d];

    public float[] DQ { get; } = new float[n * d];

    public float[] DK { get; } = new float[n * d];

    public float[] DV { get; } = new float[n * d];

    public float[] DGate { get; } = new float[n * f];
}
