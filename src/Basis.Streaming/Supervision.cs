namespace Basis.Streaming;

/// <summary>What a stage does with an element whose processing threw.</summary>
public enum SupervisionDirective
{
    /// <summary>Fail the stage, and with it the graph.</summary>
    Stop,

    /// <summary>Drop the element and go on with the same state.</summary>
    Resume,

    /// <summary>Drop the element, wait a backoff delay, and recreate the stage's state from its factory.</summary>
    Restart,
}

/// <summary>An element a supervised stage dropped, with the exception that made it drop it.</summary>
public sealed record QuarantinedElement(string Stage, object? Element, Exception Reason, SupervisionDirective Directive);

/// <summary>Exponential backoff and restart budget for <see cref="SupervisionDirective.Restart"/>.</summary>
public sealed record RestartSettings
{
    public RestartSettings(TimeSpan minBackoff, TimeSpan maxBackoff, double randomFactor, int maxRestarts, TimeSpan within)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(minBackoff, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBackoff, minBackoff);
        ArgumentOutOfRangeException.ThrowIfNegative(randomFactor);
        ArgumentOutOfRangeException.ThrowIfNegative(maxRestarts);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(within, TimeSpan.Zero);
        MinBackoff = minBackoff;
        MaxBackoff = maxBackoff;
        RandomFactor = randomFactor;
        MaxRestarts = maxRestarts;
        Within = within;
    }

    public TimeSpan MinBackoff { get; }

    public TimeSpan MaxBackoff { get; }

    /// <summary>Each delay is multiplied by 1 + RandomFactor * U[0,1) so restarting workers do not move in lockstep.</summary>
    public double RandomFactor { get; }

    /// <summary>Restarts allowed within <see cref="Within"/>; one more failure fails the graph.</summary>
    public int MaxRestarts { get; }

    public TimeSpan Within { get; }

    /// <summary>Source of the jitter; seed it for reproducible delays.</summary>
    public Random Random { get; init; } = Random.Shared;

    /// <summary>The delay before the restart that follows <paramref name="recentRestarts"/> restarts inside the window.</summary>
    public TimeSpan BackoffFor(int recentRestarts)
    {
        double factor = Math.Pow(2, Math.Min(recentRestarts, 30));
        double ticks = Math.Min(MaxBackoff.Ticks, MinBackoff.Ticks * factor);
        double jitter = RandomFactor == 0 ? 1 : 1 + (RandomFactor * Random.NextDouble());
        return TimeSpan.FromTicks((long)(ticks * jitter));
    }
}

/// <summary>How a stage reacts to exceptions thrown by its function (Akka's supervision deciders).</summary>
public sealed record SupervisionStrategy
{
    /// <summary>Any failure fails the graph (the default).</summary>
    public static SupervisionStrategy Stop { get; } = new();

    public Func<Exception, SupervisionDirective> Decider { get; init; } = static _ => SupervisionDirective.Stop;

    /// <summary>Required when the decider can answer <see cref="SupervisionDirective.Restart"/>.</summary>
    public RestartSettings? Restart { get; init; }

    /// <summary>Receives every dropped element with its reason (a dead-letter or quarantine callback).</summary>
    public Action<QuarantinedElement>? Quarantine { get; init; }

    public static SupervisionStrategy Resuming(Action<QuarantinedElement>? quarantine = null) =>
        new() { Decider = static _ => SupervisionDirective.Resume, Quarantine = quarantine };

    public static SupervisionStrategy Restarting(RestartSettings settings, Action<QuarantinedElement>? quarantine = null) =>
        new() { Decider = static _ => SupervisionDirective.Restart, Restart = settings, Quarantine = quarantine };
}

/// <summary>The exception a graph's completion faults with; it names the stage that failed.</summary>
public sealed class StageFailedException : Exception
{
    public StageFailedException(string stage, string message, Exception? inner)
        : base(message, inner)
    {
        Stage = stage;
    }

    public string Stage { get; }

    internal static StageFailedException Failed(string stage, Exception inner) =>
        new(stage, $"Stage '{stage}' failed: {inner.GetType().Name}: {inner.Message}", inner);
}
