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

    public static PolicyWeights Capture(IPolicyModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return new PolicyWeights(model.ExportWeights());
    }

    public void CopyTo(IPolicyModel replica)
    {
        ArgumentNullException.ThrowIfNull(replica);
        if (replica.Layout.TotalLength != _weights.Length)
        {
            throw new InvalidOperationException($"replica has {replica.Layout.TotalLength} parameters, the published weights {_weights.Length}.");
        }

        replica.WriteWeights(_weights);
    }
}
