namespace Basis.Streaming.Tests;

public sealed class PinnedDispatcherTests
{
    [Fact]
    public async Task RunsWorkInOrderOnOneThreadOfItsOwn()
    {
        using var dispatcher = new PinnedDispatcher("pinned", DispatcherPriority.Normal);
        int caller = Environment.CurrentManagedThreadId;
        var order = new List<int>();
        Task<int>[] runs = [.. Enumerable.Range(0, 50).Select(i => dispatcher.RunAsync(() =>
        {
            order.Add(i); // no lock: one thread runs every item
            return Environment.CurrentManagedThreadId;
        }, Guard.Token))];

        int[] threads = await Task.WhenAll(runs).Within();

        Assert.Equal(Enumerable.Range(0, 50), order);
        Assert.Single(threads.Distinct());
        Assert.NotEqual(caller, threads[0]);
    }

    [Fact]
    public async Task AFailureReachesTheCallerAndTheThreadGoesOn()
    {
        using var dispatcher = new PinnedDispatcher("pinned", DispatcherPriority.Normal);

        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => dispatcher.RunAsync<int>(() => throw new InvalidOperationException("boom"), Guard.Token).Within());

        Assert.Equal("boom", failure.Message);
        Assert.Equal(7, await dispatcher.RunAsync(() => 7, Guard.Token).Within());
    }

    [Fact]
    public async Task WorkCancelledBeforeItsTurnNeverRuns()
    {
        using var dispatcher = new PinnedDispatcher("pinned", DispatcherPriority.Normal);
        using var gate = new ManualResetEventSlim();
        using var cancel = new CancellationTokenSource();
        bool ran = false;
        Task<bool> blocker = dispatcher.RunAsync(() => gate.Wait(Guard.Timeout), Guard.Token);
        Task<bool> queued = dispatcher.RunAsync(() => ran = true, cancel.Token);

        cancel.Cancel();
        gate.Set();

        Assert.True(await blocker.Within());
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => queued.Within());
        Assert.False(ran);
    }

    [Fact]
    public async Task DisposeRefusesNewWorkButFinishesWhatIsQueued()
    {
        var dispatcher = new PinnedDispatcher("pinned", DispatcherPriority.Normal);
        using var gate = new ManualResetEventSlim();
        Task<bool> blocker = dispatcher.RunAsync(() => gate.Wait(Guard.Timeout), Guard.Token);
        Task<int> queued = dispatcher.RunAsync(() => 2, Guard.Token);

        dispatcher.Dispose();
        gate.Set();

        Assert.True(await blocker.Within());
        Assert.Equal(2, await queued.Within());
        await Assert.ThrowsAsync<ObjectDisposedException>(() => dispatcher.RunAsync(() => 3, Guard.Token).Within());
    }

    [Fact]
    public async Task LowPriorityGivesTheThreadTheLowestNiceValueOnLinux()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "nice values are Linux's");
        using var low = new PinnedDispatcher("low", DispatcherPriority.Low);
        using var normal = new PinnedDispatcher("normal", DispatcherPriority.Normal);

        int lowNice = await low.RunAsync(OwnNiceValue, Guard.Token).Within();
        int normalNice = await normal.RunAsync(OwnNiceValue, Guard.Token).Within();

        Assert.True(low.PriorityApplied);
        Assert.False(normal.PriorityApplied);
        Assert.Equal(19, lowNice);
        Assert.Equal(OwnNiceValue(), normalNice); // a normal dispatcher keeps the process's priority
        Assert.NotNull(low.OsThreadId);
    }

    /// <summary>The calling thread's nice value: field 19 of /proc/thread-self/stat (after the parenthesised command name).</summary>
    private static int OwnNiceValue()
    {
        string stat = File.ReadAllText("/proc/thread-self/stat");
        string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return int.Parse(fields[16], System.Globalization.CultureInfo.InvariantCulture);
    }
}
