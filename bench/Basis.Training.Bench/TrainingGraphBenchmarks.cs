using BenchmarkDotNet.Attributes;

namespace Basis.Training.Bench;

/// <summary>The no-op training graph, reported per rollout (OperationsPerInvoke).</summary>
[MemoryDiagnoser]
public class TrainingGraphBenchmarks
{
    private const int Steps = 500;
    private const int Rollouts = Steps * 1024;

    [Benchmark(OperationsPerInvoke = Rollouts)]
    public Task NoOpTrainingGraph() => NoOpGraph.Create(Steps, new CountingLearner()).RunAsync(CancellationToken.None);
}
