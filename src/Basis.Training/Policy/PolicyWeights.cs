using Basis.Model;

namespace Basis.Training.Policy;

/// <summary>An immutable copy of the learner's weights at one version, for generators to load.</summary>
public sealed class PolicyWeights
{
    private readonly float[] _weights;

    private PolicyWeights(float[] weights)
    {
        _weights = weights;
    }

    public int Length => _weights.Length;

    public static PolicyWeights Capture(TransformerModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return new PolicyWeights((float[])model.Weights.Clone());
    }

    public void CopyTo(TransformerModel replica)
    {
        ArgumentNullException.ThrowIfNull(replica);
        if (replica.Weights.Length != _weights.Length)
        {
            throw new InvalidOperationException($"replica has {replica.Weights.Length} parameters, the published weights {_weights.Length}.");
        }

        _weights.CopyTo(replica.Weights, 0);
    }
}
