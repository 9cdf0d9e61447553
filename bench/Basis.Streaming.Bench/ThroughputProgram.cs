using System.Diagnostics;

namespace Basis.Streaming.Bench;

/// <summary>`throughput [runs]`: runs each graph several times and prints the median messages per second.</summary>
internal static class ThroughputProgram
{
    public static async Task<int> RunAsync(string[] args)
    {
        int runs = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 9;
        if (args.Length > 2)
        {
            Graphs.Buffer = int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture);
        }

        const int Messages = GraphThroughputBenchmarks.Messages;
        var graphs = new (string Name, RunnableGraph Graph)[]
        {
            ("source -> select -> sink", Graphs.SourceSelectSink(Messages)),
            ("source -> balance(2, per-worker queues) -> sink", Graphs.Balanced(Messages, BalanceMode.PerWorkerQueue)),
            ("source -> balance(2, shared queue) -> sink", Graphs.Balanced(Messages, BalanceMode.SharedQueue)),
        };

        Console.WriteLine($"{Messages:N0} messages per run, {runs} runs, {Environment.ProcessorCount} cores, buffers of {Graphs.Buffer}");
        foreach (var (name, graph) in graphs)
        {
            await graph.RunAsync();
            var rates = new List<double>();
            for (int i = 0; i < runs; i++)
            {
                long start = Stopwatch.GetTimestamp();
                await graph.RunAsync();
                rates.Add(Messages / Stopwatch.GetElapsedTime(start).TotalSeconds);
            }

            rates.Sort();
            Console.WriteLine($"{name,-50} median {rates[rates.Count / 2] / 1e6,6:F2} M msgs/s  (min {rates[0] / 1e6:F2}, max {rates[^1] / 1e6:F2})");
        }

        return 0;
    }
}
