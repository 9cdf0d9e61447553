namespace Basis.Streaming;

/// <summary>How <c>Balance</c> hands elements to its workers.</summary>
public enum BalanceMode
{
    /// <summary>Each worker has its own bounded queue, filled round robin among the queues with room.</summary>
    PerWorkerQueue,

    /// <summary>Workers read the upstream edge directly: the next free worker takes the next element.</summary>
    SharedQueue,
}

public sealed record BalanceOptions
{
    public static BalanceOptions Default { get; } = new();

    public BalanceMode Mode { get; init; } = BalanceMode.PerWorkerQueue;

    /// <summary>Capacity of each worker's queue in <see cref="BalanceMode.PerWorkerQueue"/> mode.</summary>
    public int WorkerBufferSize { get; init; } = 2;
}
