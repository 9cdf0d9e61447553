namespace Basis.Training.Chaos;

/// <summary>A fault injected on purpose by <c>basis.chaos</c>; its message names the setting that caused it.</summary>
public sealed class ChaosException : Exception
{
    public ChaosException()
    {
    }

    public ChaosException(string message)
        : base(message)
    {
    }

    public ChaosException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
