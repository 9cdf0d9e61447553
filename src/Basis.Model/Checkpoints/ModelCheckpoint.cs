namespace Basis.Model.Checkpoints;

/// <summary>Saves and loads a policy (<see cref="IPolicyModel"/>, any backend) as safetensors (F32 tensors named as in <see cref="ParameterLayout"/>, config in the metadata).</summary>
public static class ModelCheckpoint
{
    public static void Save(Stream stream, IPolicyModel model, IReadOnlyDictionary<string, string>? extraMetadata = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var metadata = new Dictionary<string, string>(model.Config.ToMetadata(), StringComparer.Ordinal) { ["format"] = "basis-transformer-v1" };
        if (extraMetadata is not null)
        {
            foreach (var (key, value) in extraMetadata)
            {
                metadata[key] = value;
            }
        }

        var weights = model.ExportWeights();
        var tensors = model.Layout.Entries
            .Select(p => SafetensorsTensor.FromFloats(p.Name, weights.AsSpan(p.Offset, p.Length), [.. p.Shape]))
            .ToList();
        Safetensors.Write(stream, tensors, metadata);
    }

    /// <summary>Builds a model from the config in the checkpoint's metadata and loads its weights.</summary>
    public static TransformerModel Load(Stream stream, string source = "checkpoint") => Load(stream, config => new TransformerModel(config), source);

    /// <summary>Builds a model of any backend from the config in the checkpoint's metadata and loads its weights.</summary>
    public static TModel Load<TModel>(Stream stream, Func<TransformerConfig, TModel> create, string source = "checkpoint")
        where TModel : IPolicyModel
    {
        ArgumentNullException.ThrowIfNull(create);
        var file = Safetensors.Read(stream, source);
        TransformerConfig config;
        try
        {
            config = TransformerConfig.FromMetadata(file.Metadata);
        }
        catch (FormatException e)
        {
            throw new CheckpointFormatException($"{source}: {e.Message}", e);
        }

        var model = create(config);
        CopyInto(file, model, source);
        return model;
    }

    /// <summary>Loads weights into an existing model; every tensor must be present with dtype F32 and the model's shape.</summary>
    public static void LoadInto(Stream stream, IPolicyModel model, string source = "checkpoint")
    {
        ArgumentNullException.ThrowIfNull(model);
        CopyInto(Safetensors.Read(stream, source), model, source);
    }

    private static void CopyInto(SafetensorsFile file, IPolicyModel model, string source)
    {
        var weights = new float[model.Layout.TotalLength];
        foreach (var p in model.Layout.Entries)
        {
            if (!file.TryGet(p.Name, out var tensor))
            {
                throw new CheckpointFormatException($"{source}: missing tensor '{p.Name}'.");
            }

            if (tensor.DType != SafetensorsDType.F32)
            {
                throw new CheckpointFormatException($"{source}: tensor '{p.Name}' has dtype {tensor.DType}; expected F32.");
            }

            if (!tensor.Shape.SequenceEqual(p.Shape))
            {
                throw new CheckpointFormatException($"{source}: tensor '{p.Name}' has shape [{string.Join(", ", tensor.Shape)}]; the model needs [{string.Join(", ", p.Shape)}].");
            }

            tensor.ToFloat32().CopyTo(weights, p.Offset);
        }

        var extra = file.Tensors.Select(t => t.Name).Where(name => !model.Layout.TryGet(name, out _)).ToList();
        if (extra.Count > 0)
        {
            throw new CheckpointFormatException($"{source}: unexpected tensor(s) {string.Join(", ", extra.Take(5))} for a model with config {model.Config}.");
        }

        model.WriteWeights(weights);
    }
}
