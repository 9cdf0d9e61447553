using Basis.Estimators;
using Akka.Configuration;
using Akka.Streams;
using Basis.Training.Graph.Monitoring;
using Basis.Training.Hosting;
using Basis.Tasks;
using Basis.Tasks.Verification;
using Basis.Training.Graph;
using Xunit;

namespace Basis.Training.Tests;

public class TrainingGraphTests : Akka.TestKit.Xunit.TestKit
{
    public TrainingGraphTests()
        : base(ConfigurationFactory.ParseString(BasisActorSystem.Dispatchers))
    {
    }

    private static readonly TaskPrompt[] s_prompts = Enumerable.Range(0, 40)
        .Select(i => new TaskPrompt($"p{i:D2}", $"{i}+1=", (i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), "easy", "exact"))
        .ToArray();

    [Fact]
    public async Task EveryStepReachesTheLearnerOnceInOrderWithEverySlot()
    {
        var learner = new RecordingLearner();
        var options = Options(steps: 6, prompts: 8, generators: 3);
        var graph = new TrainingGraph(s_prompts, Offline(), EstimatorCatalog.Create("basis"), VerifierRegistry.CreateDefault(), _ => new EchoWorker(correctEvery: 2), learner, options, (_, _) => ValueTask.CompletedTask);

        await graph.RunAsync(Sys, TestContext.Current.CancellationToken);

        Assert.Equal([0L, 1, 2, 3, 4, 5], learner.Batches.Select(b => b.Step));
        foreach (TrainingBatch batch in learner.Batches)
        {
            Assert.Equal(Enumerable.Range(0, 8), batch.Rollouts.Select(r => r.Work.Slot));
            Assert.Equal(graph.Schedule.PromptsOf(batch.Step).Select(i => s_prompts[i].Id), batch.Rollouts.Select(r => r.Work.Prompt.Id));
            Assert.Equal(batch.Rollouts.Count, batch.Estimates.Count);
            Assert.All(batch.Estimates, e => Assert.True(double.IsFinite(e.Advantage)));
            Assert.Equal("basis", batch.Diagnostics.Estimator);
        }
    }

    [Fact]
    public async Task SamplingSeedsDependOnStepAndSlotNotOnWhichGeneratorRan()
    {
        async Task<ulong[]> SeedsWith(int generators)
        {
            var learner = new RecordingLearner();
            var graph = new TrainingGraph(s_prompts, null, EstimatorCatalog.Create("reinforce"), VerifierRegistry.CreateDefault(), _ => new EchoWorker(1), learner, Options(3, 8, generators), (_, _) => ValueTask.CompletedTask);
            await graph.RunAsync(Sys, TestContext.Current.CancellationToken);
            return learner.Batches.SelectMany(b => b.Rollouts.Select(r => r.Work.Seed)).ToArray();
        }

        Assert.Equal(await SeedsWith(1), await SeedsWith(4));
    }

    [Fact]
    public async Task GroupEstimatorsGetGRolloutsPerPromptAndZeroVarianceGroupsCanBeFiltered()
    {
        var learner = new RecordingLearner();
        var options = Options(steps: 2, prompts: 4) with { RolloutsPerPrompt = 4, FilterZeroVarianceGroups = true };

        // Prompt slots 0 and 2 always correct (zero variance); others alternate by group index.
        var graph = new TrainingGraph(s_prompts, null, EstimatorCatalog.Create("grpo:4"), VerifierRegistry.CreateDefault(), _ => new GroupWorker(), learner, options, (_, _) => ValueTask.CompletedTask);
        await graph.RunAsync(Sys, TestContext.Current.CancellationToken);

        foreach (TrainingBatch batch in learner.Batches)
        {
            Assert.Equal([1, 3], batch.Rollouts.Select(r => r.Work.Slot / 4).Distinct());
            Assert.Equal(8, batch.Rollouts.Count);
            Assert.All(batch.Estimates, e => Assert.NotEqual(0, e.Advantage));
        }
    }

    [Fact]
    public async Task AThrowingVerifierQuarantinesItsRolloutsAndTheRunGoesOn()
    {
        var registry = VerifierRegistry.CreateDefault();
        registry.Register(new FlakyVerifier(failEvery: 5));
        TaskPrompt[] prompts = s_prompts.Select(p => p with { Verifier = "flaky" }).ToArray();
        var learner = new RecordingLearner();
        var reports = new List<StepReport>();
        var graph = new TrainingGraph(prompts, Offline(), EstimatorCatalog.Create("basis"), registry, _ => new EchoWorker(1), learner, Options(5, 8), (r, _) =>
        {
            reports.Add(r);
            return ValueTask.CompletedTask;
        });

        await graph.RunAsync(Sys, TestContext.Current.CancellationToken);

        Assert.Equal(5, learner.Batches.Count);
        VerifiedRollout[] quarantined = learner.Batches.SelectMany(b => b.Rollouts).Where(r => r.Quarantined).ToArray();
        Assert.Equal(8, quarantined.Length); // 40 rollouts, every 5th throws
        Assert.All(quarantined, r => Assert.Contains("verifier 'flaky' threw InvalidOperationException: bad luck", r.Reason));
        Assert.All(learner.Batches.SelectMany(b => b.Rollouts.Zip(b.Estimates)).Where(p => p.First.Quarantined), p => Assert.Equal(0, p.Second.Advantage));
        Assert.Equal(8, reports.Sum(r => r.Quarantined));
    }

    [Fact]
    public async Task ACrashedGeneratorIsRestartedAndItsWorkIsRedone()
    {
        int created = 0;
        var learner = new RecordingLearner();
        var options = Options(4, 8, generators: 1) with { GeneratorRestart = RestartSettings.Create(TimeSpan.Zero, TimeSpan.Zero, 0).WithMaxRestarts(5, TimeSpan.FromMinutes(1)) };
        var graph = new TrainingGraph(s_prompts, null, EstimatorCatalog.Create("reinforce"), VerifierRegistry.CreateDefault(), _ =>
        {
            // The first two incarnations crash on their second chunk.
            int incarnation = Interlocked.Increment(ref created);
            return new CrashingWorker(crashOnCall: incarnation <= 2 ? 2 : int.MaxValue);
        }, learner, options, (_, _) => ValueTask.CompletedTask);

        await graph.RunAsync(Sys, TestContext.Current.CancellationToken);

        Assert.Equal(3, created);

        // Each crash loses the chunk it crashed on and whatever the incarnation had prefetched (RestartFlow is lossy);
        // the next incarnation redoes exactly those.
        Assert.InRange(graph.RetriedChunks, 2, 2 * TrainingGraphOptions.GeneratorHolds(options.EdgeBuffer));
        Assert.Equal(2, graph.Metrics.Single(m => m.Stage == "generator-0").Restarts);
        Assert.Equal([0L, 1, 2, 3], learner.Batches.Select(b => b.Step));
        Assert.All(learner.Batches, b => Assert.Equal(Enumerable.Range(0, 8), b.Rollouts.Select(r => r.Work.Slot)));
    }

    [Fact]
    public async Task WhenTheRestartBudgetIsSpentTheRunFailsNamingTheGenerator()
    {
        var learner = new RecordingLearner();
        var options = Options(4, 8) with { GeneratorRestart = RestartSettings.Create(TimeSpan.Zero, TimeSpan.Zero, 0).WithMaxRestarts(2, TimeSpan.FromHours(1)) };
        var graph = new TrainingGraph(s_prompts, null, EstimatorCatalog.Create("reinforce"), VerifierRegistry.CreateDefault(), _ => new CrashingWorker(crashOnCall: 1), learner, options, (_, _) => ValueTask.CompletedTask);

        StageFailedException error = await Assert.ThrowsAsync<StageFailedException>(() => graph.RunAsync(Sys, TestContext.Current.CancellationToken));

        Assert.StartsWith("generator-0", error.Stage, StringComparison.Ordinal);
        Assert.Contains("generator crashed", error.ToString());
        Assert.Empty(learner.Batches);
    }

    [Fact]
    public async Task ASlowLearnerThrottlesGenerationWithinTheEdgeBounds()
    {
        var gate = new LearnerGate();
        var options = Options(steps: 40, prompts: 8, generators: 2) with { ChunkSize = 2, EdgeBuffer = 2 };
        var worker = new CountingWorker();
        var graph = new TrainingGraph(s_prompts, null, EstimatorCatalog.Create("reinforce"), VerifierRegistry.CreateDefault(), _ => worker, gate, options, (_, _) => ValueTask.CompletedTask);

        Task run = graph.RunAsync(Sys, TestContext.Current.CancellationToken);
        await gate.WaitUntilBlockedAsync();

        // The learner holds step 0. Generation may run ahead only as far as the islands' buffers and the step window
        // let it, never through the whole schedule (160 chunks).
        int window = options.EffectiveStepsInFlight * options.ChunksPerStep;
        Assert.True(window < 160 / 2, $"the window ({window} chunks) should be a small part of the schedule");
        int generated = worker.Chunks;
        Assert.True(generated <= window, $"generated {generated} chunks while the learner was blocked (window {window})");
        Assert.All(graph.Metrics.Where(m => m.QueueCapacity > 0), m => Assert.True(m.MaxQueueDepth <= m.QueueCapacity, $"{m.Stage}: {m.MaxQueueDepth} > {m.QueueCapacity}"));

        gate.Release();
        await run;
        Assert.Equal(160, worker.Chunks);
    }

    private static TrainingGraphOptions Options(int steps, int prompts, int generators = 1) => new()
    {
        Steps = steps,
        PromptsPerStep = prompts,
        ChunkSize = 3,
        Generators = generators,
        Verifiers = 2,
        EdgeBuffer = 2,
        Seed = 11,
    };

    private static OfflineValueTable Offline() =>
        new("hash", s_prompts.Select((p, i) => KeyValuePair.Create(p.Id, new OfflineCounts(i % 9, 8))));

    private static Rollout Echo(WorkItem item, string completion) => new(item, completion, [1], [2, 3], [-0.5f, -0.1f], 0);

    private sealed class EchoWorker(int correctEvery) : IRolloutWorker
    {
        public ValueTask<IReadOnlyList<Rollout>> GenerateAsync(WorkChunk chunk, CancellationToken cancellationToken) =>
            ValueTask.FromResult<IReadOnlyList<Rollout>>(chunk.Items.Select(i => Echo(i, i.Slot % correctEvery == 0 ? i.Prompt.Gold : "0")).ToArray());
    }

    private sealed class GroupWorker : IRolloutWorker
    {
        public ValueTask<IReadOnlyList<Rollout>> GenerateAsync(WorkChunk chunk, CancellationToken cancellationToken) =>
            ValueTask.FromResult<IReadOnlyList<Rollout>>(chunk.Items.Select(i =>
                Echo(i, (i.Slot / 4) % 2 == 0 || i.GroupIndex % 2 == 0 ? i.Prompt.Gold : "0")).ToArray());
    }

    private sealed class CrashingWorker(int crashOnCall) : IRolloutWorker
    {
        private int _calls;

        public ValueTask<IReadOnlyList<Rollout>> GenerateAsync(WorkChunk chunk, CancellationToken cancellationToken)
        {
            if (++_calls == crashOnCall)
            {
                throw new InvalidOperationException("generator crashed");
            }

            return ValueTask.FromResult<IReadOnlyList<Rollout>>(chunk.Items.Select(i => Echo(i, i.Prompt.Gold)).ToArray());
        }
    }

    private sealed class CountingWorker : IRolloutWorker
    {
        private int _chunks;

        public int Chunks => Volatile.Read(ref _chunks);

        public ValueTask<IReadOnlyList<Rollout>> GenerateAsync(WorkChunk chunk, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _chunks);
            return ValueTask.FromResult<IReadOnlyList<Rollout>>(chunk.Items.Select(i => Echo(i, i.Prompt.Gold)).ToArray());
        }
    }

    private sealed class FlakyVerifier(int failEvery) : IVerifier
    {
        private int _calls;

        public string Name => "flaky";

        public VerificationResult Verify(string completion, string gold)
        {
            if (Interlocked.Increment(ref _calls) % failEvery == 0)
            {
                throw new InvalidOperationException("bad luck");
            }

            return completion == gold ? VerificationResult.Correct(completion) : VerificationResult.Wrong(completion);
        }
    }

    private sealed class RecordingLearner : IPolicyLearner
    {
        public List<TrainingBatch> Batches { get; } = new();

        public long Version { get; private set; }

        public LearnerSummary Update(TrainingBatch batch)
        {
            Batches.Add(batch);
            Version++;
            return new LearnerSummary(Version, 0, 0, 0, 0, 0, batch.Rollouts.Count, 0);
        }
    }

    /// <summary>A learner that blocks on its first step until the test releases it.</summary>
    private sealed class LearnerGate : IPolicyLearner
    {
        private readonly TaskCompletionSource _blocked = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly ManualResetEventSlim _release = new();

        public long Version { get; private set; }

        public Task WaitUntilBlockedAsync() => _blocked.Task;

        public void Release() => _release.Set();

        public LearnerSummary Update(TrainingBatch batch)
        {
            _blocked.TrySetResult();
            _release.Wait();
            Version++;
            return new LearnerSummary(Version, 0, 0, 0, 0, 0, batch.Rollouts.Count, 0);
        }
    }
}
