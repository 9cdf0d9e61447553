using System.Globalization;
using Basis.Estimators;
using Akka.Configuration;
using Akka.Streams;
using Basis.Training.Graph.Monitoring;
using Basis.Training.Hosting;
using Basis.Tasks;
using Basis.Tasks.Verification;
using Basis.Training.Chaos;
using Basis.Training.Graph;
using Xunit;

namespace Basis.Training.Tests;

public sealed class ChaosTests : Akka.TestKit.Xunit.TestKit
{
    public ChaosTests()
        : base(ConfigurationFactory.ParseString(BasisActorSystem.Dispatchers))
    {
    }

    private static readonly TaskPrompt[] s_prompts = Enumerable.Range(0, 40)
        .Select(i => new TaskPrompt($"p{i:D2}", $"{i}+1=", (i + 1).ToString(CultureInfo.InvariantCulture), "easy", "exact"))
        .ToArray();

    [Fact]
    public void TheVerifierFailureScheduleHitsItsRateAndDependsOnlyOnSeedStepAndSlot()
    {
        int hits = 0;
        for (int step = 0; step < 1000; step++)
        {
            for (int slot = 0; slot < 100; slot++)
            {
                bool fails = ChaosSchedule.VerifierFails(3, 0.01, step, slot);
                Assert.Equal(fails, ChaosSchedule.VerifierFails(3, 0.01, step, slot));
                hits += fails ? 1 : 0;
            }
        }

        // Binomial(100000, 0.01): mean 1000, standard deviation 31.5; the draws are fixed by the seed.
        Assert.InRange(hits, 1000 - 126, 1000 + 126);
        Assert.False(ChaosSchedule.VerifierFails(3, 0, 0, 0));
        Assert.True(ChaosSchedule.VerifierFails(3, 1, 12, 34));
        Assert.NotEqual(
            Enumerable.Range(0, 2000).Where(s => ChaosSchedule.VerifierFails(3, 0.01, 0, s)),
            Enumerable.Range(0, 2000).Where(s => ChaosSchedule.VerifierFails(4, 0.01, 0, s)));
    }

    [Fact]
    public async Task InjectedVerifierFailuresQuarantineExactlyTheScheduledRolloutsWhicheverVerifierScoresThem()
    {
        var chaos = new ChaosSettings { VerifierFailureRate = 0.05, Seed = 9 };
        var learner = new Learner(null);
        var options = new TrainingGraphOptions { Steps = 8, PromptsPerStep = 16, ChunkSize = 3, Verifiers = 3, EdgeBuffer = 2, Seed = 2 };
        var graph = new TrainingGraph(s_prompts, null, EstimatorCatalog.Create("reinforce"), ChaosInjection.Verifiers(VerifierRegistry.CreateDefault(), chaos), _ => new EchoWorker(null, 0), learner, options, (_, _) => ValueTask.CompletedTask);

        await graph.RunAsync(Sys, TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);

        var expected = (from step in Enumerable.Range(0, 8) from slot in Enumerable.Range(0, 16) where ChaosSchedule.VerifierFails(9, 0.05, step, slot) select (step, slot)).ToArray();
        Assert.NotEmpty(expected);
        VerifiedRollout[] quarantined = learner.Batches.SelectMany(b => b.Rollouts).Where(r => r.Quarantined).ToArray();
        Assert.Equal(expected, quarantined.Select(r => ((int)r.Work.Step, r.Work.Slot)).Order());
        Assert.All(quarantined, r => Assert.Contains("verifier 'exact' threw ChaosException: injected verifier failure", r.Reason));
        Assert.All(learner.Batches.SelectMany(b => b.Rollouts).Where(r => !r.Quarantined), r => Assert.Equal(1, r.Reward));
    }

    [Fact]
    public async Task ACrashedGeneratorsWorkOvertakesLaterStepsSoSynchronousTrainingCannotDeadlock()
    {
        // k = 0 with one generator: step s may only be sampled once the learner has finished s - 1. The
        // generator crashes on its 4th chunk (step 1's second); by then chunks of step 2 are buffered in
        // front of the redone chunk. Were the redone chunk queued behind them, the restarted generator
        // would take a step-2 chunk and wait forever for a version that needs the chunk behind it.
        var board = new WeightBoard<string>();
        board.Publish(0, "v0");
        var learner = new Learner(board);
        int incarnations = 0;
        var options = new TrainingGraphOptions
        {
            Steps = 4,
            PromptsPerStep = 8,
            ChunkSize = 4,
            EdgeBuffer = 2,
            Seed = 3,
            GeneratorRestart = RestartSettings.Create(TimeSpan.Zero, TimeSpan.Zero, 0).WithMaxRestarts(3, TimeSpan.FromHours(1)),
        };
        var graph = new TrainingGraph(s_prompts, null, EstimatorCatalog.Create("reinforce"), VerifierRegistry.CreateDefault(), _ =>
        {
            Interlocked.Increment(ref incarnations);
            return ChaosInjection.Worker(new EchoWorker(board, staleness: 0), new ChaosSettings { GeneratorCrashEvery = 4 });
        }, learner, options, (_, _) => ValueTask.CompletedTask);

        await graph.RunAsync(Sys, TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);

        Assert.Equal([0L, 1, 2, 3], learner.Batches.Select(b => b.Step));
        Assert.All(learner.Batches, b => Assert.Equal(Enumerable.Range(0, 8), b.Rollouts.Select(r => r.Work.Slot)));
        Assert.Equal(3, incarnations); // each incarnation crashes on its 4th chunk; the third finishes the 8
        Assert.InRange(graph.RetriedChunks, 2, 2 * TrainingGraphOptions.GeneratorHolds(options.EdgeBuffer));
        Assert.Equal(2, graph.Metrics.Sum(m => m.Restarts));
    }

    [Fact]
    public async Task AChaosWorkerCrashesOnItsNthChunkAndOnlyThen()
    {
        var worker = new ChaosRolloutWorker(new EchoWorker(null, 0), crashEvery: 2);
        var chunk = new WorkChunk(0, [new WorkItem(0, 0, 0, s_prompts[0], null, 1)]);

        Assert.Single(await worker.GenerateAsync(chunk, CancellationToken.None));
        ChaosException error = await Assert.ThrowsAsync<ChaosException>(async () => await worker.GenerateAsync(chunk, CancellationToken.None));
        Assert.Contains("basis.chaos.generator-crash-every = 2", error.Message);
        Assert.Single(await worker.GenerateAsync(chunk, CancellationToken.None));

        // Chaos off: the graph gets the very registry and worker it would have had.
        VerifierRegistry registry = VerifierRegistry.CreateDefault();
        Assert.Same(registry, ChaosInjection.Verifiers(registry, new ChaosSettings()));
        Assert.Same(worker, ChaosInjection.Worker(worker, new ChaosSettings()));
    }

    /// <summary>Answers every prompt correctly; with a board, waits for the version its staleness allows, as the real generator does.</summary>
    private sealed class EchoWorker(WeightBoard<string>? board, int staleness) : IRolloutWorker
    {
        public async ValueTask<IReadOnlyList<Rollout>> GenerateAsync(WorkChunk chunk, CancellationToken cancellationToken)
        {
            long version = 0;
            if (board is not null)
            {
                (version, _) = await board.WaitForAsync(Math.Max(0, chunk.Step - staleness), cancellationToken).ConfigureAwait(false);
            }

            return chunk.Items.Select(i => new Rollout(i, i.Prompt.Gold, [1], [2], [-0.5f], version)).ToArray();
        }
    }

    private sealed class Learner(WeightBoard<string>? board) : IPolicyLearner
    {
        public List<TrainingBatch> Batches { get; } = new();

        public long Version { get; private set; }

        public LearnerSummary Update(TrainingBatch batch)
        {
            Batches.Add(batch);
            Version++;
            board?.Publish(Version, $"v{Version}");
            return new LearnerSummary(Version, 0, 0, 0, 0, 0, batch.Rollouts.Count, 0);
        }
    }
}
