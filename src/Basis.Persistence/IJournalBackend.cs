namespace Basis.Persistence;

/// <summary>The storage operations a database back end provides to <see cref="EventJournal"/>.</summary>
internal interface IJournalBackend : IAsyncDisposable
{
    /// <summary>The database, for error messages, with any password redacted.</summary>
    string Target { get; }

    /// <summary>How many write transactions may usefully run at once.</summary>
    int MaxConcurrentWrites { get; }

    /// <summary>Applies missing schema migrations; safe to call from concurrent starters.</summary>
    Task MigrateAsync(CancellationToken cancellationToken);

    Task<IReadOnlyList<AppliedMigration>> ReadSchemaVersionsAsync(CancellationToken cancellationToken);

    /// <summary>Writes the events in one transaction and returns their orderings, in input order.</summary>
    /// <exception cref="SequenceConflictException">A (persistence id, sequence number) pair already exists.</exception>
    Task<long[]> WriteAsync(IReadOnlyList<SerializedEvent> events, Guid writerUuid, long createdMicros, CancellationToken cancellationToken);

    /// <summary>Rows of one stream with sequence numbers in (afterSequenceNumber, toSequenceNumber], deleted ones included.</summary>
    Task<List<StoredEvent>> ReadByPersistenceIdAsync(string persistenceId, long afterSequenceNumber, long toSequenceNumber, int limit, CancellationToken cancellationToken);

    /// <summary>All rows with ordering greater than <paramref name="afterOrdering"/>, deleted ones included.</summary>
    Task<List<StoredEvent>> ReadAllAsync(long afterOrdering, int limit, CancellationToken cancellationToken);

    /// <summary>The orderings (and write times) of all rows after <paramref name="afterOrdering"/>: the gap check's input.</summary>
    Task<List<PositionStamp>> ReadOrderingsAsync(long afterOrdering, int limit, CancellationToken cancellationToken);

    /// <summary>Non-deleted rows carrying <paramref name="tag"/> with ordering in (afterOrdering, toOrdering].</summary>
    Task<List<StoredEvent>> ReadByTagAsync(string tag, long afterOrdering, long toOrdering, CancellationToken cancellationToken);

    Task<long> MaxOrderingAsync(CancellationToken cancellationToken);

    Task<long> HighestSequenceNumberAsync(string persistenceId, CancellationToken cancellationToken);

    Task DeleteEventsToAsync(string persistenceId, long toSequenceNumber, CancellationToken cancellationToken);

    Task SaveSnapshotAsync(StoredSnapshot snapshot, CancellationToken cancellationToken);

    Task<StoredSnapshot?> LoadSnapshotAsync(string persistenceId, long maxSequenceNumber, CancellationToken cancellationToken);

    /// <summary>Removes the stream's snapshots with sequence numbers at most <paramref name="maxSequenceNumber"/>.</summary>
    Task DeleteSnapshotsToAsync(string persistenceId, long maxSequenceNumber, CancellationToken cancellationToken);
}

/// <summary>One row of the schema_version table.</summary>
public readonly record struct AppliedMigration(int Version, DateTimeOffset AppliedAt, string Description);

/// <summary>A schema change, applied once and recorded in schema_version.</summary>
internal sealed record Migration(int Version, string Description, string Sql);

/// <summary>A back end's signal that a write hit the (persistence_id, sequence_number) unique key.</summary>
internal sealed class SequenceConflictException(Exception inner) : Exception("Sequence number conflict.", inner);
