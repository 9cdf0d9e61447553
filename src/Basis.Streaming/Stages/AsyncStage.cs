using System.Threading.Channels;

namespace Basis.Streaming.Stages;

/// <summary>
/// Ordered SelectAsync: up to <c>parallelism</c> calls in flight, results emitted in input order.
/// With parallelism 1 it is a stateful stage whose instance supervision can recreate.
/// </summary>
internal static class AsyncStage
{
    public static ChannelReader<TOut> Build<TIn, TOut>(
        GraphContext graph, ChannelReader<TIn> input, StageAttributes attributes, string defaultName, int parallelism, Func<IStage<TIn, TOut>> factory)
    {
        StageMetrics metrics = graph.AddStage(attributes, defaultName, "flow", attributes.BufferSize);
        OutputEdge<TOut> output = graph.CreateEdge<TOut>(metrics);
        var supervisor = new StageSupervisor(metrics.Name, attributes.Supervision, graph.Time, metrics);
        graph.Schedule(metrics, token => RunAsync(input, output, metrics, supervisor, parallelism, factory, token), output.Complete);
        return output.Reader;
    }

    public static void BuildSink<T>(GraphContext graph, ChannelReader<T> input, StageAttributes attributes, string defaultName, Func<ISinkStage<T>> factory)
    {
        StageMetrics metrics = graph.AddStage(attributes, defaultName, "sink", 0);
        var supervisor = new StageSupervisor(metrics.Name, attributes.Supervision, graph.Time, metrics);
        Func<IStage<T, bool>> adapted = () => new SinkAdapter<T>(factory());
        graph.Schedule(metrics, token => RunAsync(input, null, metrics, supervisor, 1, adapted, token), null, terminal: true);
    }

    private static async Task RunAsync<TIn, TOut>(
        ChannelReader<TIn> input,
        OutputEdge<TOut>? output,
        StageMetrics metrics,
        StageSupervisor supervisor,
        int parallelism,
        Func<IStage<TIn, TOut>> factory,
        CancellationToken token)
    {
        IStage<TIn, TOut> stage = factory();
        var inFlight = new Queue<(TIn Item, Task<TOut> Result)>(parallelism);
        Task<bool>? waitForInput = null;
        bool inputDone = false;
        try
        {
            while (true)
            {
                while (!inputDone && inFlight.Count < parallelism && input.TryRead(out TIn? item))
                {
                    metrics.RecordIn();
                    inFlight.Enqueue((item, InvokeAsync(stage, item, metrics, token)));
                }

                if (inFlight.Count > 0 && inFlight.Peek().Result.IsCompleted)
                {
                    var (item, result) = inFlight.Dequeue();
                    if (result.IsCompletedSuccessfully)
                    {
                        if (output is not null)
                        {
                            await output.WriteAsync(result.Result, token).ConfigureAwait(false);
                        }
                    }
                    else
                    {
                        token.ThrowIfCancellationRequested();
                        Exception failure = result.Exception?.InnerException ?? new TaskCanceledException(result);
                        if (await supervisor.HandleAsync(item, failure, token).ConfigureAwait(false) == SupervisionDirective.Restart)
                        {
                            stage = await RestartAsync(stage, factory, inFlight).ConfigureAwait(false);
                        }
                    }

                    continue;
                }

                if (inFlight.Count == 0 && inputDone)
                {
                    return;
                }

                if (!inputDone && inFlight.Count < parallelism)
                {
                    waitForInput ??= input.WaitToReadAsync(token).AsTask();
                    if (inFlight.Count > 0)
                    {
                        await Task.WhenAny(waitForInput, inFlight.Peek().Result).ConfigureAwait(false);
                    }

                    if (waitForInput.IsCompleted || inFlight.Count == 0)
                    {
                        inputDone = !await waitForInput.ConfigureAwait(false);
                        waitForInput = null;
                    }
                }
                else
                {
                    await ((Task)inFlight.Peek().Result).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                }
            }
        }
        finally
        {
            await DisposeAsync(stage).ConfigureAwait(false);
        }
    }

    private static async Task<TOut> InvokeAsync<TIn, TOut>(IStage<TIn, TOut> stage, TIn item, StageMetrics metrics, CancellationToken token)
    {
        metrics.BeginWork();
        try
        {
            return await stage.ProcessAsync(item, token).ConfigureAwait(false);
        }
        finally
        {
            metrics.EndWork();
        }
    }

    private static async Task<IStage<TIn, TOut>> RestartAsync<TIn, TOut>(
        IStage<TIn, TOut> stage, Func<IStage<TIn, TOut>> factory, Queue<(TIn Item, Task<TOut> Result)> inFlight)
    {
        // Calls already started ran against the old state; let them finish (their results are still emitted in order).
        foreach (var (_, result) in inFlight)
        {
            await ((Task)result).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        await DisposeAsync(stage).ConfigureAwait(false);
        return factory();
    }

    private static async ValueTask DisposeAsync(object stage)
    {
        if (stage is IAsyncDisposable asyncDisposable)
        {
            await asyncDisposable.DisposeAsync().ConfigureAwait(false);
        }
        else if (stage is IDisposable disposable)
        {
            disposable.Dispose();
        }
    }

    private sealed class SinkAdapter<T>(ISinkStage<T> sink) : IStage<T, bool>, IAsyncDisposable
    {
        public async ValueTask<bool> ProcessAsync(T element, CancellationToken cancellationToken)
        {
            await sink.ConsumeAsync(element, cancellationToken).ConfigureAwait(false);
            return true;
        }

        public ValueTask DisposeAsync() => AsyncStage.DisposeAsync(sink);
    }
}

/// <summary>Adapts a stateless async function to <see cref="IStage{TIn,TOut}"/>.</summary>
internal sealed class DelegateStage<TIn, TOut>(Func<TIn, CancellationToken, ValueTask<TOut>> function) : IStage<TIn, TOut>
{
    public ValueTask<TOut> ProcessAsync(TIn element, CancellationToken cancellationToken) => function(element, cancellationToken);
}

/// <summary>Adapts a stateless async action to <see cref="ISinkStage{T}"/>.</summary>
internal sealed class DelegateSinkStage<T>(Func<T, CancellationToken, ValueTask> action) : ISinkStage<T>
{
    public ValueTask ConsumeAsync(T element, CancellationToken cancellationToken) => action(element, cancellationToken);
}
