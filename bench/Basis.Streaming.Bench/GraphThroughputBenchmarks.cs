using BenchmarkDotNet.Attributes;

namespace Basis.Streaming.Bench;

/// <summary>No-op stages: the runtime's own cost per message. Reported per message (OperationsPerInvoke).</summary>
[MemoryDiagnoser]
public class GraphThroughputBenchmarks
{
    public const int Messages = 1_000_000;

    [Benchmark(OperationsPerInvoke = Messages)]
    public Task SourceSelectSink() => Graphs.SourceSelectSink(Messages).RunAsync();

    [Benchmark(OperationsPerInvoke = Messages)]
    public Task BalancePerWorkerQueue() => Graphs.Balanced(Messages, BalanceMode.PerWorkerQueue).RunAsync();

    [Benchmark(OperationsPerInvoke = Messages)]
    public Task BalanceSharedQueue() => Graphs.Balanced(Messages, BalanceMode.SharedQueue).RunAsync();
}

internal static class Graphs
{
    private static IEnumerable<int> Range(int count)
    {
        for (int i = 0; i < count; i++)
        {
            yield return i;
        }
    }

    public static int Buffer { get; set; } = StageAttributes.DefaultBufferSize;

    public static RunnableGraph SourceSelectSink(int messages) =>
        Source.From(Range(messages)).WithBuffer(Buffer).Select(x => x + 1).WithBuffer(Buffer).To(Sink.Ignore<int>());

    public static RunnableGraph Balanced(int messages, BalanceMode mode) =>
        Source.From(Range(messages)).WithBuffer(Buffer)
            .Balance(2, _ => Flow.Select((int x) => x + 1).WithBuffer(Buffer), new BalanceOptions { Mode = mode, WorkerBufferSize = Buffer })
            .WithBuffer(Buffer)
            .To(Sink.Ignore<int>());
}
