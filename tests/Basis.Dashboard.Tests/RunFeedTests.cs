namespace Basis.Dashboard.Tests;

public sealed class RunFeedTests
{
    private static readonly TimeSpan s_poll = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task ASubscriberGetsTheHistoryThenEveryNewStepExactlyOnce()
    {
        await using FixtureRun run = await FixtureRun.CreateAsync(steps: 5);
        var clock = new ManualTimeProvider();
        await using var feed = new RunFeed(run.Journal, run.Folder, new EmbeddedNodeStatusSource(run.Folder, run.Journal.Target.Describe()), new RunFeedOptions { FilePollInterval = s_poll, NodePollInterval = s_poll, TimeProvider = clock });
        feed.Start();
        await TestServers.WaitReadyAsync(feed);
        using FeedSubscription subscription = feed.Subscribe();
        var seen = new List<ChartPoint>(subscription.Snapshot.Points);

        // The journal's live queries poll the database every 50 ms; the CSV files wait for the next poll of the fake clock.
        // Each step commits twice (the batch, then the policy update), and the feed follows each commit on its own: wait for both.
        await run.AppendStepsAsync(2);
        await ReadUntilAsync(subscription, seen, () => Count(seen, DashboardSeries.Reward) == 7 && Count(seen, DashboardSeries.Loss) == 7);
        Assert.Equal(5, Count(seen, DashboardSeries.TokensPerSecond));

        SpinWait.SpinUntil(() => clock.ActiveTimers == 2, TestServers.SafetyNet);
        clock.Advance(s_poll);
        await ReadUntilAsync(subscription, seen, () => Count(seen, DashboardSeries.TokensPerSecond) == 7);

        Assert.Equal([.. Enumerable.Range(0, 7).Select(s => (double)s)], Xs(seen, DashboardSeries.Reward));
        Assert.Equal(run.MeanRewards, seen.Where(p => p.Series == DashboardSeries.Reward).Select(p => p.Y));
        Assert.Equal([.. Enumerable.Range(0, 7).Select(s => (double)s)], Xs(seen, DashboardSeries.TokensPerSecond));
        Assert.Equal([.. Enumerable.Range(0, 7).Select(s => (double)s)], Xs(seen, DashboardSeries.Loss));
        // Held-out: the evaluation before RL (metrics.csv, step -1), then the journal's every EvalEvery steps.
        Assert.Equal([-1, 4], Xs(seen, DashboardSeries.HeldOutAccuracy).Order());
    }

    [Fact]
    public async Task TheRunStateTurnsFinishedWhenTheSummaryAppears()
    {
        await using FixtureRun run = await FixtureRun.CreateAsync(steps: 1);
        var clock = new ManualTimeProvider();
        await using var feed = new RunFeed(run.Journal, run.Folder, new EmbeddedNodeStatusSource(run.Folder, run.Journal.Target.Describe()), new RunFeedOptions { FilePollInterval = s_poll, NodePollInterval = s_poll, TimeProvider = clock });
        feed.Start();
        await TestServers.WaitReadyAsync(feed);
        Assert.Equal(RunState.Running, feed.Snapshot().Info.State);
        Assert.Equal("basis", feed.Snapshot().Info.Estimator);
        using FeedSubscription subscription = feed.Subscribe();

        run.WriteSummary();
        SpinWait.SpinUntil(() => clock.ActiveTimers == 2, TestServers.SafetyNet);
        clock.Advance(s_poll);

        using var timeout = new CancellationTokenSource(TestServers.SafetyNet);
        while (await subscription.Messages.WaitToReadAsync(timeout.Token))
        {
            if (subscription.Messages.TryRead(out FeedMessage? message) && message is InfoMessage { Info.State: RunState.Finished })
            {
                return;
            }
        }

        Assert.Fail("no message said the run finished.");
    }

    [Fact]
    public async Task ASubscriberThatFallsBehindIsDroppedInsteadOfHoldingTheFeed()
    {
        await using FixtureRun run = await FixtureRun.CreateAsync(steps: 1);
        var clock = new ManualTimeProvider();
        await using var feed = new RunFeed(run.Journal, run.Folder, new EmbeddedNodeStatusSource(run.Folder, run.Journal.Target.Describe()), new RunFeedOptions { SubscriberCapacity = 2, TimeProvider = clock });
        feed.Start();
        await TestServers.WaitReadyAsync(feed);
        using FeedSubscription slow = feed.Subscribe();

        await run.AppendStepsAsync(3);

        // Each step commits twice (batch, then policy update): six messages for a capacity of two. Wait until the feed
        // has offered them all (points are stored and broadcast under one lock) before reading any, so the reader
        // cannot make room for a third.
        Assert.True(SpinWait.SpinUntil(() => Count([.. feed.Snapshot().Points], DashboardSeries.Reward) == 4 && Count([.. feed.Snapshot().Points], DashboardSeries.Loss) == 4, TestServers.SafetyNet));
        int drained = 0;
        using var timeout = new CancellationTokenSource(TestServers.SafetyNet);
        while (await slow.Messages.WaitToReadAsync(timeout.Token))
        {
            while (slow.Messages.TryRead(out _))
            {
                drained++;
            }
        }

        Assert.Equal(2, drained);

        // The feed went on without it: a new subscriber sees every step.
        using FeedSubscription again = feed.Subscribe();
        var seen = new List<ChartPoint>(again.Snapshot.Points);
        await ReadUntilAsync(again, seen, () => Count(seen, DashboardSeries.Reward) == 4);
        Assert.Equal([0, 1, 2, 3], Xs(seen, DashboardSeries.Reward));
    }

    [Fact]
    public async Task WaitingForReadinessEndsWhenTheFeedIsDisposedFirst()
    {
        await using FixtureRun run = await FixtureRun.CreateAsync(steps: 1);
        var feed = new RunFeed(run.Journal, run.Folder, new EmbeddedNodeStatusSource(run.Folder, run.Journal.Target.Describe()), new RunFeedOptions { TimeProvider = new ManualTimeProvider() });

        await feed.DisposeAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => feed.WhenReady);
    }

    private static int Count(List<ChartPoint> points, string series) => points.Count(p => p.Series == series);

    private static double[] Xs(List<ChartPoint> points, string series) => [.. points.Where(p => p.Series == series).Select(p => p.X)];

    private static async Task ReadUntilAsync(FeedSubscription subscription, List<ChartPoint> seen, Func<bool> done)
    {
        using var timeout = new CancellationTokenSource(TestServers.SafetyNet);
        while (!done())
        {
            await subscription.Messages.WaitToReadAsync(timeout.Token);
            while (subscription.Messages.TryRead(out FeedMessage? message))
            {
                if (message is PointsMessage points)
                {
                    seen.AddRange(points.Points);
                }
            }
        }
    }
}
