namespace Basis.Training.Journal;

/// <summary>The journal's database cannot be reached or written.</summary>
public sealed class JournalUnavailableException : Exception
{
    public JournalUnavailableException(JournalTarget target, Exception inner)
        : base($"the journal database {target.Describe()} is unreachable: {Innermost(inner).Message}", inner)
    {
        Target = target;
    }

    public JournalTarget Target { get; }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null)
        {
            e = e.InnerException;
        }

        return e;
    }
}

/// <summary>A stored row cannot be turned back into an event or snapshot.</summary>
public sealed class JournalCorruptionException : Exception
{
    public JournalCorruptionException(string persistenceId, long sequenceNumber, Exception inner)
        : base($"the journal row of persistence id '{persistenceId}' at sequence number {sequenceNumber} cannot be read: {inner.Message}", inner)
    {
        PersistenceId = persistenceId;
        SequenceNumber = sequenceNumber;
    }

    public string PersistenceId { get; }

    public long SequenceNumber { get; }
}

/// <summary>The database holds a journal in the format of an earlier basis (its own tables, before Akka.Persistence.Sql).</summary>
public sealed class LegacyJournalException : Exception
{
    public LegacyJournalException(JournalTarget target)
        : base($"the journal at {target.Describe()} was written by an earlier basis in its own format (tables schema_version, journal.payload, event_tag); this version reads only Akka.Persistence.Sql journals: use a new run folder or database.")
    {
    }
}
