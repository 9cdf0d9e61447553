namespace Basis.Streaming;

/// <summary>Per-stage settings: name (for metrics and errors), output buffer size and supervision.</summary>
public sealed record StageAttributes
{
    /// <summary>The default output buffer of a stage, as in Akka.Streams.</summary>
    public const int DefaultBufferSize = 16;

    public string? Name { get; init; }

    /// <summary>Capacity of the bounded edge the stage writes to; the stage blocks when it is full.</summary>
    public int BufferSize { get; init; } = DefaultBufferSize;

    public SupervisionStrategy Supervision { get; init; } = SupervisionStrategy.Stop;

    internal static StageAttributes Default { get; } = new();

    internal StageAttributes WithBuffer(int size)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        return this with { BufferSize = size };
    }
}
