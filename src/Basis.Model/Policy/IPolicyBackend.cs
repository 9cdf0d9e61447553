using Basis.Model.Checkpoints;

namespace Basis.Model;

/// <summary>Where a policy is computed (<c>basis.model.backend</c>): creates fresh models and loads checkpoints.</summary>
public interface IPolicyBackend
{
    /// <summary>The backend and its device, e.g. <c>builtin</c> or <c>torchsharp:cpu</c>.</summary>
    string Name { get; }

    /// <summary>A freshly initialised model: the same weights as <see cref="TransformerModel.Create"/> for the same arguments.</summary>
    IPolicyModel Create(TransformerConfig config, ulong seed, float initStd);

    /// <summary>A model built from a checkpoint's config and weights (a checkpoint of any backend).</summary>
    IPolicyModel Load(Stream stream, string source);
}

/// <summary>The managed C# transformer (<see cref="TransformerModel"/>).</summary>
public sealed class BuiltinPolicyBackend : IPolicyBackend
{
    public static BuiltinPolicyBackend Instance { get; } = new();

    public string Name => "builtin";

    public IPolicyModel Create(TransformerConfig config, ulong seed, float initStd) => TransformerModel.Create(config, seed, initStd);

    public IPolicyModel Load(Stream stream, string source) => ModelCheckpoint.Load(stream, source);
}
