namespace Basis.Tasks.Tests;

/// <summary>A clock that moves forward by a fixed step every time it is read; deterministic, no sleeping.</summary>
internal sealed class SteppingTimeProvider : TimeProvider
{
    private readonly long _stepTicks;
    private long _now;

    public SteppingTimeProvider(TimeSpan step) => _stepTicks = step.Ticks;

    public int Reads { get; private set; }

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp()
    {
        Reads++;
        long now = _now;
        _now += _stepTicks;
        return now;
    }
}

/// <summary>
/// Verifier options on a clock that never moves, so verdicts in tests never depend on machine load
/// (a JIT pause on a busy machine could otherwise pass the 100 ms limit).
/// </summary>
internal static class TestClock
{
    public static Basis.Tasks.Verification.VerifierOptions FrozenOptions { get; } =
        new() { TimeProvider = new SteppingTimeProvider(TimeSpan.Zero) };
}
