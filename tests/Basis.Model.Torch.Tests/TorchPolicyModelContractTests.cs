using Basis.Tests.Shared;

namespace Basis.Model.Torch.Tests;

/// <summary>The policy contract on libtorch (CPU): the same numbers as the built-in model within the contract's tolerances.</summary>
public sealed class TorchPolicyModelContractTests : PolicyModelContract
{
    protected override IPolicyModel Create(TransformerConfig config, ReadOnlySpan<float> weights)
    {
        var model = new TorchPolicyModel(config, LibTorchProbe.Require("cpu"));
        model.WriteWeights(weights);
        return model;
    }
}
