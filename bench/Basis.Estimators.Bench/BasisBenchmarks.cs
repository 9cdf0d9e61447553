using BenchmarkDotNet.Attributes;
using Basis.Estimators;
using Basis.Estimators.Simulation;

namespace Basis.Estimators.Bench;

/// <summary>
/// BASIS per batch at B = 256, 4096, 65536 (target: at most 2 ms at 4096, linear in B). The default estimator carries
/// 40 steps of history for every prompt, as in training; the leave-one-out variant is stateless.
/// </summary>
[MemoryDiagnoser]
public class BasisBenchmarks
{
    private RolloutBatch[] _batches = [];
    private BasisEstimator _default = null!;
    private BasisEstimator _leaveOneOut = null!;
    private long _step;

    [Params(256, 4096, 65536)]
    public int BatchSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new SimulationRandom(12345);
        var ids = Enumerable.Range(0, BatchSize).Select(i => $"prompt-{i}").ToArray();
        var passRates = ids.Select(_ => random.Beta(0.5, 1.5)).ToArray();
        var offline = passRates.Select(p => new OfflineCounts(random.Binomial(8, p), 8)).ToArray();
        _batches = Enumerable.Range(0, 8).Select(step => new RolloutBatch(step, Enumerable.Range(0, BatchSize)
            .Select(i => new ScoredRollout(ids[i], 0, random.Bernoulli(passRates[i]) ? 1 : 0, Offline: offline[i]))
            .ToArray())).ToArray();
        _default = new BasisEstimator(BasisOptions.Default);
        _leaveOneOut = new BasisEstimator(BasisOptions.Default with { Calibration = BetaCalibration.LeaveOneOut, UseHistory = false });
        for (_step = 0; _step < 40; _step++)
        {
            _default.Estimate(Batch());
        }
    }

    [Benchmark(Baseline = true)]
    public AdvantageResult Default() => _default.Estimate(Batch());

    [Benchmark]
    public AdvantageResult LeaveOneOutNoHistory() => _leaveOneOut.Estimate(_batches[0]);

    private RolloutBatch Batch()
    {
        RolloutBatch template = _batches[_step % _batches.Length];
        return new RolloutBatch(_step++, template.Rollouts);
    }
}
