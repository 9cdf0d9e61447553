using System.Diagnostics;
using Akka.Actor;
using Akka.Persistence.Journal;
using Basis.Training.Graph;

namespace Basis.Training.Journal;

/// <summary>
/// Writes a run's events through two persistent actors on Akka.Persistence.Sql: the aggregator's stream
/// (rollouts, rewards, formed batches; one atomic write per step, so a step is in the journal whole or
/// not at all) and the learner's stream (the run's start, policy updates, and the run snapshot).
/// </summary>
public sealed class TrainingJournal : IAsyncDisposable
{
    public const string AggregatorId = "aggregator";
    public const string LearnerId = "learner";

    private static int s_instances;

    private readonly ActorSystem _system;
    private readonly bool _ownsSystem;
    private readonly IActorRef _aggregator;
    private readonly IActorRef _learner;
    private readonly TimeSpan _timeout;

    private TrainingJournal(ActorSystem system, bool ownsSystem, JournalTarget target, IActorRef aggregator, IActorRef learner, TimeSpan timeout, JournalStreamActor.Recovered aggregatorState, JournalStreamActor.Recovered learnerState)
    {
        _system = system;
        _ownsSystem = ownsSystem;
        Target = target;
        _aggregator = aggregator;
        _learner = learner;
        _timeout = timeout;
        AggregatorSequence = aggregatorState.LastSequenceNr;
        LearnerSequence = learnerState.LastSequenceNr;
        Snapshot = learnerState.Snapshot;
    }

    public JournalTarget Target { get; }

    /// <summary>The system the journal's actors run in (a <see cref="JournalQuery"/> on it reads the same database).</summary>
    public ActorSystem System => _system;

    /// <summary>The aggregator's last written sequence number.</summary>
    public long AggregatorSequence { get; private set; }

    /// <summary>The learner's last written sequence number (1 once <c>RunStarted</c> is in).</summary>
    public long LearnerSequence { get; private set; }

    /// <summary>Wall-clock time the caller spent waiting on writes and snapshots: what the journal adds to a run that awaits each.</summary>
    public TimeSpan WriteTime { get; private set; }

    /// <summary>The part of <see cref="WriteTime"/> spent on snapshots.</summary>
    public TimeSpan SnapshotTime { get; private set; }

    /// <summary>The latest run snapshot, as the learner's stream recovered it (null when none).</summary>
    public Run.RunSnapshot? Snapshot { get; }

    /// <summary>Opens a new run's journal; refuses one that already holds a run.</summary>
    /// <param name="system">An actor system configured with <see cref="JournalConfig.For"/> for <paramref name="target"/>.</param>
    /// <param name="ownsSystem">Terminate <paramref name="system"/> on dispose (it was made for this journal).</param>
    /// <exception cref="LegacyJournalException">The database holds the earlier home-made format.</exception>
    /// <exception cref="JournalUnavailableException">The database cannot be reached.</exception>
    public static async Task<TrainingJournal> OpenAsync(ActorSystem system, JournalTarget target, bool ownsSystem, CancellationToken cancellationToken)
    {
        TrainingJournal journal = await OpenForResumeAsync(system, target, ownsSystem, cancellationToken).ConfigureAwait(false);
        if (journal.AggregatorSequence > 0 || journal.LearnerSequence > 0)
        {
            await journal.DisposeAsync().ConfigureAwait(false);
            throw new InvalidOperationException($"the journal at {target.Describe()} already holds a run; continue it with `basis train --resume RUN`, or use a new run folder (PostgreSQL: a new database or search path).");
        }

        return journal;
    }

    /// <summary>
    /// Opens an existing run's journal to continue it: writes go on after the last committed sequence
    /// numbers. An empty journal is fine (the run stopped before its first event).
    /// </summary>
    public static async Task<TrainingJournal> OpenForResumeAsync(ActorSystem system, JournalTarget target, bool ownsSystem, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(system);
        ArgumentNullException.ThrowIfNull(target);
        IActorRef? aggregator = null;
        IActorRef? learner = null;
        try
        {
            await JournalPreflight.CheckAsync(target, forWriting: true, cancellationToken).ConfigureAwait(false);
            int instance = Interlocked.Increment(ref s_instances);
            var aggregatorRecovered = new TaskCompletionSource<JournalStreamActor.Recovered>(TaskCreationOptions.RunContinuationsAsynchronously);
            var learnerRecovered = new TaskCompletionSource<JournalStreamActor.Recovered>(TaskCreationOptions.RunContinuationsAsynchronously);
            aggregator = system.ActorOf(JournalStreamActor.Props(AggregatorId, recoverSnapshot: false, aggregatorRecovered), $"journal-{AggregatorId}-{instance}");
            learner = system.ActorOf(JournalStreamActor.Props(LearnerId, recoverSnapshot: true, learnerRecovered), $"journal-{LearnerId}-{instance}");
            TimeSpan timeout = system.Settings.Config.GetTimeSpan("akka.persistence.journal.sql.circuit-breaker.call-timeout", TimeSpan.FromSeconds(30)) * 2;
            JournalStreamActor.Recovered[] recovered = await Task.WhenAll(aggregatorRecovered.Task, learnerRecovered.Task).WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
            return new TrainingJournal(system, ownsSystem, target, aggregator, learner, timeout, recovered[0], recovered[1]);
        }
        catch (Exception e)
        {
            aggregator?.Tell(PoisonPill.Instance);
            learner?.Tell(PoisonPill.Instance);
            if (ownsSystem)
            {
                await system.Terminate().ConfigureAwait(false);
            }

            throw e is LegacyJournalException or JournalUnavailableException or JournalCorruptionException or OperationCanceledException ? e : new JournalUnavailableException(target, e);
        }
    }

    /// <summary>
    /// Stores the snapshot at the learner's current sequence number, then deletes the older ones. Each
    /// is one transaction, so a crash at any instant leaves the old snapshot, the new one, or both.
    /// </summary>
    public async Task SaveSnapshotAsync(Run.RunSnapshot snapshot, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        if (snapshot.LearnerSequence != LearnerSequence || snapshot.AggregatorSequence != AggregatorSequence)
        {
            throw new InvalidOperationException($"a snapshot at learner/aggregator sequence numbers {snapshot.LearnerSequence}/{snapshot.AggregatorSequence} does not match the journal's {LearnerSequence}/{AggregatorSequence}.");
        }

        TimeSpan before = WriteTime;
        await AskAsync<JournalStreamActor.SnapshotSaved>(_learner, new JournalStreamActor.SaveRunSnapshot(snapshot), cancellationToken).ConfigureAwait(false);
        SnapshotTime += WriteTime - before;
    }

    public async Task StartAsync(RunStarted started, CancellationToken cancellationToken) =>
        LearnerSequence = await AppendAsync(_learner, [new Tagged(started, ["run"])], cancellationToken).ConfigureAwait(false);

    public async Task WriteStepAsync(TrainingBatch batch, CancellationToken cancellationToken) =>
        AggregatorSequence = await AppendAsync(_aggregator, StepEvents(batch), cancellationToken).ConfigureAwait(false);

    public async Task WritePolicyUpdatedAsync(PolicyUpdated updated, CancellationToken cancellationToken) =>
        LearnerSequence = await AppendAsync(_learner, [new Tagged(updated, ["policy"])], cancellationToken).ConfigureAwait(false);

    /// <summary>A step's events in the order they are journaled: each rollout and its reward, then the formed batch.</summary>
    public static IReadOnlyList<object> StepEvents(TrainingBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var events = new List<object>((batch.Rollouts.Count * 2) + 1);
        foreach (VerifiedRollout rollout in batch.Rollouts)
        {
            Rollout r = rollout.Rollout;
            WorkItem work = r.Work;
            // Untagged: Akka.Persistence.Sql writes a tagged event row by row (each needs its ordering for
            // the tag table), which made a step's write 3 to 6 times slower; rollouts are read by stream.
            events.Add(new RolloutGenerated(work.Step, work.Slot, work.GroupIndex, work.Prompt.Id, r.Completion, r.CompletionTokens, r.BehaviourLogProbs, r.PolicyVersion));
            events.Add(new RewardAssigned(work.Step, work.Slot, rollout.Reward, rollout.Reason, rollout.Quarantined));
        }

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
        events.Add(new Tagged(formed, ["batch"]));
        return events;
    }

    /// <summary>Appends events (payloads or <see cref="Tagged"/> payloads) to a stream as one atomic write; for fixtures and benchmarks.</summary>
    public async Task<long> AppendAsync(string persistenceId, IReadOnlyList<object> events, CancellationToken cancellationToken)
    {
        long last = await AppendAsync(persistenceId == LearnerId ? _learner : persistenceId == AggregatorId ? _aggregator : throw new ArgumentException($"a run has no stream '{persistenceId}'.", nameof(persistenceId)), events, cancellationToken).ConfigureAwait(false);
        if (persistenceId == LearnerId)
        {
            LearnerSequence = last;
        }
        else
        {
            AggregatorSequence = last;
        }

        return last;
    }

    public async ValueTask DisposeAsync()
    {
        // Stop the writers before the system goes: a SQLite file must not be disposed under a running journal (akka-notes §3).
        await Task.WhenAll(Stop(_aggregator), Stop(_learner)).ConfigureAwait(false);
        if (_ownsSystem)
        {
            await _system.Terminate().ConfigureAwait(false);
            Target.ReleasePooledConnections();
        }
    }

    private async Task Stop(IActorRef actor)
    {
        try
        {
            await actor.GracefulStop(_timeout).ConfigureAwait(false);
        }
        catch (TaskCanceledException)
        {
            // Already stopped after a failed write.
        }
    }

    private async Task<long> AppendAsync(IActorRef stream, IReadOnlyList<object> events, CancellationToken cancellationToken) =>
        (await AskAsync<JournalStreamActor.Appended>(stream, new JournalStreamActor.Append(events), cancellationToken).ConfigureAwait(false)).LastSequenceNr;

    private async Task<T> AskAsync<T>(IActorRef stream, object command, CancellationToken cancellationToken)
    {
        // A stopped run writes nothing more; a write already sent completes or fails whole.
        cancellationToken.ThrowIfCancellationRequested();
        long started = Stopwatch.GetTimestamp();
        try
        {
            return await stream.Ask<T>(command, _timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // A failed write stops its stream (Akka's rule); the run fails with the database named and resumes from what was committed.
            throw new JournalUnavailableException(Target, e);
        }
        finally
        {
            WriteTime += Stopwatch.GetElapsedTime(started);
        }
    }
}
