namespace Basis.Streaming.Tests;

/// <summary>
/// Tests that read GC.GetTotalMemory, which is process-wide: they run alone, after the parallel ones, so
/// other test classes' allocations cannot show up as a leak.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MemoryMeasurementCollection
{
    public const string Name = "memory measurement";
}

[Collection(MemoryMeasurementCollection.Name)]
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
        const int Warmup = 10_000;
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
        long memoryAfterWarmup = 0;
        long memoryAtEnd = 0;
        int violations = 0;

        IEnumerable<byte[]> Payloads()
        {
            for (int i = 0; i < Elements; i++)
            {
                Interlocked.Increment(ref produced);
                Thread.SpinWait(5);
                yield return new byte[PayloadBytes];
            }
        }

        long consumed = 0;
        var graph = Source.From(Payloads()).Named("prompts")
            .Select(p => p).Named("tokenize")
            .Balance(2, _ => Flow.Select((byte[] p) => p).Named("generate"), new BalanceOptions { WorkerBufferSize = 4 })
            .To(Sink.ForEach<byte[]>(_ =>
            {
                // The sink does ten times the source's work per element.
                Thread.SpinWait(50);
                long taken = ++consumed;
                if (Interlocked.Read(ref produced) > taken + Bound)
                {
                    violations++;
                }

                if (taken == Warmup)
                {
                    memoryAfterWarmup = GC.GetTotalMemory(forceFullCollection: true);
                }
                else if (taken == Elements)
                {
                    memoryAtEnd = GC.GetTotalMemory(forceFullCollection: true);
                }
            }).Named("learner"));

        await graph.RunAsync(Guard.Token).Within();

        Assert.Equal(Elements, consumed);
        Assert.Equal(0, violations);
        Assert.All(graph.Metrics, m => Assert.InRange(m.MaxQueueDepth, 0, m.QueueCapacity));

        // A leak of one payload per element would add (Elements - Warmup) * 88 bytes, about 8 MB.
        Assert.InRange(memoryAtEnd - memoryAfterWarmup, long.MinValue, 1_000_000);
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
