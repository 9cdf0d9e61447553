using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Basis.Estimators;
using Basis.Streaming;
using Basis.Tasks;
using Basis.Tasks.Verification;
using Basis.Training.Schedule;

namespace Basis.Training.Graph;

/// <summary>
/// One training run as a streaming graph:
/// PromptSource → Balance → RolloutGenerator ×N → Balance → Verifier ×M → BatchAggregator → Learner.
/// Every edge is bounded, and the source runs at most <see cref="TrainingGraphOptions.EffectiveStepsInFlight"/>
/// steps ahead of the learner, so a slow learner (or a stalled generator) throttles generation instead
/// of growing memory. Work a crashed generator dropped overtakes the queued work and is generated
/// again, so no step is lost.
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
    // Unbounded, yet it only ever holds chunks dropped by crashes and not yet redone: one per restart in progress.
    private readonly Channel<WorkChunk> _retries = Channel.CreateUnbounded<WorkChunk>();
    private readonly TaskCompletionSource _allStepsReleased = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly StepWindow _window;
    private GraphRun? _run;
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
    }

    /// <summary>Per-stage throughput, queue depth and busy fraction of the running (or last) run.</summary>
    public IReadOnlyList<StageMetricsSnapshot> Metrics => _run?.Metrics ?? [];

    /// <summary>Chunks a crashed generator dropped and the source issued again.</summary>
    public int RetriedChunks => Volatile.Read(ref _retried);

    public PromptSchedule Schedule => _schedule;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        long started = _time.GetTimestamp();
        var generatorSupervision = new SupervisionStrategy
        {
            Decider = static error => error is OperationCanceledException ? SupervisionDirective.Stop : SupervisionDirective.Restart,
            Restart = _options.GeneratorRestart,
            Quarantine = Requeue,
        };

        // The source stage enumerates with the graph's token (linked to the caller's). Giving the enumerator the
        // caller's token as well would let a Ctrl-C reach it before the graph's token, and read as a failure.
        RunnableGraph graph = Source.From(WorkAsync(CancellationToken.None))
            .Named("prompt-source")
            .WithBuffer(_options.EdgeBuffer)
            .MergePreferred(_retries.Reader)
            .Balance(
                _options.Generators,
                i => Flow.FromFactory(() => new GeneratorStage(_workerFactory(i)))
                    .Named($"generator-{i}")
                    .WithBuffer(_options.EdgeBuffer)
                    .WithSupervision(generatorSupervision),
                new BalanceOptions { Mode = BalanceMode.SharedQueue })
            .Balance(
                _options.Verifiers,
                i => Flow.Select<IReadOnlyList<Rollout>, IReadOnlyList<VerifiedRollout>>(Verify)
                    .Named($"verifier-{i}")
                    .WithBuffer(_options.EdgeBuffer),
                new BalanceOptions { Mode = BalanceMode.SharedQueue })
            .Via(Flow.FromFactory(() => new AggregatorStage(this)).Named("batch-aggregator").WithBuffer(_options.EdgeBuffer))
            .To(Sink.ForEachAsync<IReadOnlyList<TrainingBatch>>(async (batches, ct) =>
            {
                foreach (TrainingBatch batch in batches)
                {
                    LearnerSummary summary = _learner.Update(batch);
                    _window.Finished(batch.Step);
                    int quarantined = CountQuarantined(batch.Rollouts);
                    await _onStep(new StepReport(batch, summary, quarantined, _options.SlotsPerStep - batch.Rollouts.Count, _time.GetElapsedTime(started)), ct).ConfigureAwait(false);
                }
            }).Named("learner"))
            .WithTimeProvider(_time)
            .Named("training");

        _run = graph.Run(cancellationToken);
        await _run.Completion.ConfigureAwait(false);
    }

    private void Requeue(QuarantinedElement dropped)
    {
        if (dropped.Element is WorkChunk chunk)
        {
            Interlocked.Increment(ref _retried);
            _retries.Writer.TryWrite(chunk);
        }
    }

    /// <summary>
    /// The prompt source: the schedule's steps cut into chunks. Work a crashed generator dropped does
    /// not come through here: it overtakes these chunks on the retry lane (<see cref="Source{T}.MergePreferred"/>),
    /// because a chunk of a later step can only be sampled once that earlier one has been learned from.
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

        // Stay open until the last step is assembled: the retry lane completes with this source, and a
        // generator may still drop work that must be redone.
        await _allStepsReleased.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Verifies every rollout of a chunk. A verifier that throws quarantines that rollout with the
    /// reason; the rest of the chunk and the run go on.
    /// </summary>
    private IReadOnlyList<VerifiedRollout> Verify(IReadOnlyList<Rollout> rollouts)
    {
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
            catch (Exception error) when (error is not OperationCanceledException)
            {
                verified[i] = new VerifiedRollout(rollout, 0, $"quarantined: verifier '{prompt.Verifier}' threw {error.GetType().Name}: {error.Message}", Quarantined: true);
            }
        }

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

    private sealed class GeneratorStage : IStage<WorkChunk, IReadOnlyList<Rollout>>
    {
        private readonly IRolloutWorker _worker;

        public GeneratorStage(IRolloutWorker worker)
        {
            _worker = worker;
        }

        public ValueTask<IReadOnlyList<Rollout>> ProcessAsync(WorkChunk element, CancellationToken cancellationToken) =>
            _worker.GenerateAsync(element, cancellationToken);
    }

    /// <summary>Windows single rollouts into complete steps and attaches the estimator's advantages.</summary>
    private sealed class AggregatorStage : IStage<IReadOnlyList<VerifiedRollout>, IReadOnlyList<TrainingBatch>>
    {
        private readonly TrainingGraph _graph;
        private readonly StepAssembler _assembler;
        private readonly long _lastStep;

        public AggregatorStage(TrainingGraph graph)
        {
            _graph = graph;
            _assembler = new StepAssembler(graph._options.SlotsPerStep, graph._options.FirstStep);
            _lastStep = graph._options.FirstStep + graph._options.Steps - 1;
        }

        public ValueTask<IReadOnlyList<TrainingBatch>> ProcessAsync(IReadOnlyList<VerifiedRollout> element, CancellationToken cancellationToken)
        {
            List<TrainingBatch>? batches = null;
            foreach (VerifiedRollout rollout in element)
            {
                foreach ((long step, VerifiedRollout[] rollouts) in _assembler.Add(rollout))
                {
                    batches ??= new();
                    batches.Add(_graph.Estimate(step, rollouts));
                    if (step == _lastStep)
                    {
                        _graph._allStepsReleased.TrySetResult();
                    }
                }
            }

            return ValueTask.FromResult<IReadOnlyList<TrainingBatch>>(batches ?? (IReadOnlyList<TrainingBatch>)Array.Empty<TrainingBatch>());
        }
    }
}
