namespace Basis.Streaming.Tests;

public sealed class GroupingTests
{
    private static readonly TimeSpan s_window = TimeSpan.FromMilliseconds(100);

    private static (SourceProbe<int> Source, SinkProbe<IReadOnlyList<int>> Sink, GraphRun Run) StartGroupedWithin(ManualTimeProvider time, int size)
    {
        var source = new SourceProbe<int>();
        var sink = new SinkProbe<IReadOnlyList<int>>();
        GraphRun run = source.Source.GroupedWithin(size, s_window).Named("window").To(sink.Sink).WithTimeProvider(time).Run(Guard.Token);
        return (source, sink, run);
    }

    [Fact]
    public async Task GroupedWithin_EmitsAsSoonAsTheGroupIsFull()
    {
        var time = new ManualTimeProvider();
        var (source, sink, _) = StartGroupedWithin(time, 3);
        sink.Request(10);

        foreach (int i in new[] { 1, 2, 3, 4 })
        {
            await source.SendAsync(i).Within();
        }

        Assert.Equal([1, 2, 3], await sink.ExpectNextAsync());
        Assert.Equal(TimeSpan.Zero, time.Elapsed);
    }

    [Fact]
    public async Task GroupedWithin_EmitsThePartialGroupWhenTheWindowElapses()
    {
        var time = new ManualTimeProvider();
        var (source, sink, _) = StartGroupedWithin(time, 10);
        sink.Request(10);
        await time.WaitForTimersCreatedAsync(1).Within();

        await source.SendAsync(1).Within();
        await source.SendAsync(2).Within();
        time.Advance(s_window);

        Assert.Equal([1, 2], await sink.ExpectNextAsync());
    }

    [Fact]
    public async Task GroupedWithin_NeverEmitsAnEmptyGroup()
    {
        var time = new ManualTimeProvider();
        var (source, sink, _) = StartGroupedWithin(time, 10);
        sink.Request(10);
        await time.WaitForTimersCreatedAsync(1).Within();

        for (int i = 0; i < 5; i++)
        {
            time.Advance(s_window);
        }

        await source.SendAsync(7).Within();
        time.Advance(s_window);

        // Had any of the idle ticks emitted an empty group, it would arrive before this one.
        Assert.Equal([7], await sink.ExpectNextAsync());
    }

    [Fact]
    public async Task GroupedWithin_FlushesThePartialGroupOnCompletion()
    {
        var time = new ManualTimeProvider();
        var (source, sink, run) = StartGroupedWithin(time, 10);
        sink.Request(10);

        await source.SendAsync(1).Within();
        await source.SendAsync(2).Within();
        source.Complete();

        Assert.Equal([1, 2], await sink.ExpectNextAsync());
        await sink.ExpectCompleteAsync();
        await run.Completion.Within();
    }

    [Fact]
    public async Task GroupedWithin_RestartsTheWindowWhenAGroupFillsByCount()
    {
        var time = new ManualTimeProvider();
        var (source, sink, _) = StartGroupedWithin(time, 3);
        sink.Request(10);
        await time.WaitForTimersCreatedAsync(1).Within();

        time.Advance(TimeSpan.FromMilliseconds(60));
        foreach (int i in new[] { 1, 2, 3 })
        {
            await source.SendAsync(i).Within();
        }

        Assert.Equal([1, 2, 3], await sink.ExpectNextAsync());
        Assert.Equal([s_window], time.PendingTimers);

        // Without the reset the tick at t=100ms would emit [4] alone; with it, t=160ms emits [4, 5].
        await source.SendAsync(4).Within();
        time.Advance(TimeSpan.FromMilliseconds(40));
        await source.SendAsync(5).Within();
        time.Advance(TimeSpan.FromMilliseconds(60));

        Assert.Equal([4, 5], await sink.ExpectNextAsync());
    }

    [Fact]
    public async Task Grouped_EmitsFullGroupsAndFlushesTheRest()
    {
        var groups = new List<IReadOnlyList<int>>();
        await Source.From(Enumerable.Range(1, 7)).Grouped(3).To(Sink.ForEach<IReadOnlyList<int>>(groups.Add)).RunAsync(Guard.Token).Within();

        Assert.Equal([[1, 2, 3], [4, 5, 6], [7]], groups.Select(g => g.ToArray()).ToArray());
    }

    [Fact]
    public void GroupedWithin_RejectsInvalidArguments()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Flow.GroupedWithin<int>(0, s_window));
        Assert.Throws<ArgumentOutOfRangeException>(() => Flow.GroupedWithin<int>(3, TimeSpan.Zero));
    }
}
