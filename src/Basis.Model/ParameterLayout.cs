namespace Basis.Model;

/// <summary>One named parameter tensor inside the flat parameter vector.</summary>
/// <param name="Decay">Whether AdamW applies weight decay (matrices yes, norm gains no).</param>
public sealed record ParameterInfo(string Name, IReadOnlyList<int> Shape, int Offset, int Length, bool Decay);

/// <summary>Names, shapes and offsets of every parameter of a <see cref="TransformerConfig"/>, in a fixed order.</summary>
public sealed class ParameterLayout
{
    private readonly Dictionary<string, ParameterInfo> _byName;

    private ParameterLayout(List<ParameterInfo> entries)
    {
        Entries = entries;
        _byName = entries.ToDictionary(e => e.Name, StringComparer.Ordinal);
        TotalLength = entries.Count == 0 ? 0 : entries[^1].Offset + entries[^1].Length;
    }

    public IReadOnlyList<ParameterInfo> Entries { get; }

    public int TotalLength { get; }

    public ParameterInfo this[string name] =>
        _byName.TryGetValue(name, out var info) ? info : throw new KeyNotFoundException($"No parameter named '{name}'.");

    public bool TryGet(string name, out ParameterInfo info) => _byName.TryGetValue(name, out info!);

    public static string LayerName(int layer, string name) => $"layers.{layer}.{name}";

    public static ParameterLayout Create(TransformerConfig config)
    {
        config.Validate();
        var entries = new List<ParameterInfo>();
        var offset = 0L;
        void Add(string name, bool decay, params int[] shape)
        {
            var length = Tensor.ElementCount(shape);
            if (offset + length > Array.MaxLength)
            {
                throw new ArgumentException($"The model described by {config} has more parameters than one array can hold.");
            }

            entries.Add(new ParameterInfo(name, shape, (int)offset, length, decay));
            offset += length;
        }

        int d = config.ModelDim, f = config.FfnDim;
        Add("tok_embeddings", true, config.VocabSize, d);
        for (var l = 0; l < config.Layers; l++)
        {
            Add(LayerName(l, "attn_norm"), false, d);
            Add(LayerName(l, "wq"), true, d, d);
            Add(LayerName(l, "wk"), true, d, d);
            Add(LayerName(l, "wv"), true, d, d);
            Add(LayerName(l, "wo"), true, d, d);
            Add(LayerName(l, "mlp_norm"), false, d);
            Add(LayerName(l, "w_gate"), true, d, f);
            Add(LayerName(l, "w_up"), true, d, f);
            Add(LayerName(l, "w_down"), true, f, d);
        }

        Add("norm", false, d);
        if (!config.TiedEmbeddings)
        {
            Add("lm_head", true, d, config.VocabSize);
        }

        return new ParameterLayout(entries);
    }
}
