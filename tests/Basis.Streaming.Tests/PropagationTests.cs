namespace Basis.Streaming.Tests;

public sealed class PropagationTests
{
    private static IEnumerable<int> Endless()
    {
        for (int i = 0; ; i++)
        {
            yield return i;
        }
    }

    [Fact]
    public async Task Completion_FlowsDownstreamAndCompletesTheGraph()
    {
        var output = new List<int>();
        var graph = Source.From(Enumerable.Range(0, 100)).Select(x => x + 1).Where(x => x % 2 == 0).To(Sink.ForEach<int>(output.Add));

        await graph.RunAsync(Guard.Token).Within();

        Assert.Equal(Enumerable.Range(1, 100).Where(x => x % 2 == 0), output);
        Assert.All(graph.Metrics, m => Assert.Equal(StageStatus.Completed, m.Status));
    }

    [Fact]
    public async Task Cancellation_StopsEveryStageAndCancelsTheCompletion()
    {
        using var cts = new CancellationTokenSource();
        var received = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int count = 0;
        GraphRun run = Source.From(Endless())
            .Select(x => x * 2)
            .To(Sink.ForEach<int>(_ =>
            {
                if (++count == 100)
                {
                    received.SetResult();
                }
            }))
            .Run(cts.Token);

        await received.Task.Within();
        cts.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.Completion.Within());
        await run.Stopped.Within();
        Assert.True(run.Completion.IsCanceled);
        Assert.All(run.Metrics, m => Assert.Equal(StageStatus.Cancelled, m.Status));
    }

    [Fact]
    public async Task SinkFailure_CancelsTheSource()
    {
        GraphRun run = Source.From(Endless())
            .Named("prompts")
            .Select(x => x)
            .To(Sink.ForEach<int>(x =>
            {
                if (x == 5)
                {
                    throw new InvalidOperationException("learner diverged");
                }
            }).Named("learner"))
            .Run(Guard.Token);

        var failure = await Assert.ThrowsAsync<StageFailedException>(() => run.Completion.Within());
        Assert.Equal("learner", failure.Stage);
        await run.Stopped.Within();
        var stages = run.Metrics.ToDictionary(m => m.Stage);
        Assert.Equal(StageStatus.Cancelled, stages["prompts"].Status);
        Assert.Equal(StageStatus.Failed, stages["learner"].Status);
    }

    [Fact]
    public async Task SourceFailure_FailsTheGraphAndStopsDownstream()
    {
        static IEnumerable<int> Broken()
        {
            yield return 1;
            yield return 2;
            throw new IOException("dataset truncated");
        }

        var sink = new SinkProbe<int>();
        GraphRun run = Source.From(Broken()).Named("prompts").Select(x => x).To(sink.Sink).Run(Guard.Token);

        var failure = await Assert.ThrowsAsync<StageFailedException>(() => run.Completion.Within());
        Assert.Equal("prompts", failure.Stage);
        Assert.Contains("dataset truncated", failure.Message, StringComparison.Ordinal);
        await run.Stopped.Within();
        Assert.Equal(StageStatus.Cancelled, run.Metrics.Single(m => m.Stage == "probe").Status);
    }

    [Fact]
    public async Task Take_CompletesTheGraphAndTearsDownAnEndlessSource()
    {
        var output = new List<int>();
        var graph = Source.From(Endless()).Named("prompts").Take(25).To(Sink.ForEach<int>(output.Add));

        await graph.RunAsync(Guard.Token).Within();

        Assert.Equal(Enumerable.Range(0, 25), output);
        Assert.Equal(StageStatus.Cancelled, graph.Metrics.Single(m => m.Stage == "prompts").Status);
    }

    [Fact]
    public async Task Graph_CanRunAgainWithFreshStages()
    {
        int total = 0;
        var graph = Source.From(Enumerable.Range(1, 10)).To(Sink.ForEach<int>(x => total += x));

        await graph.RunAsync(Guard.Token).Within();
        await graph.RunAsync(Guard.Token).Within();

        Assert.Equal(110, total);
    }
}
