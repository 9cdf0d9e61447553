using System.Runtime.InteropServices;

namespace Basis.Estimators;

/// <summary>
/// BASIS: one rollout per prompt; each prompt's baseline is built from its offline value, its own past rewards and the
/// other prompts' rewards in the batch, never from its own current reward.
/// </summary>
public sealed class BasisEstimator : IStatefulAdvantageEstimator
{
    // Relative determinant below which S_-i counts as singular.
    private const double SingularTolerance = 1e-10;

    // Evidence that has decayed below this weight (about 13 half-lives) is dropped.
    private const double NegligibleWeight = 1e-4;

    private readonly BasisOptions _options;
    private readonly Dictionary<string, Evidence> _evidence = new(StringComparer.Ordinal);
    private double? _previousBeta;
    private long _revisitGapSum;
    private long _revisits;

    public BasisEstimator(BasisOptions? options = null, string name = "basis")
    {
        _options = options ?? BasisOptions.Default;
        _options.Validate();
        Name = name;
    }

    public string Name { get; }

    public int RolloutsPerPrompt => 1;

    public bool BaselineExcludesOwnReward => true;

    public BasisOptions Options => _options;

    public AdvantageResult Estimate(RolloutBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        batch.EnsureFiniteRewards();
        IReadOnlyList<ScoredRollout> rollouts = batch.Rollouts;
        int n = rollouts.Count;
        if (n == 0)
        {
            // Nothing to calibrate on: leave beta and the history untouched.
            return new AdvantageResult([], new BatchDiagnostics { Estimator = Name, Beta = _previousBeta, ActiveSetSize = 0 });
        }

        var rewards = new double[n];
        for (int i = 0; i < n; i++)
        {
            rewards[i] = rollouts[i].Reward;
        }

        double[] passRates = OfflinePassRates(rollouts);
        var calibration = BetaCalibrator.Create(passRates, rewards, _options.Form);
        double fullBeta = calibration.FullBatchBeta();

        // Each rollout's beta; rollouts sharing one are baselined together.
        var betaOf = new double[n];
        switch (_options.Calibration)
        {
            case BetaCalibration.LeaveOneOut:
                calibration.LeaveOneOutBetas(betaOf);
                break;
            case BetaCalibration.PreviousStep:
                Array.Fill(betaOf, _previousBeta ?? _options.InitialBeta);
                break;
            default:
                Array.Fill(betaOf, _options.InitialBeta);
                break;
        }

        double decayPerStep = Math.Log(2) / CurrentHistoryHalfLife;
        var (historyWeight, historyResidual) = HistoryEvidence(rollouts, batch.Step, decayPerStep);
        var estimates = new RolloutEstimate[n];
        var tally = new Tally();
        foreach (double beta in betaOf.Distinct())
        {
            BaselineForBeta(beta, betaOf, passRates, rewards, historyWeight, historyResidual, estimates, ref tally);
        }

        if (_options.Whiten)
        {
            var advantages = estimates.Select(e => e.Advantage).ToArray();
            Whitening.Whiten(advantages);
            for (int i = 0; i < n; i++)
            {
                estimates[i] = estimates[i] with { Advantage = advantages[i] };
            }
        }

        // The history stores residuals against the global model this configuration believes in for the step.
        double modelBeta = _options.Calibration == BetaCalibration.Fixed ? _options.InitialBeta : fullBeta;
        Record(batch, passRates, rewards, modelBeta, decayPerStep);
        var diagnostics = new BatchDiagnostics
        {
            Estimator = Name,
            Beta = _options.Calibration == BetaCalibration.LeaveOneOut ? fullBeta : betaOf.FirstOrDefault(_options.InitialBeta),
            CalibratedBeta = fullBeta,
            ActiveSetSize = tally.Active,
            BlueCount = tally.Blue,
            ShiftFallbackCount = tally.Shift,
            InactiveCount = tally.Inactive,
            OwnValueCount = tally.Own,
            Whitened = _options.Whiten,
        };
        return new AdvantageResult(estimates, diagnostics);
    }

    public EstimatorState ExportState()
    {
        var ids = _evidence.Keys.ToArray();
        Array.Sort(ids, StringComparer.Ordinal);
        return new BasisState(_previousBeta, ids.Select(id => _evidence[id].ToRecord(id)).ToArray(), _revisitGapSum, _revisits);
    }

    public void ImportState(EstimatorState state)
    {
        if (state is not BasisState basis || basis.PreviousBeta is double b && !(b > 0 && double.IsFinite(b))
            || basis.Revisits < 0 || basis.RevisitGapSum < basis.Revisits)
        {
            throw new ArgumentException($"BASIS cannot import this state ({state?.GetType().Name ?? "null"}).", nameof(state));
        }

        _evidence.Clear();
        foreach (PromptEvidence e in basis.Evidence ?? [])
        {
            if (e?.PromptId is null || !(e.Weight > 0) || !double.IsFinite(e.Weight) || !double.IsFinite(e.WeightedResidual) || e.Step < 0)
            {
                throw new ArgumentException("BASIS state has a malformed prompt evidence entry.", nameof(state));
            }

            if (!_evidence.TryAdd(e.PromptId, new Evidence(e.Step, e.Weight, e.WeightedResidual)))
            {
                throw new ArgumentException($"BASIS state lists prompt '{e.PromptId}' twice.", nameof(state));
            }
        }

        _previousBeta = basis.PreviousBeta;
        _revisitGapSum = basis.RevisitGapSum;
        _revisits = basis.Revisits;
    }

    /// <summary>The history half-life in steps for the next batch: the step floor, or the revisit floor times the mean
    /// interval between a prompt's visits so far, whichever is longer.</summary>
    public double CurrentHistoryHalfLife =>
        _revisits == 0 ? _options.HistoryHalfLife : Math.Max(_options.HistoryHalfLife, _options.HistoryHalfLifeRevisits * _revisitGapSum / _revisits);

    private double[] OfflinePassRates(IReadOnlyList<ScoredRollout> rollouts)
    {
        int n = rollouts.Count;
        var counts = new List<OfflineCounts>(n);
        foreach (ScoredRollout r in rollouts)
        {
            if (r.Offline is OfflineCounts c)
            {
                counts.Add(c);
            }
        }

        BetaPrior prior = _options.SmoothOffline ? BetaPrior.FitMoments(counts.ToArray()) : BetaPrior.Jeffreys;
        var rates = new double[n];
        double known = 0;
        int knownCount = 0;
        for (int i = 0; i < n; i++)
        {
            ScoredRollout r = rollouts[i];
            double rate = r.Offline is OfflineCounts c && c.Samples > 0
                ? _options.SmoothOffline ? prior.Smooth(c) : c.PassRate
                : r.OfflinePassRate ?? double.NaN;
            rates[i] = rate;
            if (!double.IsNaN(rate))
            {
                known += rate;
                knownCount++;
            }
        }

        // A prompt missing from the offline table gets the prior mean (or the batch's mean pass rate).
        double fallback = _options.SmoothOffline && counts.Count > 0 ? prior.Mean : knownCount > 0 ? known / knownCount : 0.5;
        for (int i = 0; i < n; i++)
        {
            if (double.IsNaN(rates[i]))
            {
                rates[i] = fallback;
            }
        }

        return rates;
    }

    private (double[] Weight, double[] Residual) HistoryEvidence(IReadOnlyList<ScoredRollout> rollouts, long step, double decayPerStep)
    {
        int n = rollouts.Count;
        var weight = new double[n];
        var residual = new double[n];
        if (!_options.UseHistory)
        {
            return (weight, residual);
        }

        for (int i = 0; i < n; i++)
        {
            if (_evidence.TryGetValue(rollouts[i].PromptId, out Evidence e))
            {
                double decay = Decay(step - e.Step, decayPerStep);
                weight[i] = e.Weight * decay;
                residual[i] = e.WeightedResidual * decay;
            }
        }

        return (weight, residual);
    }

    // 2^(-age / half-life); the exponential kernel lets a prompt's whole history live in two running sums.
    private static double Decay(long age, double decayPerStep) => Math.Exp(-decayPerStep * Math.Max(age, 0));

    private void BaselineForBeta(
        double beta,
        double[] betaOf,
        double[] passRates,
        double[] rewards,
        double[] historyWeight,
        double[] historyResidual,
        RolloutEstimate[] estimates,
        ref Tally tally)
    {
        int n = rewards.Length;
        var values = new double[n];
        var active = new bool[n];
        var activeIndex = new List<int>(n);
        double betaDecay = Math.Exp(-1 / beta);
        for (int j = 0; j < n; j++)
        {
            // v_j = (kappa m + sum_s K_s (r_s - m_s + m)) / (kappa + sum_s K_s): the offline model's value moved by the
            // prompt's own age-weighted residuals, shrunk toward the model by kappa pseudo-rollouts.
            double m = OfflineValueModel.Value(_options.Form, passRates[j], beta, betaDecay);
            double v = m + historyResidual[j] / (_options.PriorStrength + historyWeight[j]);
            values[j] = Math.Clamp(v, 0, 1);
            active[j] = values[j] > _options.Delta && values[j] < 1 - _options.Delta;
            if (active[j])
            {
                activeIndex.Add(j);
            }
        }

        int k = activeIndex.Count;
        var w = new double[k];
        var wv = new double[k];
        var wvv = new double[k];
        var wr = new double[k];
        var wvr = new double[k];
        var wres = new double[k];
        for (int a = 0; a < k; a++)
        {
            int j = activeIndex[a];
            double v = values[j];
            w[a] = 1 / (v * (1 - v));
            wv[a] = w[a] * v;
            wvv[a] = wv[a] * v;
            wr[a] = w[a] * rewards[j];
            wvr[a] = wv[a] * rewards[j];
            wres[a] = w[a] * (rewards[j] - v);
        }

        double[] s00 = LeaveOneOut.Sums(w);
        double[] s01 = LeaveOneOut.Sums(wv);
        double[] s11 = LeaveOneOut.Sums(wvv);
        double[] u0 = LeaveOneOut.Sums(wr);
        double[] u1 = LeaveOneOut.Sums(wvr);
        double[] shift = LeaveOneOut.Sums(wres);
        var slot = new int[n];
        for (int a = 0; a < k; a++)
        {
            slot[activeIndex[a]] = a;
        }

        for (int i = 0; i < n; i++)
        {
            if (betaOf[i] != beta)
            {
                continue;
            }

            double v = values[i];
            double baseline;
            BaselineSource source;
            if (!_options.Refine)
            {
                baseline = v;
                source = BaselineSource.OwnValue;
            }
            else if (!active[i])
            {
                baseline = _options.Inactive == InactiveBaseline.Zero ? 0 : v;
                source = BaselineSource.Inactive;
            }
            else if (k == 1)
            {
                baseline = v;
                source = BaselineSource.OwnValue;
            }
            else
            {
                int a = slot[i];
                double det = s00[a] * s11[a] - s01[a] * s01[a];
                if (k < 3 || !(det > SingularTolerance * s00[a] * s11[a]))
                {
                    baseline = v + shift[a] / s00[a];
                    source = BaselineSource.ShiftModel;
                }
                else
                {
                    double intercept = (s11[a] * u0[a] - s01[a] * u1[a]) / det;
                    double slope = (s00[a] * u1[a] - s01[a] * u0[a]) / det;
                    baseline = intercept + slope * v;
                    source = BaselineSource.Blue;
                }
            }

            if (_options.Clip)
            {
                baseline = Math.Clamp(baseline, 0, 1);
            }

            estimates[i] = new RolloutEstimate(baseline, rewards[i] - baseline, v, source);
            tally.Count(source, active[i]);
        }
    }

    private void Record(RolloutBatch batch, double[] passRates, double[] rewards, double modelBeta, double decayPerStep)
    {
        _previousBeta = modelBeta;
        if (!_options.UseHistory)
        {
            return;
        }

        long step = batch.Step;
        double betaDecay = Math.Exp(-1 / modelBeta);
        for (int i = 0; i < rewards.Length; i++)
        {
            string id = batch.Rollouts[i].PromptId;
            double residual = rewards[i] - OfflineValueModel.Value(_options.Form, passRates[i], modelBeta, betaDecay);
            ref Evidence e = ref CollectionsMarshal.GetValueRefOrAddDefault(_evidence, id, out bool existed);
            if (existed)
            {
                if (step > e.Step)
                {
                    _revisitGapSum += step - e.Step;
                    _revisits++;
                }

                double decay = Decay(step - e.Step, decayPerStep);
                e = new Evidence(step, e.Weight * decay + 1, e.WeightedResidual * decay + residual);
            }
            else
            {
                e = new Evidence(step, 1, residual);
            }
        }

        // Forget prompts whose evidence has decayed to nothing, so memory follows the recent prompts only.
        long horizon = (long)Math.Ceiling(Math.Log(1 / NegligibleWeight) / decayPerStep);
        if (step % 64 == 0 && _evidence.Count > 0)
        {
            var stale = _evidence.Where(pair => step - pair.Value.Step > horizon).Select(pair => pair.Key).ToList();
            foreach (string id in stale)
            {
                _evidence.Remove(id);
            }
        }
    }

    private readonly record struct Evidence(long Step, double Weight, double WeightedResidual)
    {
        public PromptEvidence ToRecord(string promptId) => new(promptId, Step, Weight, WeightedResidual);
    }

    private struct Tally
    {
        public int Active;
        public int Blue;
        public int Shift;
        public int Inactive;
        public int Own;

        public void Count(BaselineSource source, bool active)
        {
            Active += active ? 1 : 0;
            switch (source)
            {
                case BaselineSource.Blue:
                    Blue++;
                    break;
                case BaselineSource.ShiftModel:
                    Shift++;
                    break;
                case BaselineSource.Inactive:
                    Inactive++;
                    break;
                default:
                    Own++;
                    break;
            }
        }
    }
}
