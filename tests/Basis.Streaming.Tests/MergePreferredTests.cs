using System.Threading.Channels;

namespace Basis.Streaming.Tests;

public sealed class MergePreferredTests
{
    [Fact]
    public async Task PreferredElementsOvertakeTheBufferedOnes()
    {
        var redo = Channel.CreateUnbounded<int>();
        var source = new SourceProbe<int>();
        var sink = new SinkProbe<int>();
        GraphRun run = source.Source.Select(x => x).Named("fresh").WithBuffer(4)
            .MergePreferred(redo.Reader)
            .To(sink.Sink)
            .Run(Guard.Token);

        for (int i = 0; i < 3; i++)
        {
            await source.SendAsync(i).Within();
        }

        Assert.Equal(0, await sink.RequestNextAsync());
        redo.Writer.TryWrite(100);
        Assert.Equal(100, await sink.RequestNextAsync());
        Assert.Equal(1, await sink.RequestNextAsync());

        // A sink waiting on an empty source wakes for preferred work too.
        Task<int> next = sink.RequestNextAsync();
        Assert.Equal(2, await next);
        Task<int> waiting = sink.RequestNextAsync();
        redo.Writer.TryWrite(101);
        Assert.Equal(101, await waiting);

        // The graph completes with its source, whatever the preferred lane holds.
        source.Complete();
        await run.Completion.Within();
        Assert.Equal(5, run.Metrics.Single(m => m.Stage == "probe").ElementsIn);
    }
}
