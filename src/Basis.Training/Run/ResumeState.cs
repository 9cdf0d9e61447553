using System.Globalization;
using Basis.Estimators;
using Basis.Tasks;
using Basis.Training.Graph;
using Basis.Training.Journal;
using Basis.Training.Policy;
using Basis.Training.Schedule;

namespace Basis.Training.Run;

/// <summary>
/// A step whose aggregator events committed after the last snapshot: its rollouts, rewards and formed
/// batch, and the learner's <c>PolicyUpdated</c> when that committed too (a crash can fall between the two writes).
/// </summary>
public sealed record PersistedStep(long Step, IReadOnlyList<RolloutGenerated> Rollouts, IReadOnlyList<RewardAssigned> Rewards, BatchFormed Batch, PolicyUpdated? Policy);

/// <summary>
/// Where a run stopped, read back from its journal: the run's <c>RunStarted</c>, the latest snapshot and
/// the steps committed after it. Resuming restores the snapshot, re-applies these steps from their
/// persisted batches (never generating or writing them again), then lets the graph go on from
/// <see cref="NextStep"/>.
/// </summary>
public sealed class ResumeState
{
    private ResumeState(RunStarted? started, RunSnapshot? snapshot, IReadOnlyList<PersistedStep> steps)
    {
        Started = started;
        Snapshot = snapshot;
        Steps = steps;
    }

    /// <summary>Null when the run stopped before its first event committed: it starts from the beginning.</summary>
    public RunStarted? Started { get; }

    /// <summary>The latest snapshot; null when the run stopped before its first one.</summary>
    public RunSnapshot? Snapshot { get; }

    /// <summary>The steps after the snapshot, in step order, consecutive from the snapshot's cursor.</summary>
    public IReadOnlyList<PersistedStep> Steps { get; }

    /// <summary>The first step the graph has to generate.</summary>
    public long NextStep => Steps.Count > 0 ? Steps[^1].Step + 1 : Snapshot?.NextStep ?? 0;

    /// <exception cref="InvalidOperationException">The journal's events after the snapshot do not form whole, consecutive steps.</exception>
    /// <param name="journal">The run's journal: its learner stream recovered the latest snapshot.</param>
    /// <param name="events">The query side of the same database.</param>
    public static async Task<ResumeState> LoadAsync(TrainingJournal journal, JournalQuery events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(journal);
        ArgumentNullException.ThrowIfNull(events);
        RunStarted? started = null;
        await foreach (JournalEvent envelope in events.CurrentEventsByPersistenceId(TrainingJournal.LearnerId, 1, 1, cancellationToken).ConfigureAwait(false))
        {
            started = envelope.Event as RunStarted
                ?? throw new InvalidOperationException($"the journal at {events.Target.Describe()} does not begin with RunStarted: not a training run's journal.");
        }

        if (started is null)
        {
            return new ResumeState(null, null, []);
        }

        RunSnapshot? snapshot = journal.Snapshot;
        long nextStep = snapshot?.NextStep ?? 0;
        long aggregatorFrom = (snapshot?.AggregatorSequence ?? 0) + 1;
        long learnerFrom = (snapshot?.LearnerSequence ?? 1) + 1;

        var policies = new Dictionary<long, PolicyUpdated>();
        await foreach (JournalEvent envelope in events.CurrentEventsByPersistenceId(TrainingJournal.LearnerId, learnerFrom, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (envelope.Event is PolicyUpdated updated && !policies.TryAdd(updated.Step, updated))
            {
                throw Inconsistent(events, $"two PolicyUpdated events for step {updated.Step} (the second at learner sequence number {envelope.SequenceNumber})");
            }
        }

        var steps = new List<PersistedStep>();
        var rollouts = new List<RolloutGenerated>();
        var rewards = new List<RewardAssigned>();
        await foreach (JournalEvent envelope in events.CurrentEventsByPersistenceId(TrainingJournal.AggregatorId, aggregatorFrom, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            switch (envelope.Event)
            {
                case RolloutGenerated rollout:
                    rollouts.Add(rollout);
                    break;
                case RewardAssigned reward:
                    rewards.Add(reward);
                    break;
                case BatchFormed formed:
                    long expected = steps.Count > 0 ? steps[^1].Step + 1 : nextStep;
                    if (formed.Step != expected || rollouts.Count != formed.Slots.Length || rewards.Count != formed.Slots.Length
                        || rollouts.Any(r => r.Step != formed.Step) || rewards.Any(r => r.Step != formed.Step))
                    {
                        throw Inconsistent(events, $"the batch of step {formed.Step} (aggregator sequence number {envelope.SequenceNumber}) does not follow step {expected - 1} with its {formed.Slots.Length} rollouts and rewards");
                    }

                    steps.Add(new PersistedStep(formed.Step, [.. rollouts], [.. rewards], formed, policies.GetValueOrDefault(formed.Step)));
                    rollouts.Clear();
                    rewards.Clear();
                    break;
                default:
                    break;
            }
        }

        if (rollouts.Count > 0 || rewards.Count > 0)
        {
            throw Inconsistent(events, "the aggregator's last step has rollouts but no BatchFormed (a step is written atomically)");
        }

        // Only the last step may lack its PolicyUpdated: the learner writes it before starting the next step.
        for (int i = 0; i < steps.Count - 1; i++)
        {
            if (steps[i].Policy is null)
            {
                throw Inconsistent(events, $"step {steps[i].Step} has a batch but no PolicyUpdated while later steps do");
            }
        }

        if (policies.Keys.Any(step => step < nextStep || step >= nextStep + steps.Count))
        {
            throw Inconsistent(events, "a PolicyUpdated after the snapshot has no batch");
        }

        return new ResumeState(started, snapshot, steps);
    }

    /// <summary>
    /// Rebuilds the step's training batch from its persisted rollouts and rewards, running the estimator
    /// on them (which advances a stateful estimator exactly as in training) and checking that its
    /// baselines and advantages are bit-identical to the persisted ones.
    /// </summary>
    /// <exception cref="InvalidOperationException">A prompt is unknown or the estimator disagrees with the journal.</exception>
    public static TrainingBatch Rebuild(PersistedStep step, IReadOnlyDictionary<string, TaskPrompt> prompts, PolicyText text, IAdvantageEstimator estimator, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(step);
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(estimator);
        BatchFormed formed = step.Batch;
        var verified = new VerifiedRollout[formed.Slots.Length];
        var scored = new List<ScoredRollout>(verified.Length);
        var index = new int[verified.Length];
        for (int i = 0; i < verified.Length; i++)
        {
            RolloutGenerated generated = step.Rollouts[i];
            RewardAssigned reward = step.Rewards[i];
            if (generated.Slot != formed.Slots[i] || reward.Slot != formed.Slots[i])
            {
                throw new InvalidOperationException($"journal step {step.Step}: rollout {i} is for slot {generated.Slot}, its reward for slot {reward.Slot}, the batch lists slot {formed.Slots[i]}.");
            }

            TaskPrompt prompt = prompts.GetValueOrDefault(generated.PromptId)
                ?? throw new InvalidOperationException($"journal step {step.Step} slot {generated.Slot}: prompt '{generated.PromptId}' is not in this run's training set (different task settings?).");
            OfflineCounts? offline = formed.OfflineSamples[i] >= 0 ? new OfflineCounts(formed.OfflineSuccesses[i], formed.OfflineSamples[i]) : null;
            var work = new WorkItem(step.Step, generated.Slot, generated.GroupIndex, prompt, offline, SeededRandom.Mix(seed, (ulong)step.Step, (ulong)generated.Slot));
            var rollout = new Rollout(work, generated.Completion, text.EncodePrompt(prompt.Text), generated.CompletionTokens, generated.BehaviourLogProbs, generated.PolicyVersion);
            verified[i] = new VerifiedRollout(rollout, reward.Reward, reward.Reason, reward.Quarantined);
            index[i] = -1;
            if (!reward.Quarantined)
            {
                index[i] = scored.Count;
                scored.Add(new ScoredRollout(prompt.Id, generated.GroupIndex, reward.Reward, Offline: offline));
            }
        }

        AdvantageResult result = estimator.Estimate(new RolloutBatch(step.Step, scored));
        var estimates = new RolloutEstimate[verified.Length];
        for (int i = 0; i < verified.Length; i++)
        {
            estimates[i] = index[i] >= 0 ? result.Rollouts[index[i]] : new RolloutEstimate(0, 0, double.NaN, BaselineSource.Direct);
            if (BitConverter.DoubleToInt64Bits(estimates[i].Advantage) != BitConverter.DoubleToInt64Bits(formed.Advantages[i])
                || BitConverter.DoubleToInt64Bits(estimates[i].Baseline) != BitConverter.DoubleToInt64Bits(formed.Baselines[i]))
            {
                throw new InvalidOperationException(string.Create(
                    CultureInfo.InvariantCulture,
                    $"journal step {step.Step} slot {formed.Slots[i]}: the restored estimator gives advantage {estimates[i].Advantage:R} (baseline {estimates[i].Baseline:R}), the journal holds {formed.Advantages[i]:R} ({formed.Baselines[i]:R}); the run cannot be resumed exactly."));
            }
        }

        return new TrainingBatch(step.Step, verified, estimates, result.Diagnostics);
    }

    /// <summary>Checks that this run's settings produced the journal's run (estimator, warm start, task set, seed, batch shape).</summary>
    /// <exception cref="InvalidOperationException">They differ; the message names the first difference.</exception>
    public void RequireSameRun(RunStarted current)
    {
        ArgumentNullException.ThrowIfNull(current);
        if (Started is not { } journal)
        {
            return;
        }

        (string What, object? Journal, object? Now)[] fields =
        [
            ("estimator", journal.Estimator, current.Estimator),
            ("estimator settings", journal.EstimatorSettings, current.EstimatorSettings),
            ("warm-start policy hash", journal.PolicyHash, current.PolicyHash),
            ("task-set hash", journal.TaskSetHash, current.TaskSetHash),
            ("offline samples per prompt", journal.SamplesPerPrompt, current.SamplesPerPrompt),
            ("seed", journal.Seed, current.Seed),
            ("batch size", journal.BatchSize, current.BatchSize),
            ("rollouts per prompt", journal.RolloutsPerPrompt, current.RolloutsPerPrompt),
        ];
        foreach ((string what, object? was, object? now) in fields)
        {
            if (!Equals(was, now))
            {
                throw new InvalidOperationException($"cannot resume: the run's {what} was {was}, the configuration now gives {now}; resume with the run's own configuration.");
            }
        }
    }

    private static InvalidOperationException Inconsistent(JournalQuery events, string what) =>
        new($"cannot resume from the journal at {events.Target.Describe()}: {what}.");
}
