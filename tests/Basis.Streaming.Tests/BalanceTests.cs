using System.Collections.Concurrent;
using System.Threading.Channels;
using Basis.Streaming.Stages;

namespace Basis.Streaming.Tests;

public sealed class BalanceTests
{
    [Fact]
    public async Task Balance_FillsEachWorkerQueueToItsBoundAndNoFurther()
    {
        const int Workers = 3;
        const int QueueSize = 2;
        var gates = Enumerable.Range(0, Workers).Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();
        var started = Enumerable.Range(0, Workers).Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();
        var processedBy = new ConcurrentDictionary<int, int>();
        var source = new SourceProbe<int>();
        var sink = new SinkProbe<int>();
        GraphRun run = source.Source
            .Balance(
                Workers,
                w => Flow.SelectAsync(1, async (int x, CancellationToken _) =>
                {
                    started[w].TrySetResult();
                    await gates[w].Task;
                    processedBy[x] = w;
                    return x;
                }).Named("work"),
                new BalanceOptions { WorkerBufferSize = QueueSize })
            .Named("spread")
            .To(sink.Sink)
            .Run(Guard.Token);

        // Each worker holds one element and queues two; the dispatcher holds one more, waiting for room.
        const int Capacity = Workers * (QueueSize + 1) + 1;
        var sends = Enumerable.Range(0, Capacity + 5).Select(source.SendAsync).ToArray();
        await Task.WhenAll(started.Select(s => s.Task)).Within();
        await Task.WhenAll(sends.Take(Capacity)).Within();

        var queues = run.Metrics.Where(m => m.Kind == "queue").ToArray();
        Assert.Equal(["spread.queue[0]", "spread.queue[1]", "spread.queue[2]"], queues.Select(q => q.Stage));
        Assert.All(queues, q => Assert.Equal(QueueSize, q.QueueDepth));
        Assert.Equal(Capacity, source.Taken);
        Assert.Equal(["work[0]", "work[1]", "work[2]"], run.Metrics.Where(m => m.Stage.StartsWith("work", StringComparison.Ordinal)).Select(m => m.Stage));

        foreach (var gate in gates)
        {
            gate.SetResult();
        }

        source.Complete();
        sink.Request(sends.Length);
        var received = new List<int>();
        for (int i = 0; i < sends.Length; i++)
        {
            received.Add(await sink.ExpectNextAsync());
        }

        await run.Completion.Within();
        Assert.Equal(Enumerable.Range(0, sends.Length), received.Order());
        Assert.All(Enumerable.Range(0, Workers), w => Assert.Contains(w, processedBy.Values));
        Assert.All(run.Metrics.Where(m => m.Kind == "queue"), q => Assert.True(q.MaxQueueDepth <= QueueSize));
    }

    [Theory]
    [InlineData(BalanceMode.PerWorkerQueue)]
    [InlineData(BalanceMode.SharedQueue)]
    public async Task Balance_DeliversEveryElementExactlyOnce(BalanceMode mode)
    {
        var output = new List<int>();
        await Source.From(Enumerable.Range(0, 10_000))
            .Balance(4, w => Flow.Select((int x) => x * 2), new BalanceOptions { Mode = mode })
            .To(Sink.ForEach<int>(output.Add))
            .RunAsync(Guard.Token)
            .Within();

        Assert.Equal(Enumerable.Range(0, 10_000).Select(x => x * 2), output.Order());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Balance_ReadersSharingAWaitAreWokenApartSoABusyOneCannotHoldTheOthersBack(bool preferredReader)
    {
        // Balance's workers in shared-queue mode read one reader (MergePreferred's, or an earlier Balance's merged
        // outputs) that shares one wait among them. Reader A, once woken, holds its thread until reader B has woken
        // too, as a generator sampling synchronously holds its thread: that only ends well if B is not woken inline
        // behind A by the thread that completed the wait.
        var main = Channel.CreateBounded<int>(4);
        ChannelReader<int> shared = preferredReader
            ? new PreferredReader<int>(Channel.CreateUnbounded<int>().Reader, main.Reader)
            : new MergedReader<int>([main.Reader, Channel.CreateUnbounded<int>().Reader]);
        using var bWoke = new ManualResetEventSlim();

        async Task<bool> ReaderA()
        {
            await shared.WaitToReadAsync(Guard.Token);
            return bWoke.Wait(Guard.Timeout, Guard.Token);
        }

        async Task ReaderB()
        {
            await shared.WaitToReadAsync(Guard.Token);
            bWoke.Set();
        }

        Task<bool> a = ReaderA(); // both wait: the channel is empty
        Task b = ReaderB();
        main.Writer.TryWrite(1);

        Assert.True(await a.Within(), "reader B was woken only after reader A let go of the thread");
        await b.Within();
    }

    [Fact]
    public async Task Balance_NamesAFailingWorkerByItsIndex()
    {
        var run = Source.From(Enumerable.Range(0, 10))
            .Balance(2, w => Flow.Select((int x) => x == 1 ? throw new InvalidOperationException($"worker {w} rejected 1") : x).Named("verify"))
            .To(Sink.Ignore<int>())
            .Run(Guard.Token);

        var failure = await Assert.ThrowsAsync<StageFailedException>(() => run.Completion.Within());
        int worker = int.Parse(failure.InnerException!.Message.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal($"verify[{worker}]", failure.Stage);
        Assert.Equal($"Stage 'verify[{worker}]' failed: InvalidOperationException: worker {worker} rejected 1", failure.Message);
    }

    [Fact]
    public async Task Balance_MergedOutputNeverSignalsAnElementThatIsNotThere()
    {
        for (int iteration = 0; iteration < 200; iteration++)
        {
            int read = 0;
            int falseSignals = 0;
            await Source.From(Enumerable.Range(0, 15))
                .Balance(3, _ => Flow.SelectAsync(1, async (int x, CancellationToken _) =>
                {
                    await Task.Yield();
                    return x;
                }))
                .To(Sink.FromReader<int>(async (reader, token) =>
                {
                    // A demand-driven consumer trusts WaitToReadAsync: a false "true" would make it wait for nothing.
                    while (await reader.WaitToReadAsync(token))
                    {
                        if (reader.TryRead(out _))
                        {
                            read++;
                        }
                        else
                        {
                            falseSignals++;
                        }
                    }
                }))
                .RunAsync(Guard.Token)
                .Within();

            Assert.Equal(15, read);
            Assert.Equal(0, falseSignals);
        }
    }
}
