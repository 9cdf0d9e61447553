namespace Basis.Persistence;

/// <summary>An append collided with events already stored under the same persistence id and sequence numbers.</summary>
public sealed class JournalConcurrencyException : Exception
{
    public JournalConcurrencyException(string persistenceId, long fromSequenceNumber, long toSequenceNumber, Exception? inner = null)
        : base(FormatMessage(persistenceId, fromSequenceNumber, toSequenceNumber), inner)
    {
        PersistenceId = persistenceId;
        FromSequenceNumber = fromSequenceNumber;
        ToSequenceNumber = toSequenceNumber;
    }

    public string PersistenceId { get; }

    public long FromSequenceNumber { get; }

    public long ToSequenceNumber { get; }

    private static string FormatMessage(string persistenceId, long from, long to)
    {
        string range = from == to ? $"sequence number {from}" : $"sequence numbers {from}..{to}";
        return $"Sequence number conflict: persistence id '{persistenceId}' already has an event at {range} "
            + "(another writer appended first, or the writer's sequence numbers are stale).";
    }
}

/// <summary>A stored row cannot be turned back into an event or snapshot.</summary>
public sealed class JournalCorruptionException : Exception
{
    public JournalCorruptionException(string message, string persistenceId, long sequenceNumber, long? ordering, string manifest, Exception? inner)
        : base(message, inner)
    {
        PersistenceId = persistenceId;
        SequenceNumber = sequenceNumber;
        Ordering = ordering;
        Manifest = manifest;
    }

    public string PersistenceId { get; }

    public long SequenceNumber { get; }

    /// <summary>The row's global ordering; null for snapshots.</summary>
    public long? Ordering { get; }

    public string Manifest { get; }
}

/// <summary>The journal's database cannot be reached or opened; nothing was written by the failed operation.</summary>
public sealed class JournalUnavailableException : Exception
{
    public JournalUnavailableException(string target, Exception inner)
        : base($"The journal database {target} is unreachable: {inner.Message}", inner)
    {
        Target = target;
    }

    /// <summary>The database the journal tried to reach, with any password redacted.</summary>
    public string Target { get; }
}

/// <summary>An event type, manifest or payload the serializer registry cannot handle.</summary>
public sealed class EventSerializationException : Exception
{
    public EventSerializationException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}
