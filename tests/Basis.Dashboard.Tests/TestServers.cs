namespace Basis.Dashboard.Tests;

internal static class TestServers
{
    /// <summary>A generous bound on every wait, so a bug fails the test instead of hanging it.</summary>
    public static readonly TimeSpan SafetyNet = TimeSpan.FromSeconds(30);

    public static Task<DashboardServer> StartAsync(string folder, INodeStatusSource? nodes = null) =>
        DashboardServer.StartAsync(
            new DashboardOptions { RunFolder = folder, Port = 0, PollInterval = TimeSpan.FromMilliseconds(50), Nodes = nodes },
            CancellationToken.None);

    /// <summary>Completes once every source of the feed has read its history.</summary>
    public static Task WaitReadyAsync(RunFeed feed) => feed.WhenReady.WaitAsync(SafetyNet);
}
