namespace Basis.Learning;

/// <summary>
/// Turns a batch's log-probabilities and advantages into a loss and its gradient with respect to
/// each token's log-probability. The model back-propagates that gradient; nothing here touches it.
/// </summary>
public sealed class PolicyLossFunction
{
    // exp(±20) keeps ratios finite even for tokens whose probability moved by many orders of magnitude.
    private const double LogRatioBound = 20.0;

    private readonly PolicyLossOptions _options;

    public PolicyLossFunction(PolicyLossOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
    }

    public PolicyLossOptions Options => _options;

    public PolicyLossResult Compute(PolicyGradientBatch batch, ReadOnlySpan<float> logProbs)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (logProbs.Length != batch.TokenCount)
        {
            throw new ArgumentException($"{logProbs.Length} log-probabilities for {batch.TokenCount} tokens.", nameof(logProbs));
        }

        var gradient = new float[batch.TokenCount];
        if (batch.TokenCount == 0)
        {
            return new PolicyLossResult(0, gradient, 0, 0, 1, 0);
        }

        Totals totals = _options.Kind == PolicyLossKind.Gspo
            ? SequenceLevel(batch, logProbs, gradient)
            : TokenLevel(batch, logProbs, gradient);

        double kl = 0;
        if (_options.KlCoefficient > 0)
        {
            kl = AddKlPenalty(batch, logProbs, gradient, ref totals.Loss);
        }

        int n = batch.TokenCount;
        return new PolicyLossResult(totals.Loss, gradient, totals.Clipped / n, totals.ApproxKl / n, totals.ImportanceWeight / n, kl);
    }

    private Totals TokenLevel(PolicyGradientBatch batch, ReadOnlySpan<float> logProbs, float[] gradient)
    {
        var totals = default(Totals);
        bool ratio = _options.Kind == PolicyLossKind.PpoClip;
        for (int s = 0; s < batch.SequenceCount; s++)
        {
            int start = batch.Offsets[s];
            int end = batch.Offsets[s + 1];
            double advantage = batch.Advantages[s];
            double weight = TokenWeight(batch, end - start);
            for (int t = start; t < end; t++)
            {
                double importance = ImportanceWeight(batch, t);
                double delta = logProbs[t] - batch.OldLogProbs[t];
                totals.ImportanceWeight += importance;
                totals.ApproxKl += 0.5 * delta * delta;
                if (!ratio)
                {
                    totals.Loss -= weight * importance * logProbs[t] * advantage;
                    gradient[t] = (float)(-weight * importance * advantage);
                    continue;
                }

                (double objective, double slope) = ClippedObjective(delta, advantage);
                totals.Loss -= weight * importance * objective;
                gradient[t] = (float)(-weight * importance * slope);
                if (slope == 0 && advantage != 0)
                {
                    totals.Clipped++;
                }
            }
        }

        return totals;
    }

    private Totals SequenceLevel(PolicyGradientBatch batch, ReadOnlySpan<float> logProbs, float[] gradient)
    {
        var totals = default(Totals);
        double perSequence = 1.0 / batch.SequenceCount;
        for (int s = 0; s < batch.SequenceCount; s++)
        {
            int start = batch.Offsets[s];
            int end = batch.Offsets[s + 1];
            int length = end - start;
            if (length == 0)
            {
                continue;
            }

            double meanDelta = 0;
            double meanImportanceLog = 0;
            for (int t = start; t < end; t++)
            {
                double delta = logProbs[t] - batch.OldLogProbs[t];
                meanDelta += delta;
                totals.ApproxKl += 0.5 * delta * delta;
                if (batch.BehaviourLogProbs is not null)
                {
                    meanImportanceLog += batch.OldLogProbs[t] - batch.BehaviourLogProbs[t];
                }
            }

            meanDelta /= length;
            double importance = _options.ImportanceCap > 0 && batch.BehaviourLogProbs is not null
                ? Math.Min(Math.Exp(meanImportanceLog / length), _options.ImportanceCap)
                : 1.0;
            totals.ImportanceWeight += importance * length;

            (double objective, double slope) = ClippedObjective(meanDelta, batch.Advantages[s]);
            totals.Loss -= perSequence * importance * objective;

            // d(mean delta)/d logp_t = 1 / length.
            float tokenGradient = (float)(-perSequence * importance * slope / length);
            for (int t = start; t < end; t++)
            {
                gradient[t] = tokenGradient;
            }

            if (slope == 0 && batch.Advantages[s] != 0)
            {
                totals.Clipped += length;
            }
        }

        return totals;
    }

    /// <summary>
    /// PPO's pessimistic objective min(ρA, clip(ρ)A), with the dual clip max(·, cA) for A &lt; 0,
    /// and its derivative with respect to the log-ratio (zero where a clip is active).
    /// </summary>
    private (double Objective, double Slope) ClippedObjective(double logRatio, double advantage)
    {
        bool bounded = logRatio is > -LogRatioBound and < LogRatioBound;
        double ratio = Math.Exp(Math.Clamp(logRatio, -LogRatioBound, LogRatioBound));
        double unclipped = ratio * advantage;
        double clipped = Math.Clamp(ratio, 1 - _options.ClipLow, 1 + _options.ClipHigh) * advantage;
        double objective;
        double slope;
        if (unclipped <= clipped)
        {
            objective = unclipped;
            slope = bounded ? unclipped : 0;
        }
        else
        {
            objective = clipped;
            slope = 0;
        }

        if (_options.DualClip > 0 && advantage < 0 && objective < _options.DualClip * advantage)
        {
            objective = _options.DualClip * advantage;
            slope = 0;
        }

        return (objective, slope);
    }

    private double AddKlPenalty(PolicyGradientBatch batch, ReadOnlySpan<float> logProbs, float[] gradient, ref double loss)
    {
        if (batch.ReferenceLogProbs is null)
        {
            throw new InvalidOperationException("kl-coefficient is set but the batch has no reference log-probabilities.");
        }

        double sum = 0;
        double coefficient = _options.KlCoefficient;
        for (int s = 0; s < batch.SequenceCount; s++)
        {
            int start = batch.Offsets[s];
            int end = batch.Offsets[s + 1];
            double weight = TokenWeight(batch, end - start);
            for (int t = start; t < end; t++)
            {
                // k3 = e^(ref - logp) - (ref - logp) - 1: unbiased, non-negative, low variance.
                double d = Math.Clamp(batch.ReferenceLogProbs[t] - logProbs[t], -LogRatioBound, LogRatioBound);
                double e = Math.Exp(d);
                double k3 = e - d - 1;
                sum += k3;
                loss += coefficient * weight * k3;
                gradient[t] += (float)(coefficient * weight * (1 - e));
            }
        }

        return sum / batch.TokenCount;
    }

    private double TokenWeight(PolicyGradientBatch batch, int length) => _options.Aggregation switch
    {
        LossAggregation.TokenMean => 1.0 / batch.TokenCount,
        LossAggregation.SequenceMeanTokenMean => length == 0 ? 0 : 1.0 / (batch.SequenceCount * (double)length),
        LossAggregation.SequenceMeanTokenSum => 1.0 / (batch.SequenceCount * (double)_options.ConstantLength),
        _ => throw new InvalidOperationException($"unknown aggregation {_options.Aggregation}"),
    };

    private double ImportanceWeight(PolicyGradientBatch batch, int token)
    {
        if (batch.BehaviourLogProbs is null || _options.ImportanceCap <= 0)
        {
            return 1.0;
        }

        // Truncated importance sampling: corrects tokens sampled by a stale generator, capped so one
        // unlikely token cannot dominate the update.
        double logWeight = batch.OldLogProbs[token] - batch.BehaviourLogProbs[token];
        return Math.Min(Math.Exp(Math.Min(logWeight, LogRatioBound)), _options.ImportanceCap);
    }

    private struct Totals
    {
        public double Loss;
        public double Clipped;
        public double ApproxKl;
        public double ImportanceWeight;
    }
}
