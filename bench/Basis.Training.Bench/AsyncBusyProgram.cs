using System.Diagnostics;
using System.Globalization;
using Akka.Actor;
using Basis.Training.Hosting;
using Basis.Training.Graph.Monitoring;
using Basis.Estimators;
using Basis.Model;
using Basis.Model.Sampling;
using Basis.Model.Tokenization;
using Basis.Tasks.Synthetic;
using Basis.Tasks.Verification;
using Basis.Training.Graph;
using Basis.Training.Policy;
using Basis.Training.Run;

namespace Basis.Training.Bench;

/// <summary>
/// `async [runs] [steps] [batch] [threads] [reference|ci] [new-tokens] [staleness] [generators]`: the training graph
/// with the built-in transformer (random weights; the reference configuration's d=128 x 4 layers, or ci.conf's d=32 x 1
/// layer) and one generator (or several). threads is "N" (N GEMM threads for the generator and N for the learner),
/// "G/L", or "G/Ls" (a learner of L one-thread shards, <c>basis.graph.learner-shards</c>); "Gl/..." samples on a
/// low-priority thread of the generator's own (<c>basis.graph.generator-priority = low</c>); staleness is a comma-separated list of k (default 1,2; 0 is the synchronous graph).
/// Prints the generator stage's busy fraction from StageMetrics and, separately, the fraction of the run
/// it spent sampling: the stage's busy time includes waiting for the weights its step allows, so the bench
/// loads those weights itself, in front of the generator, and times the wait. It also prints steps per
/// second and the share of the machine's cores the process used, so a busier generator that comes from
/// a slower one shows up as lower throughput.
/// </summary>
internal static class AsyncBusyProgram
{
    public static async Task<int> RunAsync(string[] args)
    {
        int runs = Arg(args, 1, 3);
        int steps = Arg(args, 2, 24);
        int batch = Arg(args, 3, 128);
        string threadSpec = args.Length > 4 ? args[4] : "1";
        bool lowPriority = threadSpec.Split('/')[0].EndsWith('l');
        (int generatorThreads, int learnerThreads, int learnerShards) = Threads(threadSpec.Replace("l", string.Empty, StringComparison.Ordinal));
        bool ci = args.Length > 5 && args[5] == "ci";
        // Longer completions shift the cost from learning to sampling, as with real LLM rollouts.
        int newTokens = Arg(args, 6, 8);
        int[] stalenesses = args.Length > 7 ? [.. args[7].Split(',').Select(k => int.Parse(k, CultureInfo.InvariantCulture))] : [1, 2];
        int generators = Arg(args, 8, 1);
        ArithmeticTaskSet tasks = ArithmeticTaskGenerator.Generate(new ArithmeticTaskConfig { Seed = 1, TrainSize = 4096, EvalSize = 16 });
        CharTokenizer tokenizer = TrainingRun.CreateTokenizer();
        TransformerConfig config = ci
            ? new TransformerConfig(tokenizer.VocabSize, 32, 1, 2, 64, Math.Max(24, 16 + newTokens))
            : new TransformerConfig(tokenizer.VocabSize, 128, 4, 4, 344, Math.Max(32, 24 + newTokens));
        Console.WriteLine($"built-in transformer d={config.ModelDim} x {config.Layers} layers, {steps} steps of {batch} rollouts ({newTokens} new tokens each), chunks of {batch / 2}, {generators} generator(s) with {generatorThreads} GEMM thread(s) each{(lowPriority ? " on low-priority threads" : string.Empty)}, the learner with {(learnerShards > 0 ? $"{learnerShards} one-thread shards" : $"{learnerThreads}")}; {runs} runs per k, {Environment.ProcessorCount} cores");
        foreach (int staleness in stalenesses)
        {
            var results = new List<Result>();
            for (int run = 0; run < runs; run++)
            {
                Result result = await RunOnceAsync(tasks, tokenizer, config, staleness, steps, batch, generators, generatorThreads, learnerThreads, learnerShards, lowPriority, newTokens);
                results.Add(result);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  k={staleness} run {run + 1}: generator stage busy {result.StageBusy:P1}, sampling {result.Sampling:P1}, waiting for weights {result.Waiting:P1}, learner busy {result.LearnerBusy:P1}; per step: sampling {result.Sampling * result.Seconds / steps:F3} s, learner {result.LearnerBusy * result.Seconds / steps:F3} s; {steps / result.Seconds:F2} steps/s, cores used {result.CoresUsed:P0}{(double.IsNaN(result.GeneratorThreadCores) ? string.Empty : $", generator thread got {result.GeneratorThreadCores:F2} of a core")}; {result.Seconds:F1} s"));
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"k={staleness} threads {threadSpec}: median generator stage busy {Median(results, r => r.StageBusy):P1}, sampling {Median(results, r => r.Sampling):P1}, learner busy {Median(results, r => r.LearnerBusy):P1}, {steps / Median(results, r => r.Seconds):F2} steps/s, cores used {Median(results, r => r.CoresUsed):P0}{(lowPriority ? $", generator thread got {Median(results, r => r.GeneratorThreadCores):F2} of a core" : string.Empty)}"));
        }

        return 0;
    }

    private static (int Generator, int Learner, int Shards) Threads(string arg)
    {
        string[] parts = arg.Split('/');
        int generator = int.Parse(parts[0], CultureInfo.InvariantCulture);
        string learner = parts.Length > 1 ? parts[1] : parts[0];
        return learner.EndsWith('s')
            ? (generator, 1, int.Parse(learner[..^1], CultureInfo.InvariantCulture))
            : (generator, int.Parse(learner, CultureInfo.InvariantCulture), 0);
    }

    private static async Task<Result> RunOnceAsync(ArithmeticTaskSet tasks, CharTokenizer tokenizer, TransformerConfig config, int staleness, int steps, int batch, int generators, int generatorThreads, int learnerThreads, int learnerShards, bool lowPriority, int newTokens)
    {
        TransformerModel model = TransformerModel.Create(config, 7);
        model.Threads = learnerThreads;
        var text = new PolicyText(tokenizer);
        var board = new WeightBoard<PolicyWeights>();
        var learner = new TransformerLearner(model, tokenizer.PadId, new LearnerOptions { TotalSteps = steps, Shards = learnerShards }, board);
        var sampling = new SamplingOptions(1f, MaxNewTokens: newTokens);
        var timed = new List<TimedWorker>();
        // As basis train does: a step's work is issued once its weights are published, so the generator never waits holding a chunk.
        var options = new TrainingGraphOptions { Steps = steps, PromptsPerStep = batch, ChunkSize = batch / 2, Generators = generators, Verifiers = 1, EdgeBuffer = 4, Seed = 3, StepsInFlight = staleness + 1 };
        var graph = new TrainingGraph(tasks.Train, null, EstimatorCatalog.Create("reinforce"), VerifierRegistry.CreateDefault(), _ =>
        {
            TransformerModel replica = model.Clone();
            replica.Threads = generatorThreads;
            var own = new WeightBoard<PolicyWeights>();
            var worker = new TimedWorker(board, own, staleness, new TransformerGenerator(replica, text, own, sampling, staleness, lowPriority));
            timed.Add(worker);
            return worker;
        }, learner, options, (_, _) => ValueTask.CompletedTask);

        TimeSpan cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        long start = Stopwatch.GetTimestamp();
        double seconds;
        double cpu;
        double generatorCores;
        using (ActorSystem system = BasisActorSystem.Create("async-bench"))
        {
            await graph.RunAsync(system, CancellationToken.None);
            seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds;

            // What the generator threads were given (their CPU time against the run), read while the system, and so
            // the threads, still exist: a low-priority generator samples on its own Akka PinnedDispatcher thread.
            generatorCores = timed.SelectMany(t => t.Threads).Distinct().Sum(ThreadCpuSeconds) / seconds / generators;
        }
        IReadOnlyList<StageMetricsSnapshot> metrics = graph.Metrics;
        // The mean over generators: with several, each one's share of the run.
        double stageBusy = metrics.Where(m => m.Stage.StartsWith("generator-", StringComparison.Ordinal)).Average(m => m.BusyFraction);
        double learnerBusy = metrics.Single(m => m.Stage == "learner").BusyFraction;
        return new Result(stageBusy, timed.Sum(t => t.Sampling.TotalSeconds) / seconds / generators, timed.Sum(t => t.Waiting.TotalSeconds) / seconds / generators, learnerBusy, seconds, cpu / (seconds * Environment.ProcessorCount), generatorCores);
    }

    private static int Arg(string[] args, int index, int fallback) =>
        args.Length > index ? int.Parse(args[index], CultureInfo.InvariantCulture) : fallback;

    private static double Median(List<Result> results, Func<Result, double> value)
    {
        double[] values = [.. results.Select(value).Order()];
        return values[values.Length / 2];
    }

    private static double ThreadCpuSeconds(int osThreadId)
    {
        using Process process = Process.GetCurrentProcess();
        foreach (ProcessThread thread in process.Threads)
        {
            if (thread.Id == osThreadId)
            {
                return thread.TotalProcessorTime.TotalSeconds;
            }
        }

        return double.NaN;
    }

    private sealed record Result(double StageBusy, double Sampling, double Waiting, double LearnerBusy, double Seconds, double CoresUsed, double GeneratorThreadCores);

    /// <summary>
    /// Waits for the version a step allows on the learner's board (timed as waiting), hands it to the
    /// generator's own board, then lets the generator sample (timed as sampling).
    /// </summary>
    private sealed partial class TimedWorker(WeightBoard<PolicyWeights> learner, WeightBoard<PolicyWeights> own, int staleness, IRolloutWorker inner) : IRolloutWorker
    {
        public TimeSpan Waiting { get; private set; }

        public TimeSpan Sampling { get; private set; }

        /// <summary>The OS threads the generator sampled on (Linux thread ids).</summary>
        public HashSet<int> Threads { get; } = [];

        public async ValueTask PrepareAsync(WorkChunk chunk, CancellationToken cancellationToken)
        {
            long start = Stopwatch.GetTimestamp();
            (long version, PolicyWeights weights) = await learner.WaitForAsync(Math.Max(0, chunk.Step - staleness), cancellationToken).ConfigureAwait(false);
            if (version > own.LatestVersion)
            {
                own.Publish(version, weights);
            }

            await inner.PrepareAsync(chunk, cancellationToken).ConfigureAwait(false);
            Waiting += Stopwatch.GetElapsedTime(start);
        }

        public async ValueTask<IReadOnlyList<Rollout>> GenerateAsync(WorkChunk chunk, CancellationToken cancellationToken)
        {
            long start = Stopwatch.GetTimestamp();
            Threads.Add(GetThreadId());
            IReadOnlyList<Rollout> rollouts = await inner.GenerateAsync(chunk, cancellationToken).ConfigureAwait(false);
            Sampling += Stopwatch.GetElapsedTime(start);
            return rollouts;
        }

        [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "gettid")]
        private static extern int GetThreadId();
    }
}
