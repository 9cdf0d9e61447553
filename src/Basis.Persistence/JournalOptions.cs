namespace Basis.Persistence;

/// <summary>Tuning of the batched writer and the queries.</summary>
public sealed class JournalOptions
{
    /// <summary>Most events committed in one transaction (an atomic write is never split).</summary>
    public int MaxBatchSize { get; init; } = 100;

    /// <summary>Most batches being committed at once (SQLite serializes them anyway).</summary>
    public int MaxBatchesInFlight { get; init; } = 4;

    /// <summary>Capacity of the write queue; appends wait (backpressure) while it is full.</summary>
    public int QueueCapacity { get; init; } = 10_000;

    /// <summary>How often live queries look for rows written by other processes.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How long queries hold back at a gap in ordering before deciding it will never fill.</summary>
    public TimeSpan GapTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Rows fetched per query round trip.</summary>
    public int QueryPageSize { get; init; } = 1000;

    /// <summary>Clock for the <c>created</c> column, the poll interval and the gap timeout.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxBatchSize, 1, nameof(MaxBatchSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxBatchesInFlight, 1, nameof(MaxBatchesInFlight));
        ArgumentOutOfRangeException.ThrowIfLessThan(QueueCapacity, 1, nameof(QueueCapacity));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(PollInterval, TimeSpan.Zero, nameof(PollInterval));
        ArgumentOutOfRangeException.ThrowIfLessThan(GapTimeout, TimeSpan.Zero, nameof(GapTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThan(QueryPageSize, 1, nameof(QueryPageSize));
        ArgumentNullException.ThrowIfNull(TimeProvider);
    }
}
