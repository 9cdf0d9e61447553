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

    public static EventSerializerRegistry CreateRegistry() => new EventSerializerRegistry()
        .Register<RunStarted>("RunStarted", 1)
        .Register<RolloutGenerated>("RolloutGenerated", 1)
        .Register<RewardAssigned>("RewardAssigned", 1)
        .Register<BatchFormed>("BatchFormed", 1)
        .Register<PolicyUpdated>("PolicyUpdated", 1);

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
            throw new InvalidOperationException($"the journal at {journal.Target} already holds a run; use a new run folder.");
        }

        return training;
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
