namespace Basis.Streaming;

/// <summary>
/// A stateful flow stage. Its instance is the stage's private state: the runtime calls it one element at a time
/// and, when supervision restarts the stage, disposes it (if disposable) and creates a fresh one from the factory.
/// </summary>
public interface IStage<in TIn, TOut>
{
    ValueTask<TOut> ProcessAsync(TIn element, CancellationToken cancellationToken);
}

/// <summary>A stateful sink stage; restarted like <see cref="IStage{TIn,TOut}"/>.</summary>
public interface ISinkStage<in T>
{
    ValueTask ConsumeAsync(T element, CancellationToken cancellationToken);
}
