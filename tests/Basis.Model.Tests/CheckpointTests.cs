using Basis.Model.Checkpoints;

namespace Basis.Model.Tests;

public sealed class CheckpointTests
{
    private static byte[] Saved(TransformerModel model)
    {
        using var ms = new MemoryStream();
        ModelCheckpoint.Save(ms, model, new Dictionary<string, string> { ["weight_version"] = "7" });
        return ms.ToArray();
    }

    [Fact]
    public void RoundTripsWeightsConfigAndHash()
    {
        var model = TransformerModel.Create(TestModels.Tiny(tied: false), seed: 1);
        var bytes = Saved(model);
        var loaded = ModelCheckpoint.Load(new MemoryStream(bytes));
        Assert.Equal(model.Config, loaded.Config);
        Assert.Equal(model.Weights, loaded.Weights);
        Assert.Equal(model.ComputeHash(), loaded.ComputeHash());
        var file = Safetensors.Read(new MemoryStream(bytes));
        Assert.Equal("7", file.Metadata["weight_version"]);
        Assert.Equal(0, (8 + (long)BitConverter.ToUInt64(bytes, 0)) % 8);
    }

    [Fact]
    public void HashChangesWithAnyWeightAndCloneIsIndependent()
    {
        var model = TransformerModel.Create(TestModels.Tiny(), seed: 1);
        var clone = model.Clone();
        Assert.Equal(model.ComputeHash(), clone.ComputeHash());
        clone.Weights[^1] += 1e-3f;
        Assert.NotEqual(model.ComputeHash(), clone.ComputeHash());
        clone.CopyWeightsFrom(model);
        Assert.Equal(model.ComputeHash(), clone.ComputeHash());
        Assert.Throws<ArgumentException>(() => clone.CopyWeightsFrom(TransformerModel.Create(TestModels.Tiny(tied: false), 1)));
    }

    [Fact]
    public void WrongShapeIsAClearError()
    {
        var bytes = Saved(TransformerModel.Create(TestModels.Tiny(), seed: 1));
        var other = new TransformerModel(TestModels.Tiny() with { FfnDim = 10 });
        var ex = Assert.Throws<CheckpointFormatException>(() => ModelCheckpoint.LoadInto(new MemoryStream(bytes), other, "ckpt.safetensors"));
        Assert.Contains("ckpt.safetensors: tensor 'layers.0.w_gate' has shape [8, 12]; the model needs [8, 10]", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TruncatedFileIsAClearError()
    {
        var bytes = Saved(TransformerModel.Create(TestModels.Tiny(), seed: 1));
        var ex = Assert.Throws<CheckpointFormatException>(() => ModelCheckpoint.Load(new MemoryStream(bytes[..^10]), "c.st"));
        Assert.Contains("c.st: truncated", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<CheckpointFormatException>(() => ModelCheckpoint.Load(new MemoryStream(bytes[..20]), "c.st"));
        Assert.Contains("truncated", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<CheckpointFormatException>(() => ModelCheckpoint.Load(new MemoryStream(bytes[..5]), "c.st"));
        Assert.Contains("truncated", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WrongDtypeIsAClearError()
    {
        var model = TransformerModel.Create(TestModels.Tiny(), seed: 1);
        var tensors = model.Layout.Entries.Select(p => p.Name == "norm"
            ? new SafetensorsTensor(p.Name, SafetensorsDType.F64, p.Shape, new byte[p.Length * 8])
            : SafetensorsTensor.FromFloats(p.Name, model.Weights.AsSpan(p.Offset, p.Length), [.. p.Shape])).ToList();
        using var ms = new MemoryStream();
        Safetensors.Write(ms, tensors, model.Config.ToMetadata());
        var ex = Assert.Throws<CheckpointFormatException>(() => ModelCheckpoint.Load(new MemoryStream(ms.ToArray()), "c.st"));
        Assert.Contains("tensor 'norm' has dtype F64; expected F32", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownDtypeAndMissingConfigAreClearErrors()
    {
        var header = """{"__metadata__":{"vocab_size":"5"},"x":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}"""u8.ToArray();
        var bytes = BitConverter.GetBytes((ulong)header.Length).Concat(header).Concat(new byte[4]).ToArray();
        var ex = Assert.Throws<CheckpointFormatException>(() => Safetensors.Read(new MemoryStream(bytes), "x.st"));
        Assert.Contains("unsupported dtype 'BF16'", ex.Message, StringComparison.Ordinal);
        var model = TransformerModel.Create(TestModels.Tiny(), seed: 1);
        using var ms = new MemoryStream();
        Safetensors.Write(ms, [SafetensorsTensor.FromFloats("norm", model.Parameter("norm"), 8)], new Dictionary<string, string> { ["vocab_size"] = "11" });
        ex = Assert.Throws<CheckpointFormatException>(() => ModelCheckpoint.Load(new MemoryStream(ms.ToArray()), "y.st"));
        Assert.Contains("y.st: Model metadata lacks 'model_dim'", ex.Message, StringComparison.Ordinal);
    }
}
