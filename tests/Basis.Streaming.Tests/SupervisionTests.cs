namespace Basis.Streaming.Tests;

public sealed class SupervisionTests
{
    [Fact]
    public async Task Resume_DropsThrowingElementsAndQuarantinesThemWithTheirReason()
    {
        var quarantined = new List<QuarantinedElement>();
        var verified = new List<int>();
        await Source.From(Enumerable.Range(0, 1000))
            .Select(x => x % 100 == 42 ? throw new FormatException($"unparsable answer {x}") : x)
            .Named("verify")
            .WithSupervision(SupervisionStrategy.Resuming(quarantined.Add))
            .To(Sink.ForEach<int>(verified.Add))
            .RunAsync(Guard.Token)
            .Within();

        Assert.Equal(990, verified.Count);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (100 * i) + 42), quarantined.Select(q => (int)q.Element!));
        Assert.All(quarantined, q =>
        {
            Assert.Equal("verify", q.Stage);
            Assert.Equal(SupervisionDirective.Resume, q.Directive);
            Assert.Equal($"unparsable answer {q.Element}", q.Reason.Message);
        });
    }

    [Fact]
    public async Task Restart_RecreatesTheStageStateFromItsFactory()
    {
        var created = new List<CountingStage>();
        var output = new List<(int Instance, int Count)>();
        var restart = new RestartSettings(TimeSpan.Zero, TimeSpan.Zero, 0, maxRestarts: 5, TimeSpan.FromMinutes(1));
        await Source.From(new[] { 1, 2, -1, 3, 4 })
            .Via(Flow.FromFactory(() =>
            {
                var stage = new CountingStage(created.Count + 1);
                created.Add(stage);
                return stage;
            }))
            .WithSupervision(SupervisionStrategy.Restarting(restart))
            .To(Sink.ForEach<(int, int)>(output.Add))
            .RunAsync(Guard.Token)
            .Within();

        Assert.Equal([(1, 1), (1, 2), (2, 1), (2, 2)], output);
        Assert.Equal(2, created.Count);
        Assert.True(created[0].Disposed);
    }

    [Fact]
    public async Task Stop_FailsTheGraphNamingTheStage()
    {
        var run = Source.From(Enumerable.Range(0, 10))
            .Select(x => x == 3 ? throw new InvalidOperationException("boom") : x)
            .Named("score")
            .To(Sink.Ignore<int>())
            .Run(Guard.Token);

        var failure = await Assert.ThrowsAsync<StageFailedException>(() => run.Completion.Within());
        Assert.Equal("score", failure.Stage);
        Assert.Equal("Stage 'score' failed: InvalidOperationException: boom", failure.Message);
        Assert.IsType<InvalidOperationException>(failure.InnerException);
    }

    [Fact]
    public async Task Restart_WaitsExponentialBackoffOnTheInjectedClock()
    {
        var time = new ManualTimeProvider();
        int instances = 0;
        var restart = new RestartSettings(TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(300), 0, maxRestarts: 10, TimeSpan.FromMinutes(1));
        var source = new SourceProbe<int>();
        var sink = new SinkProbe<(int, int)>();
        GraphRun run = source.Source
            .Via(Flow.FromFactory(() => new CountingStage(Interlocked.Increment(ref instances))))
            .Named("generate")
            .WithSupervision(SupervisionStrategy.Restarting(restart))
            .To(sink.Sink)
            .WithTimeProvider(time)
            .Run(Guard.Token);
        sink.Request(10);

        TimeSpan[] expected = [TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(300)];
        for (int failure = 0; failure < expected.Length; failure++)
        {
            await source.SendAsync(-1).Within();
            await time.WaitForTimersCreatedAsync(failure + 1).Within();
            Assert.Equal([expected[failure]], time.PendingTimers);

            time.Advance(expected[failure] - TimeSpan.FromTicks(1));
            Assert.Equal(failure + 1, Volatile.Read(ref instances));
            Assert.Equal(failure + 1, run.Metrics.Single(m => m.Stage == "generate").Restarts);

            time.Advance(TimeSpan.FromTicks(1));
            await source.SendAsync(5).Within();
            Assert.Equal((failure + 2, 1), await sink.ExpectNextAsync());
        }
    }

    [Fact]
    public void Backoff_JitterStaysWithinTheRandomFactor()
    {
        var settings = new RestartSettings(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(10), 0.2, 3, TimeSpan.FromMinutes(1))
        {
            Random = new Random(7),
        };

        for (int attempt = 0; attempt < 5; attempt++)
        {
            TimeSpan baseDelay = TimeSpan.FromMilliseconds(100 * Math.Pow(2, attempt));
            TimeSpan delay = settings.BackoffFor(attempt);
            Assert.InRange(delay, baseDelay, baseDelay * 1.2);
        }
    }

    [Fact]
    public async Task Restart_FailsTheGraphPromptlyWhenTheBudgetIsSpent()
    {
        var time = new ManualTimeProvider();
        var restart = new RestartSettings(TimeSpan.FromMilliseconds(10), TimeSpan.FromSeconds(1), 0, maxRestarts: 2, TimeSpan.FromMinutes(1));
        var source = new SourceProbe<int>();
        GraphRun run = source.Source
            .Via(Flow.FromFactory(() => new CountingStage(1)))
            .Named("generate")
            .WithSupervision(SupervisionStrategy.Restarting(restart))
            .To(Sink.Ignore<(int, int)>())
            .WithTimeProvider(time)
            .Run(Guard.Token);

        await source.SendAsync(-1).Within();
        await time.WaitForTimersCreatedAsync(1).Within();
        time.Advance(TimeSpan.FromMilliseconds(10));
        await source.SendAsync(-1).Within();
        await time.WaitForTimersCreatedAsync(2).Within();
        time.Advance(TimeSpan.FromMilliseconds(20));
        await source.SendAsync(-1).Within();

        // No clock movement: the third failure inside the window fails the graph at once.
        var failure = await Assert.ThrowsAsync<StageFailedException>(() => run.Completion.Within());
        Assert.Equal("generate", failure.Stage);
        Assert.StartsWith("Stage 'generate' exhausted its restart budget (2 restarts within 00:01:00)", failure.Message, StringComparison.Ordinal);
        await run.Stopped.Within();
        Assert.Empty(time.PendingTimers);
    }

    [Fact]
    public async Task Restart_BudgetWindowForgetsOldRestarts()
    {
        var time = new ManualTimeProvider();
        var restart = new RestartSettings(TimeSpan.Zero, TimeSpan.Zero, 0, maxRestarts: 1, TimeSpan.FromSeconds(10));
        var handled = System.Threading.Channels.Channel.CreateUnbounded<QuarantinedElement>();
        var source = new SourceProbe<int>();
        var sink = new SinkProbe<(int, int)>();
        GraphRun run = source.Source
            .Via(Flow.FromFactory(() => new CountingStage(1)))
            .WithSupervision(SupervisionStrategy.Restarting(restart, q => handled.Writer.TryWrite(q)))
            .To(sink.Sink)
            .WithTimeProvider(time)
            .Run(Guard.Token);
        sink.Request(1);

        await source.SendAsync(-1).Within();
        await handled.Reader.ReadAsync(Guard.Token).AsTask().Within();
        time.Advance(TimeSpan.FromSeconds(10));
        await source.SendAsync(-1).Within();
        await source.SendAsync(1).Within();

        Assert.Equal((1, 1), await sink.ExpectNextAsync());
        Assert.False(run.Completion.IsFaulted);
    }

    /// <summary>Emits (instance, elements seen by this instance); throws on negative input.</summary>
    private sealed class CountingStage(int instance) : IStage<int, (int, int)>, IDisposable
    {
        private int _count;

        public bool Disposed { get; private set; }

        public ValueTask<(int, int)> ProcessAsync(int element, CancellationToken cancellationToken)
        {
            if (element < 0)
            {
                throw new InvalidOperationException($"generator crashed on {element}");
            }

            return ValueTask.FromResult((instance, ++_count));
        }

        public void Dispose() => Disposed = true;
    }
}
