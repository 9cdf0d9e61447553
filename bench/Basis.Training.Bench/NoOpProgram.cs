using System.Diagnostics;
using System.Globalization;
using Akka.Actor;
using Basis.Training.Hosting;

namespace Basis.Training.Bench;

/// <summary>`noop [runs] [steps]`: median rollouts per second of the no-op training graph over several runs.</summary>
internal static class NoOpProgram
{
    public static async Task<int> RunAsync(string[] args)
    {
        int runs = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 7;
        int steps = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 2000;
        var options = NoOpGraph.Options(steps);
        Console.WriteLine($"no-op training graph: {steps} steps x {options.PromptsPerStep} rollouts, chunks of {options.ChunkSize}, {options.Generators} generators, {options.Verifiers} verifiers, input buffers of {options.EdgeBuffer}, on Akka.Streams; {runs} runs after a warm-up, {Environment.ProcessorCount} cores");
        using ActorSystem system = BasisActorSystem.Create("noop-bench");
        await RunOnceAsync(system, steps / 10);
        var rates = new List<double>();
        for (int i = 0; i < runs; i++)
        {
            double rate = await RunOnceAsync(system, steps);
            rates.Add(rate);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  run {i + 1}: {rate / 1e6:F2} M rollouts/s"));
        }

        rates.Sort();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"median {rates[rates.Count / 2] / 1e6:F2} M rollouts/s (min {rates[0] / 1e6:F2}, max {rates[^1] / 1e6:F2})"));
        return 0;
    }

    private static async Task<double> RunOnceAsync(ActorSystem system, int steps)
    {
        var learner = new CountingLearner();
        var graph = NoOpGraph.Create(steps, learner);
        long start = Stopwatch.GetTimestamp();
        await graph.RunAsync(system, CancellationToken.None);
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        long expected = (long)steps * NoOpGraph.Options(steps).SlotsPerStep;
        if (learner.Rollouts != expected)
        {
            throw new InvalidOperationException($"the learner saw {learner.Rollouts} rollouts, expected {expected}.");
        }

        return learner.Rollouts / seconds;
    }
}
