using System.Runtime.CompilerServices;
using System.Runtime.Serialization;
using Akka;
using Akka.Actor;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.Streams.Dsl;

namespace Basis.Training.Journal;

/// <summary>A journaled event as the read journal returns it, with its global ordering.</summary>
public sealed record JournalEvent(string PersistenceId, long SequenceNumber, long Ordering, object Event)
{
    public string Manifest => JournalManifest.Of(Event);
}

/// <summary>
/// Reads a run's journal through Akka.Persistence.Query (the SQL read journal of Akka.Persistence.Sql):
/// the current events of a stream or tag, and live streams that follow a running run. A row the
/// serializer cannot read fails the read with its persistence id and sequence number.
/// </summary>
public sealed class JournalQuery : IAsyncDisposable
{
    private const int ReadBatch = 1000;

    private readonly ActorSystem _system;
    private readonly bool _ownsSystem;
    private readonly SqlReadJournal _read;
    private readonly IMaterializer _materializer;

    /// <param name="system">An actor system configured with <see cref="JournalConfig.For"/> for <paramref name="target"/>.</param>
    /// <param name="ownsSystem">Terminate <paramref name="system"/> on dispose.</param>
    public JournalQuery(ActorSystem system, JournalTarget target, bool ownsSystem)
    {
        ArgumentNullException.ThrowIfNull(system);
        ArgumentNullException.ThrowIfNull(target);
        _system = system;
        _ownsSystem = ownsSystem;
        Target = target;
        _read = PersistenceQuery.Get(system).ReadJournalFor<SqlReadJournal>(SqlReadJournal.Identifier);
        _materializer = system.Materializer();
    }

    public JournalTarget Target { get; }

    /// <summary>Opens a read-only view of an existing journal in an actor system of its own.</summary>
    /// <exception cref="LegacyJournalException">The database holds the earlier home-made format.</exception>
    /// <exception cref="JournalUnavailableException">The database cannot be reached.</exception>
    public static async Task<JournalQuery> OpenAsync(JournalTarget target, JournalTuning? tuning, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        await JournalPreflight.CheckAsync(target, forWriting: false, cancellationToken).ConfigureAwait(false);
        return new JournalQuery(RunActorSystem.Create(target, tuning, "basis-query"), target, ownsSystem: true);
    }

    /// <summary>The stream's events stored now, from <paramref name="from"/> to <paramref name="to"/> (sequence numbers, inclusive).</summary>
    public IAsyncEnumerable<JournalEvent> CurrentEventsByPersistenceId(string persistenceId, long from = 1, long to = long.MaxValue, CancellationToken cancellationToken = default) =>
        ReadAsync(_read.CurrentEventsByPersistenceId(persistenceId, from, to), persistenceId, from - 1, cancellationToken);

    /// <summary>The stream's events from <paramref name="from"/> on, then each new one as it is committed; never completes.</summary>
    public IAsyncEnumerable<JournalEvent> EventsByPersistenceId(string persistenceId, long from = 1, CancellationToken cancellationToken = default) =>
        ReadAsync(_read.EventsByPersistenceId(persistenceId, from, long.MaxValue), persistenceId, from - 1, cancellationToken);

    /// <summary>The tag's events stored now with an ordering above <paramref name="afterOrdering"/>.</summary>
    public IAsyncEnumerable<JournalEvent> CurrentEventsByTag(string tag, long afterOrdering = 0, CancellationToken cancellationToken = default) =>
        ReadAsync(_read.CurrentEventsByTag(tag, Offset.Sequence(afterOrdering)), null, 0, cancellationToken);

    /// <summary>The tag's events above <paramref name="afterOrdering"/>, then each new one as it is committed; never completes.</summary>
    public IAsyncEnumerable<JournalEvent> EventsByTag(string tag, long afterOrdering = 0, CancellationToken cancellationToken = default) =>
        ReadAsync(_read.EventsByTag(tag, Offset.Sequence(afterOrdering)), null, 0, cancellationToken);

    /// <summary>Every event stored now, in ordering.</summary>
    public IAsyncEnumerable<JournalEvent> CurrentAllEvents(CancellationToken cancellationToken = default) =>
        ReadAsync(_read.CurrentAllEvents(Offset.NoOffset()), null, 0, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (_ownsSystem)
        {
            await _system.Terminate().ConfigureAwait(false);
            Target.ReleasePooledConnections();
        }
    }

    private async IAsyncEnumerable<JournalEvent> ReadAsync(Source<EventEnvelope, NotUsed> source, string? persistenceId, long lastSequence, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // Handing over one envelope per pull costs a round trip through the stream per event; batching
        // what has arrived while the reader was busy keeps replay at the database's pace (a live stream
        // still hands each event over as soon as it arrives).
        Source<List<EventEnvelope>, NotUsed> batches = source.Batch(ReadBatch, e => new List<EventEnvelope> { e }, (list, e) =>
        {
            list.Add(e);
            return list;
        });
        await using IAsyncEnumerator<List<EventEnvelope>> events = batches.RunAsAsyncEnumerable(_materializer).GetAsyncEnumerator(cancellationToken);
        while (true)
        {
            List<EventEnvelope> batch;
            try
            {
                if (!await events.MoveNextAsync().ConfigureAwait(false))
                {
                    yield break;
                }

                batch = events.Current;
            }
            catch (Exception e) when (IsUnreadable(e))
            {
                throw persistenceId is null
                    ? await LocateAsync(e, cancellationToken).ConfigureAwait(false)
                    : new JournalCorruptionException(persistenceId, lastSequence + 1, Unreadable(e));
            }
            catch (Exception e) when (e is not OperationCanceledException && e is not JournalCorruptionException)
            {
                throw new JournalUnavailableException(Target, e);
            }

            foreach (EventEnvelope envelope in batch)
            {
                lastSequence = envelope.SequenceNr;
                yield return new JournalEvent(envelope.PersistenceId, envelope.SequenceNr, envelope.Offset is Sequence s ? s.Value : 0, envelope.Event);
            }
        }
    }

    // A read by tag or ordering does not say which stream broke; each stream's own read does.
    private async Task<Exception> LocateAsync(Exception failure, CancellationToken cancellationToken)
    {
        IAsyncEnumerable<string> ids = _read.CurrentPersistenceIds().RunAsAsyncEnumerable(_materializer);
        await foreach (string id in ids.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            try
            {
                await foreach (JournalEvent _ in CurrentEventsByPersistenceId(id, cancellationToken: cancellationToken).ConfigureAwait(false))
                {
                }
            }
            catch (JournalCorruptionException located)
            {
                return located;
            }
        }

        return new JournalUnavailableException(Target, Unreadable(failure));
    }

    private static bool IsUnreadable(Exception e) => Unreadable(e) is SerializationException;

    private static Exception Unreadable(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            if (x is SerializationException)
            {
                return x;
            }
        }

        return e;
    }
}

/// <summary>The manifest an event is journaled under.</summary>
public static class JournalManifest
{
    public static string Of(object @event) => JournalEventSerializer.Formats.First(f => f.Value == @event.GetType()).Key;
}
