using System.Diagnostics;
using System.Globalization;
using Basis.Estimators;
using Basis.Estimators.Simulation;
using Basis.Model;
using Basis.Model.Checkpoints;
using Basis.Rollouts;
using Basis.Tasks;
using Basis.Tasks.OfflineTable;
using Basis.Tasks.Synthetic;
using Basis.Tasks.Verification;
using Basis.Training.Journal;
using Basis.Training.Policy;
using Basis.Training.Run;
using Basis.Training.Schedule;

namespace Basis.Cli.Evaluation;

/// <summary>How to run the value-MSE protocol on a training run's checkpoints.</summary>
internal sealed record RunValueMseOptions(
    string RunDir, IReadOnlyList<long> Steps, int MonteCarlo, int Batches, IReadOnlyList<string> Rows, TrainSettings Settings, ulong Seed);

/// <summary>One checkpoint's result.</summary>
internal sealed record RunCheckpointMse(long Step, string Checkpoint, int HistoryBatches, PolicyMseReport Report, double Seconds);

/// <summary>
/// The value-MSE protocol at checkpoints of a finished (or running) training run, with each single-rollout estimator in
/// the state the run had at the checkpoint.
/// </summary>
/// <remarks>
/// At checkpoint s (s learner steps done; s = 0 is the SFT warm start): the evaluation prompts are the prompts of the
/// run's next batches, steps s, s+1, ... (the run's own prompt schedule, checked against the journal), so their history
/// ages are what training would have seen. Every stateful estimator is rebuilt by feeding it the journal's formed batches
/// of steps 0..s-1 in order (the rewards and offline counts the aggregator used), exactly as <c>basis replay --verify</c>
/// does, and each evaluation batch starts from that state. Rollouts come from checkpoint s with the run's sampling
/// settings: M for V_MC, one for the single-rollout estimators, 8 for the group rows, all disjoint.
/// </remarks>
internal static class RunValueMse
{
    private const int GroupRollouts = 8;

    public static async Task<IReadOnlyList<RunCheckpointMse>> MeasureAsync(
        RunValueMseOptions options, Action<string> log, Action<long, int, int>? progress, CancellationToken cancellationToken)
    {
        string runDir = Path.GetFullPath(options.RunDir);
        string journalPath = Path.Combine(runDir, "journal.db");
        if (!File.Exists(journalPath))
        {
            throw new ArgumentException($"{runDir}: no journal.db; is this a basis train run folder?");
        }

        (RunStarted started, List<BatchFormed> batches) = await ReadJournalAsync(runDir, cancellationToken).ConfigureAwait(false);
        if (started.RolloutsPerPrompt != 1)
        {
            throw new ArgumentException($"{journalPath}: the run used {started.Estimator} with {started.RolloutsPerPrompt} rollouts per prompt; the protocol needs a one-rollout (BASIS) run.");
        }

        TrainSettings settings = options.Settings;
        ArithmeticTaskSet tasks = TrainingRun.GenerateTasks(settings.Task);
        if (started.TaskSetHash is not null && started.TaskSetHash != tasks.TrainHash)
        {
            throw new ArgumentException($"{journalPath}: the run trained on task set {started.TaskSetHash}, but the configuration gives {tasks.TrainHash}; pass the --config the run was trained with.");
        }

        OfflineValueTable table = OfflineTables.ToValueTable(
            OfflineTableFile.Load(Path.Combine(runDir, "offline-table.jsonl"), started.PolicyHash, tasks.TrainHash, allowPolicyMismatch: false));
        var schedule = new PromptSchedule(tasks.Train.Count, started.BatchSize, started.Seed);
        CheckSchedule(schedule, tasks.Train, batches, journalPath);
        log(string.Create(CultureInfo.InvariantCulture, $"run {runDir}: {started.Estimator}, {batches.Count} journaled steps of {started.BatchSize}, {tasks.Train.Count} training prompts; task set and prompt schedule match the journal"));

        var text = new PolicyText(TrainingRun.CreateTokenizer());
        var verifiers = VerifierRegistry.CreateDefault();
        var sampling = new SamplingSettings
        {
            Temperature = settings.Train.Temperature,
            TopP = settings.Train.TopP,
            TopK = settings.Train.TopK > 0 ? settings.Train.TopK : null,
            MaxTokens = settings.Train.MaxNewTokens,
            Logprobs = false,
        };
        int threads = settings.Model.Threads > 0 ? settings.Model.Threads : Environment.ProcessorCount;
        var results = new List<RunCheckpointMse>();
        foreach (long step in options.Steps)
        {
            var clock = Stopwatch.StartNew();
            string checkpoint = step == 0 ? Path.Combine(runDir, "sft.safetensors") : Path.Combine(runDir, "checkpoints", $"step-{step:D6}.safetensors");
            if (!File.Exists(checkpoint))
            {
                throw new ArgumentException($"{runDir}: no checkpoint for step {step} ({checkpoint}).");
            }

            TransformerModel model;
            using (FileStream stream = File.OpenRead(checkpoint))
            {
                model = ModelCheckpoint.Load(stream, checkpoint);
            }

            model.Threads = threads;
            var prompts = new List<TaskPrompt>();
            for (int b = 0; b < options.Batches; b++)
            {
                prompts.AddRange(schedule.PromptsOf(step + b).Select(i => tasks.Train[i]));
            }

            var backend = new BuiltInRolloutBackend(model, text, $"step-{step}");
            var sampler = new RewardSampler(backend, verifiers, sampling, "{prompt}", promptsPerCall: 64, parallelCalls: 1);
            int n = options.MonteCarlo + 1 + GroupRollouts;
            double[][] rewards = await sampler.SampleAsync(
                prompts, n, options.Seed ^ (ulong)step * 0x9E37_79B9UL, done => progress?.Invoke(step, done, prompts.Count), cancellationToken).ConfigureAwait(false);

            var samples = new PromptSamples[prompts.Count];
            for (int i = 0; i < samples.Length; i++)
            {
                double[] r = rewards[i];
                OfflineCounts? offline = table.TryGet(prompts[i].Id, out OfflineCounts counts) ? counts : null;
                samples[i] = new PromptSamples(prompts[i].Id, r[..options.MonteCarlo], r[options.MonteCarlo], r[(options.MonteCarlo + 1)..], offline);
            }

            List<BatchFormed> history = batches.Where(b => b.Step < step).ToList();
            Dictionary<string, EstimatorState?> states = options.Rows
                .Where(r => PolicyValueMse.GroupSizeOf(r) is null)
                .ToDictionary(r => r, r => Replay(r, history));
            PolicyMseReport report = PolicyValueMse.Measure(samples, started.BatchSize, step, options.Rows, name => Restore(name, states[name]));
            results.Add(new RunCheckpointMse(step, Path.GetRelativePath(runDir, checkpoint), history.Count, report, clock.Elapsed.TotalSeconds));
        }

        return results;
    }

    /// <summary>The estimator after the run's formed batches, in step order; null for a stateless one.</summary>
    private static EstimatorState? Replay(string name, List<BatchFormed> history)
    {
        IAdvantageEstimator estimator = EstimatorCatalog.Create(name);
        if (estimator is not IStatefulAdvantageEstimator stateful)
        {
            return null;
        }

        foreach (BatchFormed formed in history)
        {
            var scored = new List<ScoredRollout>(formed.Slots.Length);
            for (int i = 0; i < formed.Slots.Length; i++)
            {
                if (!formed.Quarantined[i])
                {
                    OfflineCounts? offline = formed.OfflineSamples[i] >= 0 ? new OfflineCounts(formed.OfflineSuccesses[i], formed.OfflineSamples[i]) : null;
                    scored.Add(new ScoredRollout(formed.PromptIds[i], formed.GroupIndices[i], formed.Rewards[i], Offline: offline));
                }
            }

            stateful.Estimate(new RolloutBatch(formed.Step, scored));
        }

        return stateful.ExportState();
    }

    private static IAdvantageEstimator Restore(string name, EstimatorState? state)
    {
        IAdvantageEstimator estimator = EstimatorCatalog.Create(name);
        if (state is not null)
        {
            ((IStatefulAdvantageEstimator)estimator).ImportState(state);
        }

        return estimator;
    }

    /// <summary>The schedule must reproduce every journaled batch's prompts, or the evaluation prompts would not be the run's.</summary>
    private static void CheckSchedule(PromptSchedule schedule, IReadOnlyList<TaskPrompt> train, List<BatchFormed> batches, string journalPath)
    {
        foreach (BatchFormed formed in batches)
        {
            int[] expected = schedule.PromptsOf(formed.Step);
            for (int i = 0; i < formed.Slots.Length; i++)
            {
                int slot = formed.Slots[i];
                if (slot < 0 || slot >= expected.Length || train[expected[slot]].Id != formed.PromptIds[i])
                {
                    throw new ArgumentException($"{journalPath}: step {formed.Step} slot {slot} trained prompt '{formed.PromptIds[i]}', but the prompt schedule rebuilt from the configuration gives another; pass the --config the run was trained with.");
                }
            }
        }
    }

    private static async Task<(RunStarted, List<BatchFormed>)> ReadJournalAsync(string runDir, CancellationToken cancellationToken)
    {
        // The run folder stays untouched: SQLite may write -wal/-shm files next to a database it opens.
        string copy = Directory.CreateTempSubdirectory("basis-mse-journal-").FullName;
        try
        {
            foreach (string suffix in new[] { string.Empty, "-wal", "-shm" })
            {
                string source = Path.Combine(runDir, "journal.db" + suffix);
                if (File.Exists(source))
                {
                    File.Copy(source, Path.Combine(copy, "journal.db" + suffix));
                }
            }

            await using JournalQuery journal = await JournalQuery.OpenAsync(JournalTarget.ForRunFolder(copy), null, cancellationToken).ConfigureAwait(false);
            RunStarted? started = null;
            await foreach (JournalEvent envelope in journal.CurrentEventsByPersistenceId(TrainingJournal.LearnerId, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                if (envelope.Event is RunStarted s)
                {
                    started = s;
                    break;
                }
            }

            var batches = new List<BatchFormed>();
            await foreach (JournalEvent envelope in journal.CurrentEventsByPersistenceId(TrainingJournal.AggregatorId, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                if (envelope.Event is BatchFormed formed)
                {
                    batches.Add(formed);
                }
            }

            return (started ?? throw new ArgumentException($"{Path.Combine(runDir, "journal.db")}: no RunStarted event; not a training run's journal."), batches);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(copy, recursive: true);
        }
    }
}
