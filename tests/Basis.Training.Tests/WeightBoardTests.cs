using Basis.Training.Graph;
using Xunit;

namespace Basis.Training.Tests;

public class WeightBoardTests
{
    [Fact]
    public async Task WaiterIsReleasedByTheFirstSufficientVersion()
    {
        var board = new WeightBoard<string>();
        board.Publish(0, "v0");
        ValueTask<(long, string)> ready = board.WaitForAsync(0, CancellationToken.None);
        Assert.True(ready.IsCompleted);

        Task<(long Version, string Weights)> waiting = board.WaitForAsync(2, CancellationToken.None).AsTask();
        board.Publish(1, "v1");
        Assert.False(waiting.IsCompleted);
        board.Publish(2, "v2");

        (long version, string weights) = await waiting;
        Assert.Equal(2, version);
        Assert.Equal("v2", weights);
    }

    [Fact]
    public async Task FaultFailsWaitersAndLaterCallers()
    {
        var board = new WeightBoard<string>();
        Task<(long, string)> waiting = board.WaitForAsync(1, CancellationToken.None).AsTask();

        board.Fault(new TimeoutException("learner died"));

        var error = await Assert.ThrowsAsync<TimeoutException>(() => waiting);
        Assert.Equal("learner died", error.Message);
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await board.WaitForAsync(0, CancellationToken.None));
    }

    [Fact]
    public void VersionsOnlyGrow()
    {
        var board = new WeightBoard<string>();
        board.Publish(3, "v3");
        Assert.Throws<InvalidOperationException>(() => board.Publish(3, "again"));
    }

    [Fact]
    public async Task CancellationStopsTheWait()
    {
        var board = new WeightBoard<string>();
        using var cancellation = new CancellationTokenSource();
        Task<(long, string)> waiting = board.WaitForAsync(5, cancellation.Token).AsTask();
        cancellation.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
    }
}
