namespace Basis.Persistence;

/// <summary>One event to append: its stream, its position in that stream, the event and its tags.</summary>
public readonly record struct EventWrite(
    string PersistenceId,
    long SequenceNumber,
    object Event,
    IReadOnlyList<string>? Tags = null);

/// <summary>An event read back from the journal.</summary>
/// <param name="Ordering">The global, journal-wide position; use it as the offset of tag queries.</param>
public sealed record EventEnvelope(
    long Ordering,
    string PersistenceId,
    long SequenceNumber,
    DateTimeOffset Created,
    string Manifest,
    Guid WriterUuid,
    object Event);

/// <summary>A snapshot read back from the snapshot store.</summary>
public sealed record SnapshotEnvelope(
    string PersistenceId,
    long SequenceNumber,
    DateTimeOffset Created,
    string Manifest,
    object Snapshot);

/// <summary>Counters of the batched writer (cumulative since the journal was opened).</summary>
public readonly record struct JournalWriterStatistics(long BatchesCommitted, long EventsCommitted, int LargestBatch);

/// <summary>An event after serialization, as the writer hands it to a back end.</summary>
internal readonly record struct SerializedEvent(
    string PersistenceId,
    long SequenceNumber,
    string Manifest,
    byte[] Payload,
    IReadOnlyList<string>? Tags);

/// <summary>A journal row as a back end returns it; <see cref="CreatedMicros"/> is microseconds since the Unix epoch.</summary>
internal readonly record struct StoredEvent(
    long Ordering,
    string PersistenceId,
    long SequenceNumber,
    long CreatedMicros,
    string Manifest,
    byte[] Payload,
    Guid WriterUuid,
    bool Deleted);

/// <summary>A position (ordering or sequence number) with the time its row was written.</summary>
internal readonly record struct PositionStamp(long Position, long CreatedMicros);

internal readonly record struct StoredSnapshot(
    string PersistenceId,
    long SequenceNumber,
    long CreatedMicros,
    string Manifest,
    byte[] Payload);

internal static class UnixMicros
{
    public static long From(DateTimeOffset time) => (time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / TimeSpan.TicksPerMicrosecond;

    public static DateTimeOffset ToDateTimeOffset(long micros) =>
        new(DateTimeOffset.UnixEpoch.UtcTicks + (micros * TimeSpan.TicksPerMicrosecond), TimeSpan.Zero);
}
