using Basis.Model.Optim;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Basis.Model.Torch;

using Tensor = TorchSharp.torch.Tensor;

/// <summary>
/// AdamW with decoupled weight decay as in <see cref="AdamW"/> (same bias correction, decay only where the layout
/// says so), as in-place tensor operations on the model's device.
/// </summary>
internal sealed class TorchAdamW : IPolicyOptimizer
{
    private readonly TorchPolicyModel _model;
    private readonly AdamWOptions _options;
    private readonly Tensor[] _m;
    private readonly Tensor[] _v;

    public TorchAdamW(TorchPolicyModel model, AdamWOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _model = model;
        _options = options;
        _m = [.. model.Parameters.Select(p => torch.zeros_like(p).detach())];
        _v = [.. model.Parameters.Select(p => torch.zeros_like(p).detach())];
    }

    public int StepCount { get; private set; }

    public void Step(float learningRate)
    {
        StepCount++;
        var (b1, b2, eps, wd) = (_options.Beta1, _options.Beta2, _options.Epsilon, _options.WeightDecay);
        double c1 = 1.0 - Math.Pow(b1, StepCount);
        double c2 = 1.0 - Math.Pow(b2, StepCount);
        var stepSize = (float)(learningRate / c1);
        var invSqrtC2 = (float)(1.0 / Math.Sqrt(c2));
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        for (int i = 0; i < _m.Length; i++)
        {
            Parameter p = _model.Parameters[i];
            Tensor g = p.grad ?? torch.zeros_like(p);
            _m[i].mul_(b1).add_(g, alpha: 1f - b1);
            _v[i].mul_(b2).addcmul_(g, g, value: 1f - b2);
            if (_model.Layout.Entries[i].Decay)
            {
                p.mul_(1f - (learningRate * wd));
            }

            p.addcdiv_(_m[i], _v[i].sqrt().mul_(invSqrtC2).add_(eps), value: -stepSize);
        }
    }

    public AdamWState ExportState() => new(Flatten(_m), Flatten(_v), StepCount);

    public void ImportState(AdamWState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        int total = _model.Layout.TotalLength;
        if (state.FirstMoment.Length != total || state.SecondMoment.Length != total)
        {
            throw new ArgumentException($"The optimizer state holds {state.FirstMoment.Length} and {state.SecondMoment.Length} moments; this optimizer has {total} parameters.", nameof(state));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(state.StepCount);
        Unflatten(state.FirstMoment, _m);
        Unflatten(state.SecondMoment, _v);
        StepCount = state.StepCount;
    }

    private float[] Flatten(Tensor[] moments)
    {
        var flat = new float[_model.Layout.TotalLength];
        for (int i = 0; i < moments.Length; i++)
        {
            ParameterInfo info = _model.Layout.Entries[i];
            using Tensor host = moments[i].cpu();
            host.data<float>().ToArray().CopyTo(flat, info.Offset);
        }

        return flat;
    }

    private void Unflatten(float[] flat, Tensor[] moments)
    {
        for (int i = 0; i < moments.Length; i++)
        {
            ParameterInfo info = _model.Layout.Entries[i];
            using Tensor values = torch.tensor(flat.AsSpan(info.Offset, info.Length).ToArray(), [.. info.Shape.Select(s => (long)s)]);
            moments[i].copy_(values);
        }
    }
}
