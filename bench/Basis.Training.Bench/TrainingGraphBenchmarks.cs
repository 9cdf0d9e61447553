using Akka.Actor;
using BenchmarkDotNet.Attributes;
using Basis.Training.Hosting;

namespace Basis.Training.Bench;

/// <summary>The no-op training graph, reported per rollout (OperationsPerInvoke).</summary>
[MemoryDiagnoser]
public class TrainingGraphBenchmarks
{
    private const int Steps = 500;
    private const int Rollouts = Steps * 1024;
    private ActorSystem? _system;

    [GlobalSetup]
    public void Setup() => _system = BasisActorSystem.Create("graph-bench");

    [GlobalCleanup]
    public void Cleanup() => _system?.Terminate().Wait();

    [Benchmark(OperationsPerInvoke = Rollouts)]
    public Task NoOpTrainingGraph() => NoOpGraph.Create(Steps, new CountingLearner()).RunAsync(_system!, CancellationToken.None);
}
