namespace Basis.Streaming.Tests;

public sealed class BackpressureTests
{
    [Fact]
    public async Task SlowSink_ThrottlesTheSourceToExactlyTheBufferedAmount()
    {
        const int SourceBuffer = 8;
        const int SelectBuffer = 4;

        // Saturated: both edges full, and the source and the select stage each hold one element they cannot write.
        const int Bound = SourceBuffer + 1 + SelectBuffer + 1;
        var produced = new ProgressCounter();
        long granted = 0;
        bool overrun = false;

        IEnumerable<int> Counting()
        {
            for (int i = 0; ; i++)
            {
                if (produced.Increment() > Volatile.Read(ref granted) + Bound)
                {
                    overrun = true;
                }

                yield return i;
            }
        }

        var sink = new SinkProbe<int>();
        using var cts = new CancellationTokenSource();
        GraphRun run = Source.From(Counting()).Named("prompts").WithBuffer(SourceBuffer)
            .Select(x => x).Named("generate").WithBuffer(SelectBuffer)
            .To(sink.Sink)
            .Run(cts.Token);

        for (int round = 0; round < 20; round++)
        {
            await produced.WaitForAsync(granted + Bound).Within();
            var stages = run.Metrics.ToDictionary(m => m.Stage);
            Assert.Equal(SourceBuffer, stages["prompts"].QueueDepth);
            Assert.Equal(SelectBuffer, stages["generate"].QueueDepth);

            Interlocked.Increment(ref granted);
            Assert.Equal(round, await sink.RequestNextAsync());
        }

        cts.Cancel();
        await run.Stopped.Within();
        Assert.False(overrun);
        var final = run.Metrics.ToDictionary(m => m.Stage);
        Assert.Equal(SourceBuffer, final["prompts"].MaxQueueDepth);
        Assert.Equal(SelectBuffer, final["generate"].MaxQueueDepth);
    }

    [Fact]
    public async Task TenTimesSlowerSink_KeepsQueuesBoundedAndMemoryFlat()
    {
        const int Elements = 100_000;
        const int SampleEvery = 1_000;
        const int PayloadBytes = 64;

        // Most elements the graph can hold: every bounded edge plus one element in hand per stage loop.
        const int Edge = StageAttributes.DefaultBufferSize;
        const int Bound =
            (Edge + 1)              // prompts: edge + the element it waits to write
            + (Edge + 1)            // tokenize
            + 1 + (2 * 4)           // balance: dispatcher's element + two worker queues
            + (2 * (Edge + 1))      // generate[0], generate[1]
            + (Edge + 2);           // merge: edge + one element per worker pump
        long produced = 0;
        int violations = 0;

        // Memory is flat when nothing keeps a consumed element alive. Every thousandth payload is watched
        // through a weak reference; a payload carries its index, so the sink knows which it has consumed.
        // (A heap total would also count whatever else the process allocates meanwhile.)
        var watched = new Dictionary<long, WeakReference>();
        var consumedWatched = new List<long>();
        int retainedMidway = -1;

        IEnumerable<byte[]> Payloads()
        {
            for (long i = 0; i < Elements; i++)
            {
                Interlocked.Increment(ref produced);
                Thread.SpinWait(5);
                var payload = new byte[PayloadBytes];
                BitConverter.TryWriteBytes(payload, i);
                if (i % SampleEvery == 0)
                {
                    lock (watched)
                    {
                        watched[i] = new WeakReference(payload);
                    }
                }

                yield return payload;
            }
        }

        long consumed = 0;
        var graph = Source.From(Payloads()).Named("prompts")
            .Select(p => p).Named("tokenize")
            .Balance(2, _ => Flow.Select((byte[] p) => p).Named("generate"), new BalanceOptions { WorkerBufferSize = 4 })
            .To(Sink.ForEach<byte[]>(payload =>
            {
                // The sink does ten times the source's work per element.
                Thread.SpinWait(50);
                long taken = ++consumed;
                if (Interlocked.Read(ref produced) > taken + Bound)
                {
                    violations++;
                }

                if (taken == Elements / 2)
                {
                    retainedMidway = RetainedAfterCollection(watched, consumedWatched);
                }

                long index = BitConverter.ToInt64(payload);
                if (index % SampleEvery == 0)
                {
                    consumedWatched.Add(index);
                }
            }).Named("learner"));

        await graph.RunAsync(Guard.Token).Within();

        Assert.Equal(Elements, consumed);
        Assert.Equal(0, violations);
        Assert.All(graph.Metrics, m => Assert.InRange(m.MaxQueueDepth, 0, m.QueueCapacity));
        Assert.True(consumedWatched.Count >= (Elements / SampleEvery / 2) - 1, $"only {consumedWatched.Count} watched payloads were consumed by mid-run");

        // Half-way through, the watched payloads the sink had consumed were garbage but for at most one per
        // stage: a channel's reused reader operation keeps the last item it handed over until its next hand-over.
        // Keeping every consumed payload would leave about 50 alive here.
        Assert.InRange(retainedMidway, 0, graph.Metrics.Count);
    }

    /// <summary>How many consumed, watched payloads are still alive after a full collection.</summary>
    private static int RetainedAfterCollection(Dictionary<long, WeakReference> watched, List<long> consumed)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        lock (watched)
        {
            return consumed.Count(index => watched[index].IsAlive);
        }
    }

    /// <summary>A counter a test can await reaching a value.</summary>
    private sealed class ProgressCounter
    {
        private readonly object _gate = new();
        private readonly List<(long Target, TaskCompletionSource Signal)> _waiters = [];
        private long _value;

        public long Increment()
        {
            List<TaskCompletionSource> ready = [];
            long value;
            lock (_gate)
            {
                value = ++_value;
                _waiters.RemoveAll(w =>
                {
                    if (w.Target > value)
                    {
                        return false;
                    }

                    ready.Add(w.Signal);
                    return true;
                });
            }

            ready.ForEach(s => s.TrySetResult());
            return value;
        }

        public Task WaitForAsync(long target)
        {
            lock (_gate)
            {
                if (_value >= target)
                {
                    return Task.CompletedTask;
                }

                var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _waiters.Add((target, signal));
                return signal.Task;
            }
        }
    }
}
