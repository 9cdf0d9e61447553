using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Basis.Persistence.Serialization;

namespace Basis.Persistence;

/// <summary>
/// An event journal and snapshot store in the model of Akka.Persistence.Sql: every event has a stream
/// (persistence id), a dense sequence number within it and a global <c>ordering</c>. Appends go through a
/// bounded queue; a writer loop drains it in batches and commits a few batches at a time. Queries never
/// skip a row that commits late (see <see cref="GapRule"/>). Create one with <see cref="JournalFactory"/>.
/// </summary>
public sealed class EventJournal : IAsyncDisposable
{
    private readonly IJournalBackend _backend;
    private readonly JournalOptions _options;
    private readonly TimeProvider _time;
    private readonly Channel<PendingWrite> _queue;
    private readonly SemaphoreSlim _inFlight;
    private readonly int _maxInFlight;
    private readonly long _gapTimeoutMicros;
    private readonly SemaphoreSlim _drainGate = new(1, 1);
    private readonly Task _writerLoop;
    private TaskCompletionSource _changed = NewSignal();
    private long _batchesCommitted;
    private long _eventsCommitted;
    private int _largestBatch;
    private int _disposed;

    internal EventJournal(IJournalBackend backend, EventSerializerRegistry serializers, JournalOptions options)
    {
        options.Validate();
        _backend = backend;
        _options = options;
        _time = options.TimeProvider;
        _gapTimeoutMicros = options.GapTimeout.Ticks / TimeSpan.TicksPerMicrosecond;
        Serializers = serializers;
        _maxInFlight = Math.Min(options.MaxBatchesInFlight, backend.MaxConcurrentWrites);
        _inFlight = new SemaphoreSlim(_maxInFlight, _maxInFlight);
        _queue = Channel.CreateBounded<PendingWrite>(new BoundedChannelOptions(options.QueueCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _writerLoop = Task.Run(RunWriterAsync);
    }

    /// <summary>Written to the <c>writer_uuid</c> column of every event this instance appends.</summary>
    public Guid WriterUuid { get; } = Guid.NewGuid();

    public EventSerializerRegistry Serializers { get; }

    /// <summary>The database, with any password redacted.</summary>
    public string Target => _backend.Target;

    public JournalWriterStatistics Statistics => new(
        Interlocked.Read(ref _batchesCommitted),
        Interlocked.Read(ref _eventsCommitted),
        Volatile.Read(ref _largestBatch));

    /// <summary>
    /// Appends one event; completes with its ordering once its batch has committed. Cancellation only
    /// stops waiting for room in the queue: a queued write is committed or failed, never dropped.
    /// </summary>
    /// <exception cref="JournalConcurrencyException">The sequence number is taken.</exception>
    /// <exception cref="JournalUnavailableException">The database cannot be reached.</exception>
    public async Task<long> AppendAsync(EventWrite write, CancellationToken cancellationToken = default)
    {
        long[] orderings = await EnqueueAsync([Serialize(write)], cancellationToken).ConfigureAwait(false);
        return orderings[0];
    }

    /// <summary>Appends events of one persistence id that commit together or not at all; returns their orderings.</summary>
    public Task<long[]> AppendAtomicAsync(IReadOnlyList<EventWrite> writes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(writes);
        if (writes.Count == 0)
        {
            throw new ArgumentException("An atomic write needs at least one event.", nameof(writes));
        }

        var events = new SerializedEvent[writes.Count];
        for (int i = 0; i < writes.Count; i++)
        {
            if (!string.Equals(writes[i].PersistenceId, writes[0].PersistenceId, StringComparison.Ordinal))
            {
                throw new ArgumentException("All events of an atomic write must share one persistence id.", nameof(writes));
            }

            events[i] = Serialize(writes[i]);
        }

        return EnqueueAsync(events, cancellationToken);
    }

    /// <summary>Wakes live queries now; call it when another process signals a commit (e.g. PostgreSQL NOTIFY).</summary>
    public void NotifyChanged() => Interlocked.Exchange(ref _changed, NewSignal()).TrySetResult();

    /// <summary>The events of one stream with sequence numbers in [from, to] that exist now.</summary>
    public IAsyncEnumerable<EventEnvelope> CurrentEventsByPersistenceId(
        string persistenceId, long fromSequenceNumber = 1, long toSequenceNumber = long.MaxValue, CancellationToken cancellationToken = default) =>
        EventsByPersistenceIdCore(persistenceId, fromSequenceNumber, toSequenceNumber, live: false, cancellationToken);

    /// <summary>The events of one stream from <paramref name="fromSequenceNumber"/> on, then new ones as they commit.</summary>
    public IAsyncEnumerable<EventEnvelope> EventsByPersistenceId(
        string persistenceId, long fromSequenceNumber = 1, long toSequenceNumber = long.MaxValue, CancellationToken cancellationToken = default) =>
        EventsByPersistenceIdCore(persistenceId, fromSequenceNumber, toSequenceNumber, live: true, cancellationToken);

    /// <summary>Events tagged <paramref name="tag"/> with ordering greater than <paramref name="offset"/>, up to the journal's end now.</summary>
    public IAsyncEnumerable<EventEnvelope> CurrentEventsByTag(string tag, long offset = 0, CancellationToken cancellationToken = default) =>
        EventsByTagCore(tag, offset, live: false, cancellationToken);

    /// <summary>Events tagged <paramref name="tag"/> with ordering greater than <paramref name="offset"/>, then new ones as they commit.</summary>
    public IAsyncEnumerable<EventEnvelope> EventsByTag(string tag, long offset = 0, CancellationToken cancellationToken = default) =>
        EventsByTagCore(tag, offset, live: true, cancellationToken);

    /// <summary>Every event with ordering greater than <paramref name="offset"/>, up to the journal's end now (replay, export).</summary>
    public IAsyncEnumerable<EventEnvelope> CurrentAllEvents(long offset = 0, CancellationToken cancellationToken = default) =>
        AllEventsCore(offset, live: false, cancellationToken);

    /// <summary>Every event with ordering greater than <paramref name="offset"/>, then new ones as they commit.</summary>
    public IAsyncEnumerable<EventEnvelope> AllEvents(long offset = 0, CancellationToken cancellationToken = default) =>
        AllEventsCore(offset, live: true, cancellationToken);

    /// <summary>The highest sequence number ever written for the stream (deleted events count); 0 when empty.</summary>
    public Task<long> HighestSequenceNumberAsync(string persistenceId, CancellationToken cancellationToken = default) =>
        _backend.HighestSequenceNumberAsync(persistenceId, cancellationToken);

    /// <summary>
    /// Marks the stream's events up to <paramref name="toSequenceNumber"/> deleted. Rows stay (a logical
    /// delete) so orderings stay dense for the gap rule and the highest sequence number survives.
    /// </summary>
    public Task DeleteEventsToAsync(string persistenceId, long toSequenceNumber, CancellationToken cancellationToken = default) =>
        _backend.DeleteEventsToAsync(persistenceId, toSequenceNumber, cancellationToken);

    /// <summary>Stores a snapshot of the stream's state after <paramref name="sequenceNumber"/>; replaces one at the same number.</summary>
    public Task SaveSnapshotAsync(string persistenceId, long sequenceNumber, object snapshot, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(persistenceId);
        (string manifest, byte[] payload) = Serializers.Serialize(snapshot);
        var stored = new StoredSnapshot(persistenceId, sequenceNumber, UnixMicros.From(_time.GetUtcNow()), manifest, payload);
        return _backend.SaveSnapshotAsync(stored, cancellationToken);
    }

    /// <summary>The latest snapshot with sequence number at most <paramref name="maxSequenceNumber"/>, or null.</summary>
    public async Task<SnapshotEnvelope?> LoadSnapshotAsync(string persistenceId, long maxSequenceNumber = long.MaxValue, CancellationToken cancellationToken = default)
    {
        StoredSnapshot? found = await _backend.LoadSnapshotAsync(persistenceId, maxSequenceNumber, cancellationToken).ConfigureAwait(false);
        if (found is not { } row)
        {
            return null;
        }

        object snapshot;
        try
        {
            snapshot = Serializers.Deserialize(row.Manifest, row.Payload);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw new JournalCorruptionException(
                $"Snapshot of persistence id '{row.PersistenceId}' at sequence number {row.SequenceNumber} (manifest '{row.Manifest}') cannot be deserialized: {ex.Message}",
                row.PersistenceId, row.SequenceNumber, ordering: null, row.Manifest, ex);
        }

        return new SnapshotEnvelope(row.PersistenceId, row.SequenceNumber, UnixMicros.ToDateTimeOffset(row.CreatedMicros), row.Manifest, snapshot);
    }

    /// <summary>
    /// Deletes the stream's snapshots with sequence numbers at most <paramref name="maxSequenceNumber"/>. Save the
    /// new snapshot first, then delete the older ones: a crash between the two leaves an extra old snapshot, never none.
    /// </summary>
    public Task DeleteSnapshotsToAsync(string persistenceId, long maxSequenceNumber, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(persistenceId);
        return _backend.DeleteSnapshotsToAsync(persistenceId, maxSequenceNumber, cancellationToken);
    }

    /// <summary>The rows of the schema_version table.</summary>
    public Task<IReadOnlyList<AppliedMigration>> SchemaVersionsAsync(CancellationToken cancellationToken = default) =>
        _backend.ReadSchemaVersionsAsync(cancellationToken);

    /// <summary>Commits everything queued, then closes the database.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _queue.Writer.TryComplete();
        await _writerLoop.ConfigureAwait(false);
        await _backend.DisposeAsync().ConfigureAwait(false);
        _inFlight.Dispose();
        _drainGate.Dispose();
    }

    /// <summary>Stops the writer loop from draining the queue until the result is disposed (tests use it to make batching observable).</summary>
    internal async Task<IAsyncDisposable> HoldWriterAsync()
    {
        await _drainGate.WaitAsync().ConfigureAwait(false);
        return new GateRelease(_drainGate);
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private SerializedEvent Serialize(EventWrite write)
    {
        ArgumentException.ThrowIfNullOrEmpty(write.PersistenceId);
        ArgumentOutOfRangeException.ThrowIfLessThan(write.SequenceNumber, 1);
        ArgumentNullException.ThrowIfNull(write.Event);
        (string manifest, byte[] payload) = Serializers.Serialize(write.Event);
        string[]? tags = write.Tags is { Count: > 0 } given ? given.Distinct(StringComparer.Ordinal).ToArray() : null;
        if (tags is not null && Array.Exists(tags, string.IsNullOrEmpty))
        {
            throw new ArgumentException($"Event {write.PersistenceId}#{write.SequenceNumber} has an empty tag.", nameof(write));
        }

        return new SerializedEvent(write.PersistenceId, write.SequenceNumber, manifest, payload, tags);
    }

    private async Task<long[]> EnqueueAsync(SerializedEvent[] events, CancellationToken cancellationToken)
    {
        var pending = new PendingWrite(events);
        try
        {
            await _queue.Writer.WriteAsync(pending, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException ex)
        {
            throw new ObjectDisposedException($"The journal at {Target} is closed.", ex);
        }

        return await pending.Completion.Task.ConfigureAwait(false);
    }

    private async Task RunWriterAsync()
    {
        ChannelReader<PendingWrite> reader = _queue.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            await _drainGate.WaitAsync().ConfigureAwait(false);
            _drainGate.Release();

            var batch = new List<PendingWrite>();
            int count = 0;
            while (reader.TryPeek(out PendingWrite? next) && (count == 0 || count + next.Events.Length <= _options.MaxBatchSize))
            {
                reader.TryRead(out _);
                batch.Add(next);
                count += next.Events.Length;
            }

            await _inFlight.WaitAsync().ConfigureAwait(false);
            _ = Task.Run(() => CommitBatchAsync(batch));
        }

        // Wait for the batches still committing.
        for (int i = 0; i < _maxInFlight; i++)
        {
            await _inFlight.WaitAsync().ConfigureAwait(false);
        }
    }

    private async Task CommitBatchAsync(List<PendingWrite> batch)
    {
        try
        {
            var events = new List<SerializedEvent>();
            foreach (PendingWrite write in batch)
            {
                events.AddRange(write.Events);
            }

            try
            {
                long[] orderings = await WriteAndCountAsync(events).ConfigureAwait(false);
                int offset = 0;
                foreach (PendingWrite write in batch)
                {
                    write.Completion.TrySetResult(orderings[offset..(offset + write.Events.Length)]);
                    offset += write.Events.Length;
                }
            }
            catch (SequenceConflictException) when (batch.Count > 1)
            {
                // One write conflicts; commit the others on their own so only the culprit fails.
                foreach (PendingWrite write in batch)
                {
                    await CommitSingleAsync(write).ConfigureAwait(false);
                }
            }
            catch (SequenceConflictException ex)
            {
                batch[0].Completion.TrySetException(Conflict(batch[0], ex));
            }
            catch (Exception ex)
            {
                foreach (PendingWrite write in batch)
                {
                    write.Completion.TrySetException(ex);
                }
            }
        }
        finally
        {
            _inFlight.Release();
            NotifyChanged();
        }
    }

    private async Task CommitSingleAsync(PendingWrite write)
    {
        try
        {
            write.Completion.TrySetResult(await WriteAndCountAsync(write.Events).ConfigureAwait(false));
        }
        catch (SequenceConflictException ex)
        {
            write.Completion.TrySetException(Conflict(write, ex));
        }
        catch (Exception ex)
        {
            write.Completion.TrySetException(ex);
        }
    }

    private async Task<long[]> WriteAndCountAsync(IReadOnlyList<SerializedEvent> events)
    {
        long created = UnixMicros.From(_time.GetUtcNow());
        long[] orderings = await _backend.WriteAsync(events, WriterUuid, created, CancellationToken.None).ConfigureAwait(false);
        Interlocked.Increment(ref _batchesCommitted);
        Interlocked.Add(ref _eventsCommitted, events.Count);
        int largest;
        do
        {
            largest = Volatile.Read(ref _largestBatch);
        }
        while (events.Count > largest && Interlocked.CompareExchange(ref _largestBatch, events.Count, largest) != largest);
        return orderings;
    }

    private static JournalConcurrencyException Conflict(PendingWrite write, Exception inner) =>
        new(write.Events[0].PersistenceId, write.Events[0].SequenceNumber, write.Events[^1].SequenceNumber, inner.InnerException ?? inner);

    private async IAsyncEnumerable<EventEnvelope> EventsByPersistenceIdCore(
        string persistenceId, long fromSequenceNumber, long toSequenceNumber, bool live, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(persistenceId);
        // A current query needs no separate look-up of the stream's end (a round trip per stream on replay): a
        // short page whose rows are all safe is the end as of now.
        long position = Math.Max(fromSequenceNumber, 1) - 1;
        long end = toSequenceNumber;
        while (position < end)
        {
            Task changed = Volatile.Read(ref _changed).Task;
            List<StoredEvent> rows = await _backend.ReadByPersistenceIdAsync(persistenceId, position, end, _options.QueryPageSize, cancellationToken)
                .ConfigureAwait(false);
            var stamps = new List<PositionStamp>(rows.Count);
            foreach (StoredEvent row in rows)
            {
                stamps.Add(new PositionStamp(row.SequenceNumber, row.CreatedMicros));
            }

            long safe = GapRule.SafeUpperBound(stamps, position, NowMicros(), _gapTimeoutMicros);
            foreach (StoredEvent row in rows)
            {
                if (row.SequenceNumber > safe)
                {
                    break;
                }

                if (!row.Deleted)
                {
                    yield return ToEnvelope(row);
                }
            }

            bool mayHaveMore = rows.Count == _options.QueryPageSize && safe == rows[^1].SequenceNumber;
            position = safe;
            if (!live && !mayHaveMore && (rows.Count == 0 || safe == rows[^1].SequenceNumber))
            {
                yield break;
            }

            if (!mayHaveMore && position < end)
            {
                await WaitForChangeAsync(changed, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async IAsyncEnumerable<EventEnvelope> EventsByTagCore(
        string tag, long offset, bool live, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(tag);
        long position = Math.Max(offset, 0);
        long end = live ? long.MaxValue : await _backend.MaxOrderingAsync(cancellationToken).ConfigureAwait(false);
        while (position < end)
        {
            Task changed = Volatile.Read(ref _changed).Task;
            List<PositionStamp> stamps = await _backend.ReadOrderingsAsync(position, _options.QueryPageSize, cancellationToken).ConfigureAwait(false);
            long safe = Math.Min(GapRule.SafeUpperBound(stamps, position, NowMicros(), _gapTimeoutMicros), end);
            if (safe > position)
            {
                List<StoredEvent> rows = await _backend.ReadByTagAsync(tag, position, safe, cancellationToken).ConfigureAwait(false);
                foreach (StoredEvent row in rows)
                {
                    yield return ToEnvelope(row);
                }
            }

            bool mayHaveMore = stamps.Count == _options.QueryPageSize && safe == stamps[^1].Position;
            position = safe;
            if (!mayHaveMore && position < end)
            {
                await WaitForChangeAsync(changed, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async IAsyncEnumerable<EventEnvelope> AllEventsCore(long offset, bool live, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        long position = Math.Max(offset, 0);
        long end = live ? long.MaxValue : await _backend.MaxOrderingAsync(cancellationToken).ConfigureAwait(false);
        while (position < end)
        {
            Task changed = Volatile.Read(ref _changed).Task;
            List<StoredEvent> rows = await _backend.ReadAllAsync(position, _options.QueryPageSize, cancellationToken).ConfigureAwait(false);
            var stamps = new List<PositionStamp>(rows.Count);
            foreach (StoredEvent row in rows)
            {
                stamps.Add(new PositionStamp(row.Ordering, row.CreatedMicros));
            }

            long safe = Math.Min(GapRule.SafeUpperBound(stamps, position, NowMicros(), _gapTimeoutMicros), end);
            foreach (StoredEvent row in rows)
            {
                if (row.Ordering > safe)
                {
                    break;
                }

                if (!row.Deleted)
                {
                    yield return ToEnvelope(row);
                }
            }

            bool mayHaveMore = rows.Count == _options.QueryPageSize && safe == rows[^1].Ordering;
            position = safe;
            if (!mayHaveMore && position < end)
            {
                await WaitForChangeAsync(changed, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private long NowMicros() => UnixMicros.From(_time.GetUtcNow());

    private async Task WaitForChangeAsync(Task changed, CancellationToken cancellationToken)
    {
        if (!changed.IsCompleted)
        {
            using var delayCancellation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            Task delay = Task.Delay(_options.PollInterval, _time, delayCancellation.Token);
            await Task.WhenAny(changed, delay).ConfigureAwait(false);
            await delayCancellation.CancelAsync().ConfigureAwait(false);
        }

        cancellationToken.ThrowIfCancellationRequested();
    }

    private EventEnvelope ToEnvelope(StoredEvent row)
    {
        object payload;
        try
        {
            payload = Serializers.Deserialize(row.Manifest, row.Payload);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw new JournalCorruptionException(
                $"Journal row at ordering {row.Ordering} (persistence id '{row.PersistenceId}', sequence number {row.SequenceNumber}, "
                + $"manifest '{row.Manifest}') cannot be deserialized: {ex.Message}",
                row.PersistenceId, row.SequenceNumber, row.Ordering, row.Manifest, ex);
        }

        return new EventEnvelope(
            row.Ordering, row.PersistenceId, row.SequenceNumber, UnixMicros.ToDateTimeOffset(row.CreatedMicros), row.Manifest, row.WriterUuid, payload);
    }

    private sealed class PendingWrite(SerializedEvent[] events)
    {
        public SerializedEvent[] Events { get; } = events;

        public TaskCompletionSource<long[]> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed class GateRelease(SemaphoreSlim gate) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            gate.Release();
            return ValueTask.CompletedTask;
        }
    }
}
