using System.Threading.Channels;

namespace Basis.Streaming.Stages;

internal static class SinkStages
{
    public static void Ignore<T>(GraphContext graph, ChannelReader<T> input, StageAttributes attributes)
    {
        StageMetrics metrics = graph.AddStage(attributes, "ignore", "sink", 0);
        graph.Schedule(metrics, async token =>
        {
            while (await input.WaitToReadAsync(token).ConfigureAwait(false))
            {
                int count = 0;
                while (input.TryRead(out _))
                {
                    count++;
                }

                metrics.RecordIn(count);
            }
        }, null, terminal: true);
    }

    public static void FromReader<T>(GraphContext graph, ChannelReader<T> input, StageAttributes attributes, Func<ChannelReader<T>, CancellationToken, Task> consume)
    {
        StageMetrics metrics = graph.AddStage(attributes, "sink", "sink", 0);
        graph.Schedule(metrics, token => consume(new CountingReader<T>(input, metrics), token), null, terminal: true);
    }

    /// <summary>Counts what a custom sink reads, so its metrics show elements in like any other stage.</summary>
    private sealed class CountingReader<T>(ChannelReader<T> inner, StageMetrics metrics) : ChannelReader<T>
    {
        public override Task Completion => inner.Completion;

        public override bool CanCount => inner.CanCount;

        public override int Count => inner.Count;

        public override bool TryRead(out T item)
        {
            if (inner.TryRead(out item!))
            {
                metrics.RecordIn();
                return true;
            }

            return false;
        }

        public override bool TryPeek(out T item) => inner.TryPeek(out item!);

        public override ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default) =>
            inner.WaitToReadAsync(cancellationToken);
    }
}
