using System.Collections.Concurrent;
using System.Threading.Channels;

namespace Basis.Streaming.Tests;

public sealed class SelectAsyncTests
{
    [Fact]
    public async Task SelectAsync_KeepsInputOrderWhenCallsFinishOutOfOrder()
    {
        var calls = new ConcurrentDictionary<int, TaskCompletionSource<string>>();
        var started = Channel.CreateUnbounded<int>();
        var source = new SourceProbe<int>();
        var sink = new SinkProbe<string>();
        GraphRun run = source.Source
            .SelectAsync(3, async (int i, CancellationToken _) =>
            {
                var call = calls.GetOrAdd(i, _ => new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously));
                started.Writer.TryWrite(i);
                return await call.Task;
            })
            .To(sink.Sink)
            .Run(Guard.Token);
        sink.Request(10);

        for (int i = 1; i <= 4; i++)
        {
            _ = source.SendAsync(i);
        }

        var inFlight = new List<int>();
        for (int i = 0; i < 3; i++)
        {
            inFlight.Add(await started.Reader.ReadAsync(Guard.Token).AsTask().Within());
        }

        Assert.Equal([1, 2, 3], inFlight);
        Assert.Equal(3, source.Taken);

        calls[3].SetResult("three");
        calls[2].SetResult("two");
        calls[1].SetResult("one");
        Assert.Equal("one", await sink.ExpectNextAsync());
        Assert.Equal("two", await sink.ExpectNextAsync());
        Assert.Equal("three", await sink.ExpectNextAsync());

        Assert.Equal(4, await started.Reader.ReadAsync(Guard.Token).AsTask().Within());
        calls[4].SetResult("four");
        source.Complete();
        Assert.Equal("four", await sink.ExpectNextAsync());
        await sink.ExpectCompleteAsync();
        await run.Completion.Within();
    }

    [Fact]
    public async Task SelectAsync_PreservesOrderForAnyCompletionSchedule()
    {
        for (int seed = 0; seed < 20; seed++)
        {
            var random = new Random(seed);
            var output = new List<int>();
            await Source.From(Enumerable.Range(0, 200))
                .SelectAsync(4, async (int i, CancellationToken _) =>
                {
                    for (int y = random.Next(3); y > 0; y--)
                    {
                        await Task.Yield();
                    }

                    return i;
                })
                .To(Sink.ForEach<int>(output.Add))
                .RunAsync(Guard.Token)
                .Within();

            Assert.Equal(Enumerable.Range(0, 200), output);
        }
    }
}
