using Akka.Actor;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Basis.Training.Run;

namespace Basis.Training.Journal;

/// <summary>
/// One of a run's two event streams ("aggregator" or "learner") as a persistent actor: it appends a
/// command's events with one <c>PersistAll</c> (one atomic write, one transaction: a step is in the
/// journal whole or not at all) and keeps the stream's run snapshot in the snapshot store.
/// </summary>
/// <remarks>
/// The aggregator recovers only its highest sequence number (its events are read back through
/// Akka.Persistence.Query when a run resumes); the learner recovers its latest snapshot and the few
/// events after it. Failures are answered to the waiting caller, never only logged.
/// </remarks>
internal sealed class JournalStreamActor : ReceivePersistentActor
{
    private readonly string _persistenceId;
    private readonly bool _recoverSnapshot;
    private readonly TaskCompletionSource<Recovered> _recovered;
    private RunSnapshot? _snapshot;
    private long _snapshotSequence;
    private IActorRef? _waiting;

    public JournalStreamActor(string persistenceId, bool recoverSnapshot, TaskCompletionSource<Recovered> recovered)
    {
        _persistenceId = persistenceId;
        _recoverSnapshot = recoverSnapshot;
        _recovered = recovered;

        Recover<SnapshotOffer>(offer =>
        {
            _snapshot = offer.Snapshot as RunSnapshot;
            _snapshotSequence = offer.Metadata.SequenceNr;
        });
        Recover<RecoveryCompleted>(_ => _recovered.TrySetResult(new Recovered(LastSequenceNr, _snapshot, _snapshotSequence)));
        Recover<object>(_ =>
        {
            // Events after the snapshot: the run reads them through the query side.
        });

        Command<Append>(append =>
        {
            _waiting = Sender;
            int remaining = append.Events.Count;
            PersistAll(append.Events, _ =>
            {
                if (--remaining == 0)
                {
                    _waiting = null;
                    Sender.Tell(new Appended(LastSequenceNr));
                }
            });
        });
        Command<SaveRunSnapshot>(save =>
        {
            _waiting = Sender;
            SaveSnapshot(save.Snapshot);
        });
        Command<SaveSnapshotSuccess>(saved =>
        {
            _snapshotSequence = saved.Metadata.SequenceNr;
            DeleteSnapshots(new SnapshotSelectionCriteria(saved.Metadata.SequenceNr - 1));
        });
        Command<DeleteSnapshotsSuccess>(_ => Reply(new SnapshotSaved(_snapshotSequence)));
        Command<SaveSnapshotFailure>(failed => Reply(new Status.Failure(failed.Cause)));
        Command<DeleteSnapshotsFailure>(failed => Reply(new Status.Failure(failed.Cause)));
    }

    public override string PersistenceId => _persistenceId;

    public override Recovery Recovery => _recoverSnapshot ? Recovery.Default : Recovery.None;

    public static Props Props(string persistenceId, bool recoverSnapshot, TaskCompletionSource<Recovered> recovered) =>
        Akka.Actor.Props.Create(() => new JournalStreamActor(persistenceId, recoverSnapshot, recovered));

    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        // An unreadable event names itself: it is the one after the last one replayed.
        Exception failure = reason is System.Runtime.Serialization.SerializationException || reason.InnerException is System.Runtime.Serialization.SerializationException
            ? new JournalCorruptionException(_persistenceId, LastSequenceNr + 1, reason)
            : reason;
        _recovered.TrySetException(failure);
        base.OnRecoveryFailure(reason, message);
    }

    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        // The actor stops after this (Akka's rule for a failed write); the caller learns why at once.
        Reply(new Status.Failure(cause));
        base.OnPersistFailure(cause, @event, sequenceNr);
    }

    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        Reply(new Status.Failure(cause));
        base.OnPersistRejected(cause, @event, sequenceNr);
    }

    private void Reply(object message)
    {
        _waiting?.Tell(message);
        _waiting = null;
    }

    /// <summary>Persist these events (each a payload or a <see cref="Tagged"/> payload) as one atomic write.</summary>
    public sealed record Append(IReadOnlyList<object> Events);

    public sealed record Appended(long LastSequenceNr);

    public sealed record SaveRunSnapshot(RunSnapshot Snapshot);

    public sealed record SnapshotSaved(long SequenceNr);

    /// <summary>What recovery found: the highest sequence number, and the latest snapshot where the stream keeps one.</summary>
    public sealed record Recovered(long LastSequenceNr, RunSnapshot? Snapshot, long SnapshotSequenceNr);
}
