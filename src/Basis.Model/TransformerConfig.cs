using System.Globalization;

namespace Basis.Model;

/// <summary>Sizes of a decoder-only transformer (pre-norm RMSNorm, RoPE, causal attention, SwiGLU MLP).</summary>
public sealed record TransformerConfig(
    int VocabSize,
    int ModelDim,
    int Layers,
    int Heads,
    int FfnDim,
    int MaxSeqLen,
    bool TiedEmbeddings = true,
    float RopeTheta = 10000f,
    float NormEps = 1e-5f)
{
    public int HeadDim => ModelDim / Heads;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid field.</summary>
    public void Validate()
    {
        Require(VocabSize > 0, nameof(VocabSize), "must be positive");
        Require(ModelDim > 0, nameof(ModelDim), "must be positive");
        Require(Layers > 0, nameof(Layers), "must be positive");
        Require(Heads > 0, nameof(Heads), "must be positive");
        Require(ModelDim % Heads == 0, nameof(Heads), $"must divide ModelDim ({ModelDim})");
        Require(HeadDim % 2 == 0, nameof(Heads), $"must leave an even head dimension for rotary embeddings (ModelDim/Heads = {HeadDim})");
        Require(FfnDim > 0, nameof(FfnDim), "must be positive");
        Require(MaxSeqLen > 0, nameof(MaxSeqLen), "must be positive");
        Require(RopeTheta > 1f && float.IsFinite(RopeTheta), nameof(RopeTheta), "must be a finite number above 1");
        Require(NormEps > 0f && float.IsFinite(NormEps), nameof(NormEps), "must be a finite positive number");
    }

    private void Require(bool condition, string field, string message)
    {
        if (!condition)
        {
            throw new ArgumentException($"TransformerConfig.{field} {message}; config: {this}.", field);
        }
    }

    /// <summary>The config as string pairs (the safetensors <c>__metadata__</c> form).</summary>
    public IReadOnlyDictionary<string, string> ToMetadata() => new SortedDictionary<string, string>(StringComparer.Ordinal)
    {
        ["vocab_size"] = VocabSize.ToString(CultureInfo.InvariantCulture),
        ["model_dim"] = ModelDim.ToString(CultureInfo.InvariantCulture),
        ["layers"] = Layers.ToString(CultureInfo.InvariantCulture),
        ["heads"] = Heads.ToString(CultureInfo.InvariantCulture),
        ["ffn_dim"] = FfnDim.ToString(CultureInfo.InvariantCulture),
        ["max_seq_len"] = MaxSeqLen.ToString(CultureInfo.InvariantCulture),
        ["tied_embeddings"] = TiedEmbeddings ? "true" : "false",
        ["rope_theta"] = RopeTheta.ToString("R", CultureInfo.InvariantCulture),
        ["norm_eps"] = NormEps.ToString("R", CultureInfo.InvariantCulture),
    };

    /// <summary>Reads a config written by <see cref="ToMetadata"/>; throws <see cref="FormatException"/> naming a missing or bad key.</summary>
    public static TransformerConfig FromMetadata(IReadOnlyDictionary<string, string> metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        var config = new TransformerConfig(
            Int(metadata, "vocab_size"),
            Int(metadata, "model_dim"),
            Int(metadata, "layers"),
            Int(metadata, "heads"),
            Int(metadata, "ffn_dim"),
            Int(metadata, "max_seq_len"),
            Get(metadata, "tied_embeddings") switch
            {
                "true" => true,
                "false" => false,
                var other => throw new FormatException($"Model metadata 'tied_embeddings' is '{other}'; expected 'true' or 'false'."),
            },
            Float(metadata, "rope_theta"),
            Float(metadata, "norm_eps"));
        try
        {
            config.Validate();
        }
        catch (ArgumentException e)
        {
            throw new FormatException($"Model metadata describes an invalid config: {e.Message}", e);
        }

        return config;
    }

    private static string Get(IReadOnlyDictionary<string, string> metadata, string key) =>
        metadata.TryGetValue(key, out var value) ? value : throw new FormatException($"Model metadata lacks '{key}'.");

    private static int Int(IReadOnlyDictionary<string, string> metadata, string key) =>
        int.TryParse(Get(metadata, key), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v)
            ? v
            : throw new FormatException($"Model metadata '{key}' is '{metadata[key]}'; expected an integer.");

    private static float Float(IReadOnlyDictionary<string, string> metadata, string key) =>
        float.TryParse(Get(metadata, key), NumberStyles.Float, CultureInfo.InvariantCulture, out var v)
            ? v
            : throw new FormatException($"Model metadata '{key}' is '{metadata[key]}'; expected a number.");
}
