using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Akka.Actor;
using Akka.Streams;
using Basis.Estimators;
using Basis.Learning;
using Basis.Model;
using Basis.Model.Checkpoints;
using Basis.Model.Sampling;
using Basis.Model.Tokenization;
using Basis.Model.Training;
using Basis.Tasks;
using Basis.Tasks.OfflineTable;
using Basis.Tasks.Synthetic;
using Basis.Tasks.Verification;
using Basis.Training.Chaos;
using Basis.Training.Graph;
using Basis.Training.Graph.Monitoring;
using Basis.Training.Hosting;
using Basis.Training.Journal;
using Basis.Training.Policy;

namespace Basis.Training.Run;

/// <summary>What a run tells its observer (the CLI's live display, or nothing in tests).</summary>
public interface ITrainingObserver
{
    void Phase(string phase, string detail);

    void Sft(SftProgress progress);

    void OfflineTable(int donePrompts, int totalPrompts);

    void Step(StepRecord record);
}

/// <summary>One row of metrics.csv.</summary>
public sealed record StepRecord(
    long Step,
    long Rollouts,
    double ElapsedSeconds,
    double MeanReward,
    double? HeldOutAccuracy,
    double? Beta,
    int? ActiveSet,
    double Loss,
    double GradNorm,
    double LearningRate,
    double Entropy,
    double TokensPerSecond,
    int Quarantined);

/// <summary>The closing summary, also written as summary.json.</summary>
public sealed record RunSummary(
    string Estimator,
    ulong Seed,
    double StartAccuracy,
    double FinalAccuracy,
    int Steps,
    long Rollouts,
    double RlSeconds,
    double TotalSeconds,
    double SftSeconds,
    double OfflineTableSeconds,
    bool Cancelled,
    int SftSteps = 0,
    IReadOnlyList<StageBusy>? Stages = null);

/// <summary>How much of the RL phase one stage of the graph spent working (not waiting for input or demand).</summary>
public sealed record StageBusy(string Stage, double BusyFraction, long Elements);

/// <summary>
/// The main job: SFT warm start of the built-in policy (cached in the run folder), the offline
/// value table (cached), then RL through the Akka.Streams graph, with held-out evaluations, metrics,
/// plots, checkpoints and a summary in the run folder.
/// </summary>
public sealed class TrainingRun
{
    private const string Alphabet = "0123456789+-*=";
    private readonly TrainSettings _settings;
    private readonly ITrainingObserver _observer;
    private readonly string _runDir;

    public TrainingRun(TrainSettings settings, string runDir, ITrainingObserver observer)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentException.ThrowIfNullOrEmpty(runDir);
        ArgumentNullException.ThrowIfNull(observer);
        _settings = settings;
        _runDir = runDir;
        _observer = observer;
    }

    /// <summary>
    /// Continue the run in the run folder (its journal) instead of starting a new one: restore the last
    /// snapshot, re-apply the steps committed after it from their persisted batches, then train the rest.
    /// A run that never wrote an event starts from the beginning. See docs/persistence.md.
    /// </summary>
    public bool Resume { get; init; }

    /// <summary>
    /// The ActorSystem the graph runs in; null = the run creates one from <see cref="TrainSettings.Akka"/> (the
    /// <c>akka</c> section of the configuration) and terminates it when the run ends.
    /// </summary>
    public ActorSystem? ActorSystem { get; init; }

    /// <summary>Where rollouts are generated when not in this process (the Akka cluster); null = local generators.</summary>
    public IRolloutFleet? Fleet { get; init; }

    /// <summary>What computes the policy (<c>basis.model.backend</c>): the built-in transformer unless the caller picks another.</summary>
    public IPolicyBackend Backend { get; init; } = BuiltinPolicyBackend.Instance;

    public IReadOnlyList<StageMetricsSnapshot> GraphMetrics => _graph?.Metrics ?? [];

    /// <summary>The rows of metrics.csv once the run has started RL (the evaluation before RL first).</summary>
    public IReadOnlyList<StepRecord> Records => _records?.Records ?? [];

    private MetricsFile? _records;

    private TrainingGraph? _graph;

    public async Task<RunSummary> RunAsync(CancellationToken cancellationToken)
    {
        SetAsidePreviousJournal();

        // The run's one ActorSystem: the configuration's akka section plus the journal's plugins (built from
        // basis.journal and the run folder), unless the caller gives one (the cluster's learner node).
        ActorSystem system = ActorSystem ?? BasisActorSystem.Create("basis", _settings.Akka, JournalConfig.For(JournalTarget(), _settings.Journal.Tuning));
        try
        {
            return await RunInAsync(system, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (ActorSystem is null)
            {
                await system.Terminate().ConfigureAwait(false);

                // SQLite checkpoints its write-ahead log into journal.db when the last connection closes.
                JournalTarget().ReleasePooledConnections();
            }
        }
    }

    /// <summary>A new run in a used folder keeps the old journal under a dated name rather than mixing two runs' events (before anything opens it).</summary>
    private void SetAsidePreviousJournal()
    {
        JournalTarget target = JournalTarget();
        if (Resume || target.IsPostgres || !File.Exists(target.SqlitePath))
        {
            return;
        }

        string stamp = DateTime.UtcNow.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture);
        foreach (string suffix in new[] { string.Empty, "-wal", "-shm", "-journal" })
        {
            if (File.Exists(target.SqlitePath + suffix))
            {
                File.Move(target.SqlitePath + suffix, Path.Combine(_runDir, $"journal.{stamp}.db{suffix}"));
            }
        }

        _observer.Phase("journal", $"kept the previous run's journal as journal.{stamp}.db");
    }

    /// <summary>Where the run's journal lives: <c>basis.journal</c>, SQLite in the run folder by default.</summary>
    public JournalTarget JournalTarget() => Journal.JournalTarget.From(_settings.Journal.Provider, _settings.Journal.ConnectionString, _runDir);

    private async Task<RunSummary> RunInAsync(ActorSystem system, CancellationToken cancellationToken)
    {
        var total = Stopwatch.StartNew();
        Directory.CreateDirectory(_runDir);
        Directory.CreateDirectory(Path.Combine(_runDir, "checkpoints"));
        ulong seed = _settings.Run.Seed;

        ArithmeticTaskSet tasks = GenerateTasks(_settings.Task);
        CharTokenizer tokenizer = CreateTokenizer();
        var text = new PolicyText(tokenizer);
        VerifierRegistry verifiers = VerifierRegistry.CreateDefault();
        int threads = _settings.Model.Threads > 0 ? _settings.Model.Threads : Environment.ProcessorCount;

        // 1. SFT warm start, cached by everything that determines it.
        var phase = Stopwatch.StartNew();
        (IPolicyModel model, int sftSteps) = WarmStart(tasks, tokenizer, text, verifiers, threads, cancellationToken);
        double sftSeconds = phase.Elapsed.TotalSeconds;

        var evaluator = new HeldOutEvaluator(tasks.Eval, verifiers, text, EvaluationSampling, seed ^ 0xE7A1);
        _observer.Phase("eval", $"held-out accuracy of the SFT policy on {evaluator.Count} prompts");
        double startAccuracy = evaluator.Accuracy(model);

        // 2. Offline value table from the warm-started (reference) policy.
        phase.Restart();
        OfflineValueTable table = BuildOfflineTable(tasks, model, text, verifiers, cancellationToken);
        double offlineSeconds = phase.Elapsed.TotalSeconds;

        // 3. RL through the graph. In async mode the learner and the generators run at once and share the cores, so each role has its own thread budget.
        int learnerThreads = _settings.Graph.LearnerThreads > 0 ? _settings.Graph.LearnerThreads : threads;
        int generatorThreads = _settings.Graph.GeneratorThreads > 0 ? _settings.Graph.GeneratorThreads : threads;
        model.Threads = learnerThreads;
        IAdvantageEstimator estimator = EstimatorCatalog.Create(_settings.Estimator.Name);
        int group = estimator.RolloutsPerPrompt;
        if (_settings.Train.BatchSize % group != 0)
        {
            throw new ArgumentException($"basis.train.batch-size = {_settings.Train.BatchSize} is not a multiple of the {group} rollouts per prompt that '{estimator.Name}' samples.");
        }

        // The journal first: a resumed run checks it is the same run and restores its snapshot before the learner publishes weights.
        await using TrainingJournal journal = await OpenJournalAsync(system, cancellationToken).ConfigureAwait(false);
        ResumeState? resume = null;
        if (Resume)
        {
            await using var events = new JournalQuery(journal.System, journal.Target, ownsSystem: false);
            resume = await ResumeState.LoadAsync(journal, events, cancellationToken).ConfigureAwait(false);
        }

        var started = new RunStarted(
            _settings.Estimator.Name,
            estimator is BasisEstimator basis ? basis.Options.Describe() : _settings.Estimator.Name,
            table.PolicyHash,
            table.TaskSetHash,
            Path.Combine(_runDir, "offline-table.jsonl"),
            _settings.OfflineTable.Samples,
            seed,
            _settings.Train.BatchSize,
            group);
        if (resume?.Started is null)
        {
            await journal.StartAsync(started, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            resume.RequireSameRun(started);
        }

        RunSnapshot? snapshot = resume?.Snapshot;
        // The KL term's reference is the warm start, frozen before a resumed run's weights are restored.
        IPolicyModel? reference = _settings.Train.KlCoefficient > 0 ? model.ClonePolicy() : null;
        if (reference is not null)
        {
            reference.Threads = learnerThreads;
        }

        snapshot?.RestoreWeights(model);
        int snapshotEvery = _settings.Journal.SnapshotEvery;
        var recorder = new EstimatorStateRecorder(estimator, step => snapshotEvery > 0 && ((step + 1) % snapshotEvery == 0 || step + 1 == _settings.Train.Steps));
        var board = new WeightBoard<PolicyWeights>();
        var learner = new TransformerLearner(model, tokenizer.PadId, LearnerOptionsFrom(_settings.Train) with { Shards = _settings.Graph.LearnerShards }, board, snapshot?.LearnerVersion ?? 0, reference: reference);
        snapshot?.RestoreState(learner.Optimizer, estimator);
        var sampling = new SamplingOptions((float)_settings.Train.Temperature, _settings.Train.TopK, (float)_settings.Train.TopP, _settings.Train.MaxNewTokens);
        int staleness = _settings.Graph.Staleness;
        TrainingGraphOptions graphOptions = new()
        {
            Steps = _settings.Train.Steps,
            PromptsPerStep = _settings.Train.BatchSize / group,
            RolloutsPerPrompt = group,
            ChunkSize = _settings.Graph.ChunkSize,
            Generators = Fleet?.Generators ?? _settings.Graph.Generators,
            Verifiers = _settings.Graph.Verifiers,
            EdgeBuffer = _settings.Graph.QueueBound,
            FilterZeroVarianceGroups = _settings.Estimator.FilterZeroVarianceGroups,

            // Issue a step's work only once its weights are published (version >= step - k): a generator
            // then never holds a chunk it must wait to start, and its busy fraction is sampling time.
            StepsInFlight = staleness + 1,
            Seed = seed,
            GeneratorRestart = RestartSettings.Create(
                    _settings.Graph.Supervision.BackoffMin,
                    _settings.Graph.Supervision.BackoffMax,
                    _settings.Graph.Supervision.BackoffJitter)
                .WithMaxRestarts(_settings.Graph.Supervision.MaxRestarts, _settings.Graph.Supervision.RestartWindow),
        };

        // A resumed run keeps metrics.csv's rows of the steps its snapshot covers and rewrites the rest as it redoes them.
        long firstStep = snapshot?.NextStep ?? 0;
        string metricsPath = Path.Combine(_runDir, "metrics.csv");
        var before = new StepRecord(-1, 0, 0, double.NaN, startAccuracy, null, null, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, 0);
        var metrics = resume is null ? new MetricsFile(metricsPath) : new MetricsFile(metricsPath, [before, .. ResumeMetrics.Read(metricsPath, firstStep)]);
        _records = metrics;
        if (resume is null)
        {
            metrics.Append(before);
        }

        var rl = Stopwatch.StartNew();
        double rlBefore = snapshot?.RlSeconds ?? 0;
        long rollouts = snapshot?.Rollouts ?? 0;
        long tokens = snapshot?.Tokens ?? 0;
        int stepsDone = (int)firstStep;
        double finalAccuracy = snapshot?.LastHeldOutAccuracy ?? startAccuracy;
        _observer.Phase("rl", $"{estimator.Name}: {_settings.Train.Steps} steps of {_settings.Train.BatchSize} rollouts ({graphOptions.PromptsPerStep} prompts x {group})");

        ValueTask OnStep(StepReport report, CancellationToken ct) => FinishStepAsync(report, null, ct);

        var journalWrites = new PendingWrite();

        async Task CommitStepAsync(TrainingBatch batch, PolicyUpdated updated, bool writeStep, long stepEnded, CancellationToken ct)
        {
            if (writeStep)
            {
                await journal.WriteStepAsync(batch, ct).ConfigureAwait(false);
            }

            await journal.WritePolicyUpdatedAsync(updated, ct).ConfigureAwait(false);
            TrainingTelemetry.RecordJournalCommit(stepEnded);
        }

        // persisted: the step's events as the journal already holds them (a resumed step); they are not written again.
        async ValueTask FinishStepAsync(StepReport report, PersistedStep? persisted, CancellationToken ct)
        {
            long stepEnded = Stopwatch.GetTimestamp();
            stepsDone++;
            rollouts += report.Batch.Rollouts.Count + report.Filtered;
            tokens += report.Batch.Rollouts.Sum(r => r.Rollout.CompletionTokens.Length);
            bool last = stepsDone == _settings.Train.Steps;
            bool evaluate = last || (_settings.Train.EvalEvery > 0 && stepsDone % _settings.Train.EvalEvery == 0);
            double? accuracy = evaluate ? evaluator.Accuracy(model) : null;
            if (accuracy is double a)
            {
                finalAccuracy = a;
            }

            double elapsed = rlBefore + rl.Elapsed.TotalSeconds;
            var record = new StepRecord(
                report.Step,
                rollouts,
                elapsed,
                report.MeanReward,
                accuracy,
                report.Diagnostics.Beta,
                report.Diagnostics.ActiveSetSize,
                report.Learner.Loss,
                report.Learner.GradNorm,
                report.Learner.LearningRate,
                report.Learner.MeanEntropy,
                elapsed > 0 ? tokens / elapsed : 0,
                report.Quarantined);
            string? checkpoint = null;
            if (_settings.Run.CheckpointEvery > 0 && stepsDone % _settings.Run.CheckpointEvery == 0)
            {
                checkpoint = Path.Combine("checkpoints", $"step-{stepsDone:D6}.safetensors");
                SaveCheckpoint(model, Path.Combine(_runDir, checkpoint), learner.Version);
            }

            // The step's events are written while the next step trains (the journal actor commits them in order), and
            // committed before that step's are sent: the journal never lags the learner by more than one step, and a
            // crash loses at most the step in flight, which the resume redoes from the same seeds.
            var updated = new PolicyUpdated(report.Learner.Version, report.Step, checkpoint, report.Learner.Loss, report.Learner.GradNorm, report.Learner.LearningRate, report.Learner.MeanEntropy, accuracy);
            await journalWrites.DrainAsync().ConfigureAwait(false);
            if (persisted?.Policy is null)
            {
                // Not cancelled by Ctrl-C: a step the learner finished is committed whole before the run stops.
                journalWrites.Start(CommitStepAsync(report.Batch, updated, writeStep: persisted is null, stepEnded, CancellationToken.None));
            }
            else if (persisted.Policy != updated)
            {
                _observer.Phase("resume", $"warning: step {report.Step} re-applied from the journal gives {updated}, the journal holds {persisted.Policy}; the learner did not repeat itself (another thread count?).");
            }

            metrics.Append(record);
            _observer.Step(record);
            if (snapshotEvery > 0 && (stepsDone % snapshotEvery == 0 || last))
            {
                // The snapshot names the journal's sequence numbers: everything before it must be committed.
                await journalWrites.DrainAsync().ConfigureAwait(false);
                RunSnapshot taken = RunSnapshot.Capture(
                    report.Step + 1, learner.Version, journal.AggregatorSequence, journal.LearnerSequence, seed, table.PolicyHash, model, learner.Optimizer, recorder.TakeState(report.Step), rollouts, tokens, elapsed, finalAccuracy);
                await journal.SaveSnapshotAsync(taken, ct).ConfigureAwait(false);
            }
        }

        bool stoppedWhileResuming = false;
        if (resume is not null)
        {
            // Steps committed after the snapshot: re-applied from their persisted batches, never generated or written again.
            Dictionary<string, TaskPrompt> prompts = tasks.Train.ToDictionary(p => p.Id, StringComparer.Ordinal);
            try
            {
                foreach (PersistedStep persisted in resume.Steps)
                {
                    TrainingBatch batch = ResumeState.Rebuild(persisted, prompts, text, recorder, seed);
                    LearnerSummary update = ((IPolicyLearner)learner).Update(batch);
                    await FinishStepAsync(new StepReport(batch, update, batch.Rollouts.Count(r => r.Quarantined), graphOptions.SlotsPerStep - batch.Rollouts.Count, rl.Elapsed), persisted, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                stoppedWhileResuming = true;
            }

            _observer.Phase("resume", $"resumed at step {resume.NextStep} of {_settings.Train.Steps}: {(snapshot is null ? "no snapshot" : $"snapshot after step {snapshot.NextStep - 1}")}, {resume.Steps.Count} later steps re-applied from the journal");
        }

        int remaining = stoppedWhileResuming ? 0 : Math.Max(0, _settings.Train.Steps - stepsDone);
        graphOptions = graphOptions with { FirstStep = stepsDone, Steps = Math.Max(1, remaining) };

        if (Fleet is not null)
        {
            await Fleet.StartAsync(new RolloutFleetContext(Path.GetFullPath(_runDir), model.Config, Alphabet, sampling, staleness, board), cancellationToken).ConfigureAwait(false);
        }

        // Each generator samples on a thread of its own (akka.actor.basis-generator-dispatcher is a PinnedDispatcher);
        // with basis.graph.generator-priority = low that thread runs at the lowest OS priority.
        bool lowPriority = _settings.Graph.GeneratorPriority == "low";
        _graph = remaining == 0 ? null : new TrainingGraph(
            tasks.Train,
            table,
            recorder,
            ChaosInjection.Verifiers(verifiers, _settings.Chaos),
            i =>
            {
                if (Fleet is not null)
                {
                    return Fleet.CreateWorker(i);
                }

                IPolicyModel replica = model.ClonePolicy();
                replica.Threads = generatorThreads;
                return ChaosInjection.Worker(new TransformerGenerator(replica, text, board, sampling, staleness, lowPriority), _settings.Chaos);
            },
            learner,
            graphOptions,
            OnStep);

        bool cancelled = stoppedWhileResuming;
        try
        {
            if (_graph is not null)
            {
                await _graph.RunAsync(system, cancellationToken).ConfigureAwait(false);
            }

            await journalWrites.DrainAsync().ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Ctrl-C: keep what was learned; the checkpoint below records it.
            cancelled = true;
            await journalWrites.DrainQuietlyAsync().ConfigureAwait(false);
        }
        catch (Exception error)
        {
            board.Fault(error);
            await journalWrites.DrainQuietlyAsync().ConfigureAwait(false);
            throw;
        }

        int restarts = GraphMetrics.Sum(m => m.Restarts);
        if (restarts > 0)
        {
            _observer.Phase("supervision", $"{restarts} generator restart(s); {_graph?.RetriedChunks} dropped chunk(s) generated again");
        }

        // Writes overlap the next step; what the run paid is the time the learner waited for them, and for snapshots.
        double waited = journalWrites.Waited.TotalSeconds + journal.SnapshotTime.TotalSeconds;
        _observer.Phase("journal", string.Create(CultureInfo.InvariantCulture, $"{waited:F2} s waiting on the journal ({journal.SnapshotTime.TotalSeconds:F2} s of it on snapshots; {journal.WriteTime.TotalSeconds:F2} s of writes overlapped training), {100 * waited / Math.Max(rl.Elapsed.TotalSeconds, 1e-9):F2} % of this process's RL wall-clock"));
        SaveCheckpoint(model, Path.Combine(_runDir, "checkpoints", "final.safetensors"), learner.Version);
        var summary = new RunSummary(
            estimator.Name,
            seed,
            startAccuracy,
            finalAccuracy,
            stepsDone,
            rollouts,
            rlBefore + rl.Elapsed.TotalSeconds,
            total.Elapsed.TotalSeconds,
            sftSeconds,
            offlineSeconds,
            cancelled,
            sftSteps,
            [.. GraphMetrics.Select(m => new StageBusy(m.Stage, m.BusyFraction, m.ElementsIn))]);
        await File.WriteAllTextAsync(Path.Combine(_runDir, "summary.json"), JsonSerializer.Serialize(summary, RunJson.Options), CancellationToken.None).ConfigureAwait(false);
        RunPlots.Write(_runDir, metrics.Records, estimator.Name);
        return summary;
    }

    private async Task<TrainingJournal> OpenJournalAsync(ActorSystem system, CancellationToken cancellationToken)
    {
        JournalTarget target = JournalTarget();
        return Resume
            ? await TrainingJournal.OpenForResumeAsync(system, target, ownsSystem: false, cancellationToken).ConfigureAwait(false)
            : await TrainingJournal.OpenAsync(system, target, ownsSystem: false, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The built-in policy's tokenizer: the characters of arithmetic prompts and answers.</summary>
    public static CharTokenizer CreateTokenizer() => new(Alphabet);

    // Held-out evaluations and the SFT probe sample alike.
    private SamplingOptions EvaluationSampling => new((float)_settings.Train.EvalTemperature, MaxNewTokens: _settings.Train.MaxNewTokens);

    private (IPolicyModel Model, int SftSteps) WarmStart(
        ArithmeticTaskSet tasks, CharTokenizer tokenizer, PolicyText text, VerifierRegistry verifiers, int threads, CancellationToken cancellationToken)
    {
        var config = new TransformerConfig(tokenizer.VocabSize, _settings.Model.DModel, _settings.Model.Layers, _settings.Model.Heads, _settings.Model.FfDim, _settings.Model.Context, _settings.Model.TiedHead);
        config.Validate();
        // Thread count changes speed, not weights, so it stays out of the cache key.
        ModelSettings m = _settings.Model;
        var architecture = new { m.DModel, m.Layers, m.Heads, m.FfDim, m.Context, m.TiedHead, m.InitStd };
        // The early-stop probe samples at the evaluation's settings, so they decide where SFT stops too.
        var probe = new { _settings.Train.EvalTemperature, _settings.Train.MaxNewTokens };
        string key = CacheKey(JsonSerializer.Serialize(new { architecture, _settings.Sft, probe, _settings.Task, _settings.Run.Seed, Alphabet }, RunJson.Options));
        if (Backend is not BuiltinPolicyBackend)
        {
            // Another backend rounds differently, so its warm start is its own (the built-in key stays as it was).
            key = CacheKey($"{key}|{Backend.Name}");
        }

        string path = Path.Combine(_runDir, "sft.safetensors");
        if (File.Exists(path))
        {
            using FileStream stream = File.OpenRead(path);
            IPolicyModel cached = Backend.Load(stream, path);
            IReadOnlyDictionary<string, string> metadata = ReadMetadata(path);
            if (metadata.GetValueOrDefault("sft_cache_key") == key)
            {
                cached.Threads = threads;
                int steps = int.TryParse(metadata.GetValueOrDefault("sft_steps"), CultureInfo.InvariantCulture, out int n) ? n : _settings.Sft.Steps;
                _observer.Phase("sft", $"reusing the cached warm start {path} ({steps} steps) on the {Backend.Name} backend");
                return (cached, steps);
            }
        }

        IPolicyModel model = Backend.Create(config, _settings.Run.Seed ^ 0x5F7, (float)_settings.Model.InitStd);
        model.Threads = threads;
        if (!_settings.Sft.Enabled)
        {
            return (model, 0);
        }

        // Cycle the shuffled training pairs to fill exactly `steps` batches.
        var pairs = tasks.Train.Select(p => new SftExample(p.Text, p.Gold)).ToArray();
        int needed = _settings.Sft.Steps * _settings.Sft.BatchSize;
        var examples = new List<SftExample>(needed);
        var order = new Schedule.PromptSchedule(pairs.Length, 1, _settings.Run.Seed ^ 0x5F75);
        for (int i = 0; i < needed; i++)
        {
            examples.Add(pairs[order.PromptsOf(i)[0]]);
        }

        SftSettings sft = _settings.Sft;
        string target = sft.TargetAccuracy > 0
            ? string.Create(CultureInfo.InvariantCulture, $"up to {sft.Steps} steps, stopping once pass@1 on {sft.ProbeSize} training prompts reaches {sft.TargetAccuracy:P0}")
            : $"{sft.Steps} steps";
        _observer.Phase("sft", $"{target}, batches of {sft.BatchSize} pairs, {model.Layout.TotalLength:N0} parameters on the {Backend.Name} backend");
        var progress = new SynchronousProgress<SftProgress>(_observer.Sft);
        HeldOutEvaluator? prober = sft.TargetAccuracy > 0 ? CreateSftProbe(tasks, text, verifiers) : null;
        SftMetrics done = SftTrainer.Train(
            model,
            tokenizer,
            examples,
            new SftOptions(
                Epochs: 1,
                BatchSize: _settings.Sft.BatchSize,
                LearningRate: (float)_settings.Sft.LearningRate,
                WarmupSteps: _settings.Sft.WarmupSteps,
                MinLearningRate: (float)_settings.Sft.LearningRate / 10,
                WeightDecay: (float)_settings.Sft.WeightDecay,
                MaxGradNorm: (float)_settings.Sft.GradClip,
                Seed: _settings.Run.Seed),
            progress,
            cancellationToken,
            prober is null ? null : step => ReachedTarget(model, prober, step));
        SaveCheckpoint(model, path, 0, new Dictionary<string, string>
        {
            ["sft_cache_key"] = key,
            ["sft_steps"] = done.Steps.ToString(CultureInfo.InvariantCulture),
        });
        return (model, done.Steps);
    }

    // The probe: a fixed, seeded sample of training prompts, sampled at the held-out evaluation's settings.
    private HeldOutEvaluator CreateSftProbe(ArithmeticTaskSet tasks, PolicyText text, VerifierRegistry verifiers)
    {
        int size = Math.Min(_settings.Sft.ProbeSize, tasks.Train.Count);
        var order = new Schedule.PromptSchedule(tasks.Train.Count, size, _settings.Run.Seed ^ 0x9B0B);
        var prompts = order.PromptsOf(0).Select(i => tasks.Train[i]).ToArray();
        return new HeldOutEvaluator(prompts, verifiers, text, EvaluationSampling, _settings.Run.Seed ^ 0x9B0C);
    }

    private bool ReachedTarget(IPolicyModel model, HeldOutEvaluator probe, int step)
    {
        if (step % _settings.Sft.CheckEvery != 0 || step >= _settings.Sft.Steps)
        {
            return false;
        }

        double accuracy = probe.Accuracy(model);
        bool reached = accuracy >= _settings.Sft.TargetAccuracy;
        _observer.Phase("sft", string.Create(CultureInfo.InvariantCulture, $"step {step}: pass@1 {accuracy:P1} on {probe.Count} training prompts{(reached ? ", target reached" : "")}"));
        return reached;
    }

    private OfflineValueTable BuildOfflineTable(ArithmeticTaskSet tasks, IPolicyModel model, PolicyText text, VerifierRegistry verifiers, CancellationToken cancellationToken)
    {
        string policyHash = model.ComputeHash();
        string path = Path.Combine(_runDir, "offline-table.jsonl");
        _observer.Phase("offline-table", $"{_settings.OfflineTable.Samples} samples per prompt for {tasks.Train.Count} prompts");
        var sampler = new ProgressSampler(
            new TransformerCompletionSampler(model, text, new SamplingOptions((float)_settings.OfflineTable.Temperature, MaxNewTokens: _settings.Train.MaxNewTokens)),
            tasks.Train.Count,
            _observer.OfflineTable);
        var builder = new OfflineTableBuilder(sampler, verifiers);
        OfflineTableBuildResult result = builder.Build(
            tasks.Train,
            policyHash,
            path,
            new OfflineTableBuildOptions
            {
                SamplesPerPrompt = _settings.OfflineTable.Samples,
                BatchSize = OfflineTableBatchSize,
                Seed = OfflineTableSeed(_settings.Run.Seed),
                AllowPolicyMismatch = _settings.OfflineTable.AllowPolicyMismatch,
            },
            cancellationToken);
        return OfflineTables.ToValueTable(result.Table);
    }

    /// <summary>Prompts sampled per batch while building the offline table.</summary>
    public const int OfflineTableBatchSize = 64;

    /// <summary>The offline table's sampling seed for a run seed (shared with <c>basis offline-table</c>, so both build the same table).</summary>
    public static ulong OfflineTableSeed(ulong runSeed) => runSeed ^ 0x0FF1;

    /// <summary>The synthetic training and held-out prompts that <c>basis.task</c> describes.</summary>
    public static ArithmeticTaskSet GenerateTasks(TaskSettings task) => ArithmeticTaskGenerator.Generate(new ArithmeticTaskConfig
    {
        Seed = task.Seed,
        TrainSize = task.TrainSize,
        EvalSize = task.EvalSize,
        Tiers = SelectTiers(task.Tiers),
    });

    /// <summary>The generator's tiers with these names; no names means every default tier.</summary>
    public static IReadOnlyList<ArithmeticTier> SelectTiers(IReadOnlyList<string> names)
    {
        if (names.Count == 0)
        {
            return ArithmeticTaskConfig.DefaultTiers;
        }

        var tiers = new List<ArithmeticTier>();
        foreach (string name in names)
        {
            ArithmeticTier tier = ArithmeticTaskConfig.DefaultTiers.FirstOrDefault(t => t.Name == name)
                ?? throw new ArgumentException($"basis.task.tiers: unknown tier '{name}'; known tiers: {string.Join(", ", ArithmeticTaskConfig.DefaultTiers.Select(t => t.Name))}.");
            tiers.Add(tier);
        }

        return tiers;
    }

    private static LearnerOptions LearnerOptionsFrom(TrainLoopSettings train) => new()
    {
        LearningRate = (float)train.LearningRate,
        MinLearningRate = (float)train.MinLearningRate,
        WarmupSteps = train.WarmupSteps,
        TotalSteps = train.Steps,
        MaxGradNorm = (float)train.GradClip,
        WeightDecay = (float)train.WeightDecay,
        Minibatches = train.Minibatches,
        Loss = new PolicyLossOptions
        {
            Kind = train.Loss switch
            {
                "gspo" => PolicyLossKind.Gspo,
                "gpg" => PolicyLossKind.Gpg,
                _ => PolicyLossKind.PpoClip,
            },
            Aggregation = train.Aggregation switch
            {
                "seq-mean-token-mean" => LossAggregation.SequenceMeanTokenMean,
                "seq-mean-token-sum" => LossAggregation.SequenceMeanTokenSum,
                _ => LossAggregation.TokenMean,
            },
            ClipLow = train.ClipEpsLow,
            ClipHigh = train.ClipEpsHigh,
            DualClip = train.DualClip,
            ImportanceCap = train.MaxImportanceWeight,
            KlCoefficient = train.KlCoefficient,
            ConstantLength = train.MaxNewTokens,
        },
    };

    private static void SaveCheckpoint(IPolicyModel model, string path, long version, Dictionary<string, string>? metadata = null)
    {
        metadata ??= new Dictionary<string, string>();
        metadata["policy_version"] = version.ToString(CultureInfo.InvariantCulture);
        string temporary = path + ".tmp";
        using (FileStream stream = File.Create(temporary))
        {
            ModelCheckpoint.Save(stream, model, metadata);
        }

        // Rename last so a crash never leaves a half-written checkpoint under the real name.
        File.Move(temporary, path, overwrite: true);
    }

    private static IReadOnlyDictionary<string, string> ReadMetadata(string path)
    {
        using FileStream stream = File.OpenRead(path);
        return Safetensors.Read(stream, path).Metadata;
    }

    private static string CacheKey(string description) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(description)));

    /// <summary>Counts finished prompts as the table builder samples them.</summary>
    private sealed class ProgressSampler(ICompletionSampler inner, int total, Action<int, int> report) : ICompletionSampler
    {
        private int _done;

        public IReadOnlyList<string> Sample(IReadOnlyList<TaskPrompt> prompts, int samplesPerPrompt, ulong seed)
        {
            IReadOnlyList<string> result = inner.Sample(prompts, samplesPerPrompt, seed);
            _done += prompts.Count;
            report(Math.Min(_done, total), total);
            return result;
        }
    }

    /// <summary>Reports on the caller's thread (Progress&lt;T&gt; would post to the thread pool out of order).</summary>
    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
