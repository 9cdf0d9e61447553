using System.Threading.Channels;

namespace Basis.Streaming.Stages;

/// <summary>One element in, zero or one out, synchronously: Select, Where, ForEach.</summary>
internal delegate bool SyncStep<TIn, TOut>(TIn input, out TOut output);

internal static class SyncStage
{
    public static ChannelReader<TOut> Build<TIn, TOut>(
        GraphContext graph, ChannelReader<TIn> input, StageAttributes attributes, string defaultName, SyncStep<TIn, TOut> step)
    {
        StageMetrics metrics = graph.AddStage(attributes, defaultName, "flow", attributes.BufferSize);
        OutputEdge<TOut> output = graph.CreateEdge<TOut>(metrics);
        var supervisor = new StageSupervisor(metrics.Name, attributes.Supervision, graph.Time, metrics);
        graph.Schedule(metrics, token => RunAsync(graph.Time, input, output, metrics, supervisor, step, token), output.Complete);
        return output.Reader;
    }

    public static void BuildSink<T>(GraphContext graph, ChannelReader<T> input, StageAttributes attributes, string defaultName, Action<T> consume)
    {
        StageMetrics metrics = graph.AddStage(attributes, defaultName, "sink", 0);
        var supervisor = new StageSupervisor(metrics.Name, attributes.Supervision, graph.Time, metrics);
        SyncStep<T, T> step = (T item, out T result) =>
        {
            consume(item);
            result = item;
            return false;
        };
        graph.Schedule(metrics, token => RunAsync(graph.Time, input, null, metrics, supervisor, step, token), null, terminal: true);
    }

    private static async Task RunAsync<TIn, TOut>(
        TimeProvider time,
        ChannelReader<TIn> input,
        OutputEdge<TOut>? output,
        StageMetrics metrics,
        StageSupervisor supervisor,
        SyncStep<TIn, TOut> step,
        CancellationToken token)
    {
        while (await input.WaitToReadAsync(token).ConfigureAwait(false))
        {
            // Drain what is already buffered before awaiting again: one wake-up per batch, not per element.
            // Busy time is the batch's time minus any wait for room downstream (two clock reads per batch, not per element).
            long busySince = time.GetTimestamp();
            while (input.TryRead(out TIn? item))
            {
                metrics.RecordIn();
                bool emit;
                TOut result;
                try
                {
                    emit = step(item, out result);
                }
                catch (Exception exception) when (exception is not OperationCanceledException || !token.IsCancellationRequested)
                {
                    metrics.RecordBusySince(busySince);
                    await supervisor.HandleAsync(item, exception, token).ConfigureAwait(false);
                    busySince = time.GetTimestamp();
                    continue;
                }

                if (emit && output is not null && !output.TryWrite(result))
                {
                    metrics.RecordBusySince(busySince);
                    await output.WriteAsync(result, token).ConfigureAwait(false);
                    busySince = time.GetTimestamp();
                }
            }

            metrics.RecordBusySince(busySince);
        }
    }
}
