namespace Basis.Training.Graph;

/// <summary>A stage of the training graph failed for good (e.g. a generator spent its restart budget); the run stops.</summary>
public sealed class StageFailedException : Exception
{
    public StageFailedException(string stage, string message, Exception? inner)
        : base(message, inner)
    {
        Stage = stage;
    }

    public string Stage { get; }
}
