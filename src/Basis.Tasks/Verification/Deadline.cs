namespace Basis.Tasks.Verification;

/// <summary>
/// A cooperative time limit: parsing loops call <see cref="Tick"/> per step and the clock is read only every
/// <see cref="StepsPerClockRead"/> steps, so the check costs almost nothing and needs no timer or thread.
/// </summary>
internal struct Deadline
{
    internal const int StepsPerClockRead = 256;

    private readonly TimeProvider _clock;
    private readonly long _start;
    private readonly long _budgetTicks;
    private int _steps;

    public Deadline(TimeProvider clock, TimeSpan limit)
    {
        _clock = clock;
        _start = clock.GetTimestamp();
        _budgetTicks = (long)(limit.TotalSeconds * clock.TimestampFrequency);
        _steps = 0;
    }

    /// <summary>Counts one unit of work; throws <see cref="VerificationTimeoutException"/> once the budget is spent.</summary>
    public void Tick()
    {
        if (++_steps >= StepsPerClockRead)
        {
            Check();
        }
    }

    /// <summary>Reads the clock now; used at phase boundaries.</summary>
    public void Check()
    {
        _steps = 0;
        if (_clock.GetTimestamp() - _start >= _budgetTicks)
        {
            throw new VerificationTimeoutException();
        }
    }
}

/// <summary>Unwinds a verification whose deadline passed; caught by <see cref="VerifierBase"/> and never escapes.</summary>
internal sealed class VerificationTimeoutException : Exception
{
}
