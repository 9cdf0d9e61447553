namespace Basis.Streaming.Tests;

public sealed class ActorTests
{
    private abstract record Command;

    private sealed record Add(int Amount) : Command;

    private sealed record Get(Reply<int> Reply) : Command;

    private sealed record Crash : Command;

    private sealed record CrashAsk(Reply<int> Reply) : Command;

    /// <summary>Unsynchronized state: correct only because the mailbox hands it one message at a time.</summary>
    private sealed class Counter(ActorOptions? options = null) : Actor<Command>(options)
    {
        private int _total;

        public int Restarts { get; private set; }

        protected override ValueTask ReceiveAsync(Command message, CancellationToken cancellationToken)
        {
            switch (message)
            {
                case Add add:
                    int before = _total;
                    _total = before + add.Amount;
                    break;
                case Get get:
                    get.Reply.Send(_total);
                    break;
                case Crash or CrashAsk:
                    throw new InvalidOperationException("counter corrupted");
            }

            return default;
        }

        protected override void OnRestart(Exception reason)
        {
            Restarts++;
            _total = 0;
        }
    }

    [Fact]
    public async Task Actor_HandlesOneMessageAtATime()
    {
        await using var counter = new Counter();

        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            for (int i = 0; i < 500; i++)
            {
                await counter.TellAsync(new Add(1), Guard.Token);
            }
        }, Guard.Token))).Within();

        Assert.Equal(4000, await counter.AskAsync<int>(r => new Get(r), Guard.Token).Within());
    }

    [Fact]
    public async Task Actor_RestartResetsStateAndFailsTheAskThatCrashedIt()
    {
        var restart = new RestartSettings(TimeSpan.Zero, TimeSpan.Zero, 0, 3, TimeSpan.FromMinutes(1));
        await using var counter = new Counter(new ActorOptions { Name = "learner", Supervision = SupervisionStrategy.Restarting(restart) });

        await counter.TellAsync(new Add(5), Guard.Token);
        var crash = await Assert.ThrowsAsync<InvalidOperationException>(() => counter.AskAsync<int>(r => new CrashAsk(r), Guard.Token).Within());
        Assert.Equal("counter corrupted", crash.Message);

        Assert.Equal(0, await counter.AskAsync<int>(r => new Get(r), Guard.Token).Within());
        Assert.Equal(1, counter.Restarts);
        Assert.Equal(1, counter.Metrics.Restarts);
    }

    [Fact]
    public async Task Actor_StopFailsItsCompletionAndLaterAsks()
    {
        var counter = new Counter(new ActorOptions { Name = "learner" });

        await counter.TellAsync(new Crash(), Guard.Token);

        var failure = await Assert.ThrowsAsync<StageFailedException>(() => counter.Completion.Within());
        Assert.Equal("learner", failure.Stage);
        await Assert.ThrowsAsync<ActorStoppedException>(() => counter.AskAsync<int>(r => new Get(r), Guard.Token).Within());
        await counter.DisposeAsync();
    }
}
