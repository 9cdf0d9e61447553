namespace Basis.Model.Optim;

public sealed record AdamWOptions(float Beta1 = 0.9f, float Beta2 = 0.95f, float Epsilon = 1e-8f, float WeightDecay = 0.01f);

/// <summary>What an <see cref="AdamW"/> carries between steps: both moment estimates and the step count (for bias correction).</summary>
public sealed record AdamWState(float[] FirstMoment, float[] SecondMoment, int StepCount);

/// <summary>Adam with decoupled weight decay (Loshchilov and Hutter), applied to the parameters the layout marks for decay.</summary>
public sealed class AdamW
{
    private readonly float[] _m;
    private readonly float[] _v;
    private readonly bool[] _decay;

    public AdamW(ParameterLayout layout, AdamWOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(layout);
        Options = options ?? new AdamWOptions();
        _m = new float[layout.TotalLength];
        _v = new float[layout.TotalLength];
        _decay = new bool[layout.TotalLength];
        foreach (var p in layout.Entries)
        {
            _decay.AsSpan(p.Offset, p.Length).Fill(p.Decay);
        }
    }

    public AdamWOptions Options { get; }

    public int StepCount { get; private set; }

    /// <summary>A copy of the moments and step count; importing it into a fresh optimizer continues bit for bit.</summary>
    public AdamWState ExportState() => new((float[])_m.Clone(), (float[])_v.Clone(), StepCount);

    /// <exception cref="ArgumentException">The state is for another number of parameters, or its step count is negative.</exception>
    public void ImportState(AdamWState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.FirstMoment.Length != _m.Length || state.SecondMoment.Length != _v.Length)
        {
            throw new ArgumentException($"The optimizer state holds {state.FirstMoment.Length} and {state.SecondMoment.Length} moments; this optimizer has {_m.Length} parameters.", nameof(state));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(state.StepCount);
        state.FirstMoment.CopyTo(_m, 0);
        state.SecondMoment.CopyTo(_v, 0);
        StepCount = state.StepCount;
    }

    /// <summary>One update of <paramref name="model"/>'s weights from its accumulated gradients (which it leaves as they are).</summary>
    public void Step(TransformerModel model, float learningRate)
    {
        ArgumentNullException.ThrowIfNull(model);
        Step(model.Weights, model.Gradients, learningRate);
    }

    public void Step(Span<float> weights, ReadOnlySpan<float> gradients, float learningRate)
    {
        if (weights.Length != _m.Length || gradients.Length != _m.Length)
        {
            throw new ArgumentException($"The optimizer holds state for {_m.Length} parameters, not {weights.Length}.");
        }

        StepCount++;
        var (b1, b2, eps, wd) = (Options.Beta1, Options.Beta2, Options.Epsilon, Options.WeightDecay);
        var c1 = 1.0 - Math.Pow(b1, StepCount);
        var c2 = 1.0 - Math.Pow(b2, StepCount);
        var stepSize = (float)(learningRate / c1);
        var invSqrtC2 = (float)(1.0 / Math.Sqrt(c2));
        for (var i = 0; i < weights.Length; i++)
        {
            var g = gradients[i];
            var m = _m[i] = b1 * _m[i] + (1f - b1) * g;
            var v = _v[i] = b2 * _v[i] + (1f - b2) * g * g;
            var w = weights[i];
            if (_decay[i])
            {
                w -= learningRate * wd * w;
            }

            weights[i] = w - stepSize * m / (MathF.Sqrt(v) * invSqrtC2 + eps);
        }
    }
}

/// <summary>Gradient clipping by global L2 norm.</summary>
public static class GradientClipping
{
    /// <summary>Scales <paramref name="gradients"/> so their global norm is at most <paramref name="maxNorm"/>; returns the norm before clipping.</summary>
    public static float ClipGlobalNorm(Span<float> gradients, float maxNorm)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxNorm);
        double sum = 0;
        foreach (var g in gradients)
        {
            sum += (double)g * g;
        }

        var norm = (float)Math.Sqrt(sum);
        if (norm > maxNorm)
        {
            System.Numerics.Tensors.TensorPrimitives.Multiply(gradients, maxNorm / norm, gradients);
        }

        return norm;
    }
}

/// <summary>Linear warm-up from 0 to <c>PeakRate</c> over <c>WarmupSteps</c>, then cosine decay to <c>MinRate</c> at <c>TotalSteps</c>.</summary>
public sealed record LearningRateSchedule(float PeakRate, int WarmupSteps, int TotalSteps, float MinRate = 0f)
{
    /// <summary>The rate for 0-based <paramref name="step"/>; steps past the end keep <see cref="MinRate"/>.</summary>
    public float At(int step)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        if (step < WarmupSteps)
        {
            return PeakRate * (step + 1) / WarmupSteps;
        }

        var decaySteps = Math.Max(1, TotalSteps - WarmupSteps);
        var progress = Math.Min(1.0, (double)(step - WarmupSteps) / decaySteps);
        return (float)(MinRate + (PeakRate - MinRate) * 0.5 * (1.0 + Math.Cos(Math.PI * progress)));
    }
}
