using System.Runtime.CompilerServices;
using Akka;
using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.Streams.Supervision;
using Decider = Akka.Streams.Supervision.Decider;
using Directive = Akka.Streams.Supervision.Directive;
using Basis.Estimators;
using Basis.Tasks;
using Basis.Tasks.Verification;
using Basis.Training.Graph.Monitoring;
using Basis.Training.Schedule;

namespace Basis.Training.Graph;

/// <summary>
/// One training run as an Akka.Streams graph, materialized in the run's ActorSystem:
/// PromptSource → Balance → RolloutGenerator ×N → Merge → Balance → Verifier ×M → Merge
/// → BatchAggregator → Learner (an actor behind <c>Sink.ActorRefWithAck</c>).
/// Every generator, verifier and the aggregator is an async island with an input buffer of
/// <see cref="TrainingGraphOptions.EdgeBuffer"/> chunks, and the source runs at most
/// <see cref="TrainingGraphOptions.EffectiveStepsInFlight"/> steps ahead of the learner, so a slow learner (or a
/// stalled generator) throttles generation instead of growing memory. Work a crashed generator dropped is generated
/// again by its restarted incarnation before anything else (<see cref="GeneratorLane"/>), so no step is lost.
/// </summary>
public sealed class TrainingGraph
{
    private readonly IReadOnlyList<TaskPrompt> _prompts;
    private readonly OfflineValueTable? _offline;
    private readonly IAdvantageEstimator _estimator;
    private readonly VerifierRegistry _verifiers;
    private readonly Func<int, IRolloutWorker> _workerFactory;
    private readonly IPolicyLearner _learner;
    private readonly TrainingGraphOptions _options;
    private readonly TimeProvider _time;
    private readonly Func<StepReport, CancellationToken, ValueTask> _onStep;
    private readonly PromptSchedule _schedule;
    private readonly TaskCompletionSource _allStepsReleased = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly StepWindow _window;
    private readonly long _started;
    private readonly List<StageMeter> _meters = [];
    private int _retried;

    public TrainingGraph(
        IReadOnlyList<TaskPrompt> prompts,
        OfflineValueTable? offline,
        IAdvantageEstimator estimator,
        VerifierRegistry verifiers,
        Func<int, IRolloutWorker> workerFactory,
        IPolicyLearner learner,
        TrainingGraphOptions options,
        Func<StepReport, CancellationToken, ValueTask> onStep,
        TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(estimator);
        ArgumentNullException.ThrowIfNull(verifiers);
        ArgumentNullException.ThrowIfNull(workerFactory);
        ArgumentNullException.ThrowIfNull(learner);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(onStep);
        options.Validate();
        if (prompts.Count == 0)
        {
            throw new ArgumentException("the training set is empty.", nameof(prompts));
        }

        if (estimator.RolloutsPerPrompt != options.RolloutsPerPrompt)
        {
            throw new ArgumentException($"estimator '{estimator.Name}' expects {estimator.RolloutsPerPrompt} rollouts per prompt, the graph samples {options.RolloutsPerPrompt}.", nameof(options));
        }

        _prompts = prompts;
        _offline = offline;
        _estimator = estimator;
        _verifiers = verifiers;
        _workerFactory = workerFactory;
        _learner = learner;
        _options = options;
        _onStep = onStep;
        _time = time ?? TimeProvider.System;
        _schedule = new PromptSchedule(prompts.Count, options.PromptsPerStep, options.Seed);
        _window = new StepWindow(options.FirstStep, options.EffectiveStepsInFlight);
        _started = _time.GetTimestamp();
    }

    /// <summary>Per-stage throughput, queue depth and busy fraction of the running (or last) run.</summary>
    public IReadOnlyList<StageMetricsSnapshot> Metrics
    {
        get
        {
            lock (_meters)
            {
                return [.. _meters.Select(m => m.Snapshot())];
            }
        }
    }

    /// <summary>Chunks a crashed generator dropped and its restarted incarnation generated again.</summary>
    public int RetriedChunks => Volatile.Read(ref _retried);

    public PromptSchedule Schedule => _schedule;

    /// <summary>Runs the graph in <paramref name="system"/> until the last step is learned, the run fails, or it is cancelled.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="StageFailedException">A generator spent its restart budget.</exception>
    public async Task RunAsync(ActorSystem system, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(system);
        int buffer = _options.EdgeBuffer;
        Attributes island = Attributes.CreateInputBuffer(buffer, buffer);
        StageMeter source = Meter("prompt-source", "source", 0);
        StageMeter[] generators = [.. Enumerable.Range(0, _options.Generators).Select(i => Meter($"generator-{i}", "flow", TrainingGraphOptions.GeneratorHolds(buffer)))];
        StageMeter[] verifiers = [.. Enumerable.Range(0, _options.Verifiers).Select(i => Meter($"verifier-{i}", "flow", buffer + 1))];
        StageMeter aggregator = Meter("batch-aggregator", "flow", buffer + 1);
        StageMeter learner = Meter("learner", "sink", 2); // the sink's one-element buffer and the step in hand
        GraphTelemetry.Track(_meters);

        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        IActorRef learnerActor = system.ActorOf(LearnerActor.Props(batch => LearnAsync(batch, cancellationToken), done, learner, _options.LearnerDispatcher), $"learner-{Guid.NewGuid():N}");
        Decider verifierDecider = _options.VerifierDecider;
        var lanes = generators.Select((meter, i) => new GeneratorLane(i, _workerFactory, _options.GeneratorRestart, Redone, meter, cancellationToken)).ToArray();

        Sink<TrainingBatch, NotUsed> learnerSink = Sink.ActorRefWithAck<TrainingBatch>(
            learnerActor,
            LearnerActor.StreamInit.Instance,
            LearnerActor.StepDone.Instance,
            LearnerActor.StreamCompleted.Instance,
            error => new LearnerActor.StreamFailed(error)).WithAttributes(Attributes.CreateInputBuffer(1, 1));

        var graph = RunnableGraph.FromGraph(GraphDsl.Create(b =>
        {
            var toGenerators = b.Add(new Balance<WorkChunk>(_options.Generators));
            var fromGenerators = b.Add(new Merge<IReadOnlyList<Rollout>>(_options.Generators));
            b.From(Source.From(() => WorkAsync(cancellationToken)).Select(chunk => Emitted(source, chunk)).Named("prompt-source")).To(toGenerators.In);
            for (int i = 0; i < lanes.Length; i++)
            {
                StageMeter meter = generators[i];
                b.From(toGenerators.Out(i))
                    .Via(Flow.Create<WorkChunk>().Select(chunk => Offered(meter, chunk)))
                    .Via(lanes[i].Create().Named(lanes[i].Name).WithAttributes(island.And(ActorAttributes.CreateDispatcher(_options.GeneratorDispatcher))).Async())
                    .To(fromGenerators.In(i));
            }

            var toVerifiers = b.Add(new Balance<IReadOnlyList<Rollout>>(_options.Verifiers));
            var fromVerifiers = b.Add(new Merge<IReadOnlyList<VerifiedRollout>>(_options.Verifiers));
            b.From(fromGenerators.Out).To(toVerifiers.In);
            for (int i = 0; i < verifiers.Length; i++)
            {
                StageMeter meter = verifiers[i];
                b.From(toVerifiers.Out(i))
                    .Via(Flow.Create<IReadOnlyList<Rollout>>().Select(rollouts => Offered(meter, rollouts)))
                    .Via(Flow.Create<IReadOnlyList<Rollout>>().Select(rollouts => Verify(rollouts, meter, verifierDecider)).Named($"verifier-{i}").WithAttributes(island).Async())
                    .To(fromVerifiers.In(i));
            }

            b.From(fromVerifiers.Out)
                .Via(Flow.Create<IReadOnlyList<VerifiedRollout>>().Select(rollouts => Offered(aggregator, rollouts)))
                .Via(Flow.Create<IReadOnlyList<VerifiedRollout>>().StatefulSelectMany(() => AggregatorFor(aggregator)).Named("batch-aggregator").WithAttributes(island).Async())
                .Via(Flow.Create<TrainingBatch>().Select(batch => Offered(learner, batch)))
                .To(learnerSink);
            return ClosedShape.Instance;
        }));

        // Boundaries the graph does not size itself (RestartFlow runs each generator incarnation as a sub-stream with a
        // boundary of its own) hold one element: a lane then holds at most its island buffer and its hands.
        graph.Run(system.Materializer(ActorMaterializerSettings.Create(system).WithInputBuffer(1, 1), namePrefix: "training"));
        try
        {
            await done.Task.ConfigureAwait(false);
        }
        finally
        {
            GraphTelemetry.Untrack(_meters);
            StageStatus final = done.Task.IsCompletedSuccessfully ? StageStatus.Completed : done.Task.IsCanceled ? StageStatus.Cancelled : StageStatus.Failed;
            lock (_meters)
            {
                _meters.ForEach(m => m.Stopped(final));
            }
        }
    }

    private StageMeter Meter(string name, string kind, int capacity)
    {
        var meter = new StageMeter(name, kind, capacity, _time);
        lock (_meters)
        {
            _meters.Add(meter);
        }

        return meter;
    }

    private static T Offered<T>(StageMeter meter, T element)
    {
        meter.Offered();
        return element;
    }

    private static T Emitted<T>(StageMeter meter, T element)
    {
        meter.Emitted();
        return element;
    }

    /// <summary>The learner's step: one policy-gradient update, then the run's observers (journal, metrics, display).</summary>
    private async Task LearnAsync(TrainingBatch batch, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        LearnerSummary summary = _learner.Update(batch);
        _window.Finished(batch.Step);
        int quarantined = CountQuarantined(batch.Rollouts);
        await _onStep(new StepReport(batch, summary, quarantined, _options.SlotsPerStep - batch.Rollouts.Count, _time.GetElapsedTime(_started)), cancellationToken).ConfigureAwait(false);
    }

    private void Redone(int chunks) => Interlocked.Add(ref _retried, chunks);

    /// <summary>
    /// The prompt source: the schedule's steps cut into chunks, each step issued once the step window allows it.
    /// Work a crashed generator dropped does not come through here: its lane redoes it first.
    /// </summary>
    private async IAsyncEnumerable<WorkChunk> WorkAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        long end = _options.FirstStep + _options.Steps;
        var chunk = new List<WorkItem>(_options.ChunkSize);
        for (long step = _options.FirstStep; step < end; step++)
        {
            await _window.WaitUntilAllowedAsync(step, cancellationToken).ConfigureAwait(false);

            int[] prompts = _schedule.PromptsOf(step);
            for (int p = 0; p < prompts.Length; p++)
            {
                TaskPrompt prompt = _prompts[prompts[p]];
                OfflineCounts? offline = _offline is not null && _offline.TryGet(prompt.Id, out OfflineCounts counts) ? counts : null;
                for (int g = 0; g < _options.RolloutsPerPrompt; g++)
                {
                    int slot = (p * _options.RolloutsPerPrompt) + g;
                    chunk.Add(new WorkItem(step, slot, g, prompt, offline, SeededRandom.Mix(_options.Seed, (ulong)step, (ulong)slot)));
                    if (chunk.Count == _options.ChunkSize)
                    {
                        yield return new WorkChunk(step, chunk.ToArray());
                        chunk.Clear();
                    }
                }
            }

            // Chunks never span steps, so a generator's weight version is chosen per step.
            if (chunk.Count > 0)
            {
                yield return new WorkChunk(step, chunk.ToArray());
                chunk.Clear();
            }
        }

        // Stay open until the last step is assembled: RestartFlow does not restart a lane whose upstream has
        // completed, and a generator may still crash and drop work that must be redone.
        await _allStepsReleased.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Verifies every rollout of a chunk. A verifier that throws is judged by the graph's supervision
    /// <see cref="Decider"/>: Resume (the default) or Restart quarantines that rollout with the reason and the rest of
    /// the chunk and the run go on (Akka's own Resume would drop the element, and the step would never complete);
    /// Stop fails the run.
    /// </summary>
    private IReadOnlyList<VerifiedRollout> Verify(IReadOnlyList<Rollout> rollouts, StageMeter meter, Decider decider)
    {
        meter.Begin();
        var verified = new VerifiedRollout[rollouts.Count];
        string? verifierName = null;
        IVerifier? verifier = null;
        for (int i = 0; i < rollouts.Count; i++)
        {
            Rollout rollout = rollouts[i];
            TaskPrompt prompt = rollout.Work.Prompt;
            try
            {
                // A chunk's prompts nearly always share one verifier: look it up once per run of equal names.
                if (verifier is null || !string.Equals(verifierName, prompt.Verifier, StringComparison.Ordinal))
                {
                    verifier = _verifiers.Get(prompt.Verifier);
                    verifierName = prompt.Verifier;
                }

                VerificationResult result = verifier is IWorkItemVerifier aware
                    ? aware.Verify(rollout.Work, rollout.Completion, prompt.Gold)
                    : verifier.Verify(rollout.Completion, prompt.Gold);
                verified[i] = double.IsFinite(result.Reward)
                    ? new VerifiedRollout(rollout, result.Reward, result.ReasonCode, Quarantined: false)
                    : new VerifiedRollout(rollout, 0, $"quarantined: verifier returned reward {result.Reward}", Quarantined: true);
            }
            catch (Exception error) when (error is not OperationCanceledException && decider(error) != Directive.Stop)
            {
                verified[i] = new VerifiedRollout(rollout, 0, $"quarantined: verifier '{prompt.Verifier}' threw {error.GetType().Name}: {error.Message}", Quarantined: true);
            }
        }

        meter.End();
        return verified;
    }

    private static int CountQuarantined(IReadOnlyList<VerifiedRollout> rollouts)
    {
        int count = 0;
        for (int i = 0; i < rollouts.Count; i++)
        {
            count += rollouts[i].Quarantined ? 1 : 0;
        }

        return count;
    }

    private TrainingBatch Estimate(long step, VerifiedRollout[] rollouts)
    {
        IReadOnlyList<VerifiedRollout> kept = _options.FilterZeroVarianceGroups && _options.RolloutsPerPrompt > 1
            ? DropZeroVarianceGroups(rollouts)
            : rollouts;

        var scored = new List<ScoredRollout>(kept.Count);
        var index = new int[kept.Count];
        for (int i = 0; i < kept.Count; i++)
        {
            index[i] = -1;
            VerifiedRollout rollout = kept[i];
            if (rollout.Quarantined)
            {
                continue;
            }

            index[i] = scored.Count;
            scored.Add(new ScoredRollout(rollout.Work.Prompt.Id, rollout.Work.GroupIndex, rollout.Reward, Offline: rollout.Work.Offline));
        }

        AdvantageResult result = _estimator.Estimate(new RolloutBatch(step, scored));
        var estimates = new RolloutEstimate[kept.Count];
        for (int i = 0; i < kept.Count; i++)
        {
            estimates[i] = index[i] >= 0 ? result.Rollouts[index[i]] : new RolloutEstimate(0, 0, double.NaN, BaselineSource.Direct);
        }

        return new TrainingBatch(step, kept, estimates, result.Diagnostics);
    }

    private List<VerifiedRollout> DropZeroVarianceGroups(VerifiedRollout[] rollouts)
    {
        var kept = new List<VerifiedRollout>(rollouts.Length);
        foreach (IGrouping<int, VerifiedRollout> group in rollouts.Where(r => !r.Quarantined).GroupBy(r => r.Work.Slot / _options.RolloutsPerPrompt))
        {
            double first = group.First().Reward;
            if (group.Any(r => r.Reward != first))
            {
                kept.AddRange(group);
            }
        }

        kept.Sort((a, b) => a.Work.Slot.CompareTo(b.Work.Slot));
        return kept;
    }

    /// <summary>
    /// The batch aggregator's logic for one materialization (Akka's StatefulSelectMany): windows single rollouts into
    /// complete steps in step order and attaches the estimator's advantages; emits zero or more batches per chunk.
    /// </summary>
    private Func<IReadOnlyList<VerifiedRollout>, IEnumerable<TrainingBatch>> AggregatorFor(StageMeter meter)
    {
        var assembler = new StepAssembler(_options.SlotsPerStep, _options.FirstStep);
        long lastStep = _options.FirstStep + _options.Steps - 1;
        return rollouts =>
        {
            meter.Begin();
            List<TrainingBatch>? batches = null;
            foreach (VerifiedRollout rollout in rollouts)
            {
                foreach ((long step, VerifiedRollout[] complete) in assembler.Add(rollout))
                {
                    batches ??= [];
                    batches.Add(Estimate(step, complete));
                    if (step == lastStep)
                    {
                        // Nothing can be lost any more: the source may complete (a lane whose upstream has completed is not restarted).
                        _allStepsReleased.TrySetResult();
                    }
                }
            }

            meter.End();
            return batches ?? (IEnumerable<TrainingBatch>)[];
        };
    }
}
