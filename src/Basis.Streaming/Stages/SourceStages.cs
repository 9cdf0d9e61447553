using System.Threading.Channels;

namespace Basis.Streaming.Stages;

internal static class SourceStages
{
    public static ChannelReader<T> FromEnumerable<T>(GraphContext graph, StageAttributes attributes, IEnumerable<T> items)
    {
        StageMetrics metrics = graph.AddStage(attributes, "source", "source", attributes.BufferSize);
        OutputEdge<T> output = graph.CreateEdge<T>(metrics);
        graph.Schedule(metrics, async token =>
        {
            using IEnumerator<T> enumerator = items.GetEnumerator();
            long busySince = graph.Time.GetTimestamp();
            try
            {
                while (enumerator.MoveNext())
                {
                    token.ThrowIfCancellationRequested();
                    if (!output.TryWrite(enumerator.Current))
                    {
                        // Busy is everything but waiting for room downstream.
                        metrics.RecordBusySince(busySince);
                        await output.WriteAsync(enumerator.Current, token).ConfigureAwait(false);
                        busySince = graph.Time.GetTimestamp();
                    }
                }
            }
            finally
            {
                metrics.RecordBusySince(busySince);
            }
        }, output.Complete);
        return output.Reader;
    }

    public static ChannelReader<T> FromAsyncEnumerable<T>(GraphContext graph, StageAttributes attributes, IAsyncEnumerable<T> items)
    {
        StageMetrics metrics = graph.AddStage(attributes, "source", "source", attributes.BufferSize);
        OutputEdge<T> output = graph.CreateEdge<T>(metrics);
        graph.Schedule(metrics, async token =>
        {
            await foreach (T item in items.WithCancellation(token).ConfigureAwait(false))
            {
                await output.WriteAsync(item, token).ConfigureAwait(false);
            }
        }, output.Complete);
        return output.Reader;
    }
}
