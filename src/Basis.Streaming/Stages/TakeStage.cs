using System.Threading.Channels;

namespace Basis.Streaming.Stages;

internal static class TakeStage
{
    /// <summary>Passes the first <paramref name="count"/> elements then completes; upstream is torn down with the graph.</summary>
    public static ChannelReader<T> Build<T>(GraphContext graph, ChannelReader<T> input, StageAttributes attributes, long count)
    {
        StageMetrics metrics = graph.AddStage(attributes, "take", "flow", attributes.BufferSize);
        OutputEdge<T> output = graph.CreateEdge<T>(metrics);
        graph.Schedule(metrics, async token =>
        {
            long taken = 0;
            while (taken < count && await input.WaitToReadAsync(token).ConfigureAwait(false))
            {
                while (taken < count && input.TryRead(out T? item))
                {
                    metrics.RecordIn();
                    taken++;
                    await output.WriteAsync(item, token).ConfigureAwait(false);
                }
            }
        }, output.Complete);
        return output.Reader;
    }
}
