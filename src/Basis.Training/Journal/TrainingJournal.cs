using System.Text.Json;
using System.Text.Json.Serialization;
using Basis.Persistence;
using Basis.Persistence.Serialization;
using Basis.Training.Graph;

namespace Basis.Training.Journal;

/// <summary>
/// Writes a run's events: the aggregator's stream (rollouts, rewards, formed batches, one atomic write
/// per step so a step is in the journal whole or not at all) and the learner's stream (policy updates).
/// </summary>
public sealed class TrainingJournal : IAsyncDisposable
{
    public const string AggregatorId = "aggregator";
    public const string LearnerId = "learner";

    private readonly EventJournal _journal;
    private long _aggregatorSequence;
    private long _learnerSequence;

    private TrainingJournal(EventJournal journal)
    {
        _journal = journal;
    }

    public EventJournal Events => _journal;

    /// <summary>The aggregator's last written sequence number.</summary>
    public long AggregatorSequence => _aggregatorSequence;

    /// <summary>The learner's last written sequence number (1 once <c>RunStarted</c> is in).</summary>
    public long LearnerSequence => _learnerSequence;

    public static EventSerializerRegistry CreateRegistry() => new EventSerializerRegistry()
        .Register<RunStarted>("RunStarted", 1)
        .Register<RolloutGenerated>("RolloutGenerated", 1)
        .Register<RewardAssigned>("RewardAssigned", 1)
        .Register<BatchFormed>("BatchFormed", 1)
        .Register<PolicyUpdated>("PolicyUpdated", 1)
        .Register<Run.RunSnapshot>("RunSnapshot", 1, new JsonSerializerOptions { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals });

    /// <summary>Opens (and migrates) the journal; a run folder's SQLite journal by default.</summary>
    public static async Task<TrainingJournal> OpenAsync(string provider, string connectionString, CancellationToken cancellationToken)
    {
        EventJournal journal = await JournalFactory.CreateAsync(provider, connectionString, CreateRegistry(), cancellationToken: cancellationToken).ConfigureAwait(false);
        var training = new TrainingJournal(journal);
        training._aggregatorSequence = await journal.HighestSequenceNumberAsync(AggregatorId, cancellationToken).ConfigureAwait(false);
        training._learnerSequence = await journal.HighestSequenceNumberAsync(LearnerId, cancellationToken).ConfigureAwait(false);
        if (training._aggregatorSequence > 0 || training._learnerSequence > 0)
        {
            await journal.DisposeAsync().ConfigureAwait(false);
            throw new InvalidOperationException($"the journal at {journal.Target} already holds a run; continue it with `basis train --resume RUN`, or use a new run folder (PostgreSQL: a new database or search path).");
        }

        return training;
    }

    /// <summary>
    /// Opens an existing run's journal to continue it: writes go on after the last committed sequence
    /// numbers. An empty journal is fine (the run stopped before its first event).
    /// </summary>
    public static async Task<TrainingJournal> OpenForResumeAsync(string provider, string connectionString, CancellationToken cancellationToken)
    {
        EventJournal journal = await JournalFactory.CreateAsync(provider, connectionString, CreateRegistry(), cancellationToken: cancellationToken).ConfigureAwait(false);
        try
        {
            var training = new TrainingJournal(journal);
            training._aggregatorSequence = await journal.HighestSequenceNumberAsync(AggregatorId, cancellationToken).ConfigureAwait(false);
            training._learnerSequence = await journal.HighestSequenceNumberAsync(LearnerId, cancellationToken).ConfigureAwait(false);
            return training;
        }
        catch
        {
            await journal.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Stores the snapshot at the learner's current sequence number, then deletes the older ones. Each
    /// is one transaction, so a crash at any instant leaves the old snapshot, the new one, or both.
    /// </summary>
    public async Task SaveSnapshotAsync(Run.RunSnapshot snapshot, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        if (snapshot.LearnerSequence != _learnerSequence || snapshot.AggregatorSequence != _aggregatorSequence)
        {
            throw new InvalidOperationException($"a snapshot at learner/aggregator sequence numbers {snapshot.LearnerSequence}/{snapshot.AggregatorSequence} does not match the journal's {_learnerSequence}/{_aggregatorSequence}.");
        }

        await _journal.SaveSnapshotAsync(LearnerId, _learnerSequence, snapshot, cancellationToken).ConfigureAwait(false);
        await _journal.DeleteSnapshotsToAsync(LearnerId, _learnerSequence - 1, cancellationToken).ConfigureAwait(false);
    }

    public Task StartAsync(RunStarted started, CancellationToken cancellationToken) =>
        _journal.AppendAtomicAsync([new EventWrite(LearnerId, ++_learnerSequence, started, ["run"])], cancellationToken);

    public Task WriteStepAsync(TrainingBatch batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var writes = new List<EventWrite>((batch.Rollouts.Count * 2) + 1);
        foreach (VerifiedRollout rollout in batch.Rollouts)
        {
            Rollout r = rollout.Rollout;
            WorkItem work = r.Work;
            writes.Add(new EventWrite(AggregatorId, ++_aggregatorSequence, new RolloutGenerated(work.Step, work.Slot, work.GroupIndex, work.Prompt.Id, r.Completion, r.CompletionTokens, r.BehaviourLogProbs, r.PolicyVersion), ["rollout"]));
            writes.Add(new EventWrite(AggregatorId, ++_aggregatorSequence, new RewardAssigned(work.Step, work.Slot, rollout.Reward, rollout.Reason, rollout.Quarantined)));
        }

        int n = batch.Rollouts.Count;
        var formed = new BatchFormed(
            batch.Step,
            batch.Diagnostics.Estimator,
            batch.Rollouts.Select(r => r.Work.Slot).ToArray(),
            batch.Rollouts.Select(r => r.Work.Prompt.Id).ToArray(),
            batch.Rollouts.Select(r => r.Work.GroupIndex).ToArray(),
            batch.Rollouts.Select(r => r.Reward).ToArray(),
            batch.Rollouts.Select(r => r.Quarantined).ToArray(),
            batch.Rollouts.Select(r => r.Work.Offline?.Successes ?? -1).ToArray(),
            batch.Rollouts.Select(r => r.Work.Offline?.Samples ?? -1).ToArray(),
            batch.Estimates.Select(e => e.Baseline).ToArray(),
            batch.Estimates.Select(e => e.Advantage).ToArray(),
            batch.Diagnostics.Beta,
            batch.Diagnostics.ActiveSetSize);
        writes.Add(new EventWrite(AggregatorId, ++_aggregatorSequence, formed, ["batch"]));
        return _journal.AppendAtomicAsync(writes, cancellationToken);
    }

    public Task WritePolicyUpdatedAsync(PolicyUpdated updated, CancellationToken cancellationToken) =>
        _journal.AppendAtomicAsync([new EventWrite(LearnerId, ++_learnerSequence, updated, ["policy"])], cancellationToken);

    public ValueTask DisposeAsync() => _journal.DisposeAsync();
}
