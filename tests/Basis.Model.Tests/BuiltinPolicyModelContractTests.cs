using Basis.Tests.Shared;

namespace Basis.Model.Tests;

/// <summary>The policy contract on the built-in model itself (its own reference: the contract's checks hold exactly).</summary>
public sealed class BuiltinPolicyModelContractTests : PolicyModelContract
{
    protected override IPolicyModel Create(TransformerConfig config, ReadOnlySpan<float> weights)
    {
        var model = new TransformerModel(config);
        model.WriteWeights(weights);
        return model;
    }
}
