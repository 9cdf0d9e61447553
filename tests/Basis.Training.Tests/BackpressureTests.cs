using System.Collections;
using System.Globalization;
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

/// <summary>Memory is measured process-wide, so these tests run alone.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialCollection
{
    public const string Name = "serial";
}

/// <summary>
/// The training graph with a learner far slower than generation. The learner blocks on a gate the
/// test opens one step at a time; the source's every work item is counted as it is created, so the
/// look-ahead bound is checked at every element, not only at probes.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class BackpressureTests : Akka.TestKit.Xunit.TestKit
{
    public BackpressureTests()
        : base(ConfigurationFactory.ParseString(BasisActorSystem.Dispatchers))
    {
    }

    private const int Slots = 16;
    private const int Chunk = 4;
    private const int Edge = 2;

    private static readonly TaskPrompt[] s_prompts = Enumerable.Range(0, 64)
        .Select(i => new TaskPrompt($"p{i:D2}", $"{i}+1=", (i + 1).ToString(CultureInfo.InvariantCulture), "easy", "exact"))
        .ToArray();

    /// <summary>
    /// Chunks the graph can hold beyond the learner's finished steps, with one generator and one verifier: every
    /// island's input buffer and hands (<see cref="TrainingGraphOptions.ChunksInIslands"/>) plus the step the learner
    /// holds and the one in its sink's buffer; the step window (in steps) rounds this up to whole steps.
    /// </summary>
    private static readonly int s_boundChunks = Options(1, 1).ChunksInIslands + (2 * Slots / Chunk);

    private static readonly int s_windowItems = Options(1, 1).EffectiveStepsInFlight * Slots;

    [Fact]
    public async Task WithTheLearnerTenTimesSlowerEveryQueueStaysInItsBoundAndTheSourceStaysWithinTheBuffersAhead()
    {
        const int steps = 12;
        var clock = new ManualClock();
        var prompts = new CountingPrompts(s_prompts);
        var learner = new GatedLearner(clock, TimeSpan.FromMilliseconds(10 * Slots / Chunk));
        prompts.Learner = learner;
        var graph = NewGraph(prompts, learner, clock, steps, generators: 1, _ => new CannedWorker(clock, TimeSpan.FromMilliseconds(1)));

        Task run = graph.RunAsync(Sys, TestContext.Current.CancellationToken);
        for (int step = 0; step < steps; step++)
        {
            Assert.Equal(step, await learner.NextStepAsync().WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken));

            // The learner holds step `step`: generation runs ahead until the buffers are full, and no further.
            IReadOnlyList<StageMetricsSnapshot> metrics = graph.Metrics;
            Assert.All(metrics.Where(m => m.QueueCapacity > 0), m =>
            {
                Assert.InRange(m.QueueDepth, 0, m.QueueCapacity);
                Assert.InRange(m.MaxQueueDepth, 0, m.QueueCapacity);
            });
            Assert.InRange(prompts.Created - (step * Slots), 0, s_boundChunks * Chunk);
            learner.Release();
        }

        await run.WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
        Assert.Equal(steps * Slots, prompts.Created);

        // Checked at every work item the source created: never beyond the islands' buffers and the step window.
        Assert.InRange(prompts.MaxAhead, Slots, Math.Min(s_boundChunks * Chunk, s_windowItems));

        // Busy time on the fake clock: the learner is the bottleneck, generation mostly waits.
        StageMetricsSnapshot generator = graph.Metrics.Single(m => m.Stage.StartsWith("generator-0", StringComparison.Ordinal));
        StageMetricsSnapshot sink = graph.Metrics.Single(m => m.Stage == "learner");
        Assert.True(sink.BusyFraction > 5 * generator.BusyFraction, $"learner busy {sink.BusyFraction:F3}, generator busy {generator.BusyFraction:F3}");
    }

    [Fact]
    public async Task MemoryStaysFlatFromNToTenNStepsBehindASlowLearner()
    {
        const int n = 30;
        var clock = new ManualClock();
        var prompts = new CountingPrompts(s_prompts);
        var learner = new GatedLearner(clock, TimeSpan.FromMilliseconds(10 * Slots / Chunk));
        prompts.Learner = learner;
        var graph = NewGraph(prompts, learner, clock, 10 * n + 1, generators: 1, _ => new CannedWorker(clock, TimeSpan.FromMilliseconds(1)));

        Task run = graph.RunAsync(Sys, TestContext.Current.CancellationToken);
        long afterN = 0;
        for (int step = 0; step <= 10 * n; step++)
        {
            Assert.Equal(step, await learner.NextStepAsync().WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken));
            if (step == n || step == 10 * n)
            {
                // Measured in the same state both times: the learner holds a step and the source waits on backpressure.
                long bytes = GC.GetTotalMemory(forceFullCollection: true);
                if (step == n)
                {
                    afterN = bytes;
                }
                else
                {
                    // A graph that kept every rollout would grow by about 270 steps x 16 rollouts x 300 bytes, 1.3 MB.
                    Assert.True(bytes - afterN < 128 * 1024, $"heap went from {afterN:N0} to {bytes:N0} bytes between step {n} and step {10 * n}");
                }
            }

            learner.Release();
        }

        await run.WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
        Assert.InRange(prompts.MaxAhead, 0, Math.Min(s_boundChunks * Chunk, s_windowItems));
    }

    [Fact]
    public async Task AStalledGeneratorCannotLetTheOthersFillTheAssemblerWithTheSchedule()
    {
        // Generator 0 takes one chunk and holds it; generator 1 runs freely; the learner runs freely
        // but cannot finish the step generator 0 holds. Without the step window the source would issue
        // the whole schedule through generator 1 into the step assembler.
        const int steps = 40;
        var clock = new ManualClock();
        var prompts = new CountingPrompts(s_prompts);
        var learner = new GatedLearner(clock, TimeSpan.Zero) { Open = true };
        prompts.Learner = learner;
        var stall = new StallingWorker(new CannedWorker(clock, TimeSpan.FromMilliseconds(1)));
        var graph = NewGraph(prompts, learner, clock, steps, generators: 2, i => i == 0 ? stall : new CannedWorker(clock, TimeSpan.FromMilliseconds(1)));
        int window = (Options(steps, 2) with { Verifiers = 1 }).EffectiveStepsInFlight;

        Task run = graph.RunAsync(Sys, TestContext.Current.CancellationToken);
        long stalledStep = await stall.StalledAsync.WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);

        // Everything up to the end of the window is issued, then the source waits for the learner.
        long limit = (stalledStep + window) * Slots;
        await prompts.WhenCreatedAsync(limit).WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
        Assert.True(prompts.Created < steps * Slots);
        Assert.Equal(stalledStep, learner.Finished);

        stall.Release();
        await run.WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
        Assert.Equal(steps, learner.Finished);
        Assert.Equal(steps * Slots, prompts.Created);
        Assert.InRange(prompts.MaxAhead, 0, window * Slots);
    }

    [Fact]
    public async Task CancellingWhileTheSourceWaitsForTheLearnerCancelsTheRunInsteadOfFailingIt()
    {
        // The source waits on the step window most of the time when StepsInFlight = k + 1 (as basis train
        // sets it): a Ctrl-C must end the run as cancelled, every time. Repeated because the old failure was a race.
        for (int attempt = 0; attempt < 20; attempt++)
        {
            var clock = new ManualClock();
            var prompts = new CountingPrompts(s_prompts);
            var learner = new GatedLearner(clock, TimeSpan.Zero);
            prompts.Learner = learner;
            var options = Options(4, 1) with { StepsInFlight = 1 };
            var graph = new TrainingGraph(prompts, null, EstimatorCatalog.Create("reinforce"), VerifierRegistry.CreateDefault(), _ => new CannedWorker(clock, TimeSpan.Zero), learner, options, (_, _) => ValueTask.CompletedTask, clock);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);

            Task run = graph.RunAsync(Sys, stop.Token);
            Assert.Equal(0, await learner.NextStepAsync().WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken));
            await prompts.WhenCreatedAsync(Slots).WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
            stop.Cancel();
            learner.Release();

            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken));
            Assert.Equal(Slots, prompts.Created); // the window held step 1 back
        }
    }

    private static TrainingGraph NewGraph(CountingPrompts prompts, IPolicyLearner learner, TimeProvider clock, int steps, int generators, Func<int, IRolloutWorker> workers) =>
        new(prompts, null, EstimatorCatalog.Create("reinforce"), VerifierRegistry.CreateDefault(), workers, learner, Options(steps, generators), (_, _) => ValueTask.CompletedTask, clock);

    private static TrainingGraphOptions Options(int steps, int generators) => new()
    {
        Steps = steps,
        PromptsPerStep = Slots,
        ChunkSize = Chunk,
        Generators = generators,
        Verifiers = 1,
        EdgeBuffer = Edge,
        Seed = 5,
    };

    /// <summary>A clock that moves only when told to.</summary>
    private sealed class ManualClock : TimeProvider
    {
        private long _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Read(ref _ticks);

        public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
    }

    /// <summary>
    /// The training set, counting every prompt the source reads: one read per work item it creates.
    /// At each read it checks how far the source is ahead of the learner's finished steps.
    /// </summary>
    private sealed class CountingPrompts(IReadOnlyList<TaskPrompt> inner) : IReadOnlyList<TaskPrompt>
    {
        private readonly object _gate = new();
        private long _created;
        private long _maxAhead;
        private (long Count, TaskCompletionSource Signal)? _waiter;

        public GatedLearner? Learner { get; set; }

        public int Count => inner.Count;

        public long Created => Interlocked.Read(ref _created);

        /// <summary>The most work items ever created beyond the learner's finished steps (read before the count, so never under-reported).</summary>
        public long MaxAhead => Interlocked.Read(ref _maxAhead);

        public TaskPrompt this[int index]
        {
            get
            {
                long finished = Learner!.Finished;
                TaskCompletionSource? ready = null;
                lock (_gate)
                {
                    _created++;
                    _maxAhead = Math.Max(_maxAhead, _created - (finished * Slots));
                    if (_waiter is { } w && _created >= w.Count)
                    {
                        ready = w.Signal;
                        _waiter = null;
                    }
                }

                ready?.TrySetResult();
                return inner[index];
            }
        }

        public Task WhenCreatedAsync(long count)
        {
            lock (_gate)
            {
                if (_created >= count)
                {
                    return Task.CompletedTask;
                }

                var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _waiter = (count, signal);
                return signal.Task;
            }
        }

        public IEnumerator<TaskPrompt> GetEnumerator() => inner.GetEnumerator();

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }

    /// <summary>Returns canned rollouts at once; each chunk costs <c>cost</c> on the fake clock.</summary>
    private sealed class CannedWorker(ManualClock clock, TimeSpan cost) : IRolloutWorker
    {
        public ValueTask<IReadOnlyList<Rollout>> GenerateAsync(WorkChunk chunk, CancellationToken cancellationToken)
        {
            var rollouts = new Rollout[chunk.Items.Count];
            for (int i = 0; i < rollouts.Length; i++)
            {
                WorkItem item = chunk.Items[i];
                rollouts[i] = new Rollout(item, item.Slot % 2 == 0 ? item.Prompt.Gold : "0", [1], [2, 3], [-0.5f, -0.1f], 0);
            }

            clock.Advance(cost);
            return ValueTask.FromResult<IReadOnlyList<Rollout>>(rollouts);
        }
    }

    /// <summary>Holds the first chunk it gets until the test releases it; generates the rest normally.</summary>
    private sealed class StallingWorker(IRolloutWorker inner) : IRolloutWorker
    {
        private readonly TaskCompletionSource<long> _stalled = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<long> StalledAsync => _stalled.Task;

        public void Release() => _release.TrySetResult();

        public async ValueTask<IReadOnlyList<Rollout>> GenerateAsync(WorkChunk chunk, CancellationToken cancellationToken)
        {
            if (_stalled.TrySetResult(chunk.Step))
            {
                await _release.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            }

            return await inner.GenerateAsync(chunk, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A learner that takes <c>cost</c> of fake time per step and, unless open, waits in each step
    /// until the test releases it. It keeps no batches, so it holds no memory across steps.
    /// </summary>
    private sealed class GatedLearner(ManualClock clock, TimeSpan cost) : IPolicyLearner
    {
        private readonly SemaphoreSlim _release = new(0);
        private readonly System.Threading.Channels.Channel<long> _entered = System.Threading.Channels.Channel.CreateUnbounded<long>();
        private long _finished;

        public bool Open { get; init; }

        public long Version => Finished;

        public long Finished => Interlocked.Read(ref _finished);

        public Task<long> NextStepAsync() => _entered.Reader.ReadAsync().AsTask();

        public void Release() => _release.Release();

        public LearnerSummary Update(TrainingBatch batch)
        {
            if (!Open)
            {
                _entered.Writer.TryWrite(batch.Step);
                _release.Wait();
            }

            clock.Advance(cost);
            long version = Interlocked.Increment(ref _finished);
            return new LearnerSummary(version, 0, 0, 0, 0, 0, batch.Rollouts.Count, 0);
        }
    }
}
