using System.Text.Json.Nodes;

namespace Basis.Dashboard.Tests;

/// <summary>The page in headless Chromium: the charts draw the run's points, and steps appended while it is open.</summary>
public sealed class BrowserTests
{
    private const int Steps = 60;
    private const int Width = 1440;
    private const int Height = 1320;

    // Vertices of a chart line: one M or L command per plotted point.
    private const string PointsOf = "(sel => { const p = document.querySelector(sel); return p ? (p.getAttribute('d').match(/[ML]/g) || []).length : -1; })";

    [Fact]
    public async Task TheChartsShowTheRunsPointsAndFollowItLive()
    {
        string chromiumPath = Chromium.Find() ?? string.Empty;
        if (chromiumPath.Length == 0)
        {
            Assert.Skip("no Chromium found (looked at $BASIS_CHROMIUM, /usr/bin/chromium, chromium-browser, google-chrome); tests/run installs Debian's chromium package.");
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(45));
        CancellationToken ct = timeout.Token;
        await using FixtureRun run = await FixtureRun.CreateAsync(Steps);
        run.WriteValueMse();
        await using DashboardServer server = await TestServers.StartAsync(run.Folder);
        await using Chromium browser = await Chromium.LaunchAsync(chromiumPath, Width, Height, ct);

        await browser.NavigateAsync(server.Address, ct);
        await browser.WaitUntilAsync("document.body.dataset.ready === 'true'", ct);

        Assert.Equal(Steps, await CountAsync(browser, "reward", ct));
        Assert.Equal(Steps, await CountAsync(browser, "beta", ct));
        Assert.Equal(Steps, await CountAsync(browser, "active_set", ct));
        Assert.Equal(Steps, await CountAsync(browser, "tokens_per_s", ct));
        Assert.Equal(Steps, await CountAsync(browser, "loss", ct));
        Assert.Equal(Steps, await CountAsync(browser, "grad_norm", ct));
        // The evaluation before RL and one every EvalEvery steps.
        Assert.Equal(1 + (Steps / FixtureRun.EvalEvery), await CountAsync(browser, "heldout_accuracy", ct));
        Assert.Equal(1 + (Steps / FixtureRun.EvalEvery), (int)(await browser.EvaluateAsync("document.querySelectorAll('#chart-heldout circle.marker').length", ct))!);
        Assert.Equal(3, await CountAsync(browser, "value_mse:basis", ct));
        Assert.Equal(3, await CountAsync(browser, "value_mse:reinforce++", ct));
        Assert.Equal(6, (int)(await browser.EvaluateAsync("document.querySelectorAll('#chart-valuemse circle.marker').length", ct))!);
        Assert.Contains("does not record queue depths", Text(await browser.EvaluateAsync("document.querySelector('#chart-queues svg').textContent", ct)), StringComparison.Ordinal);
        Assert.Contains(EmbeddedNodeStatusSource.NodeName, Text(await browser.EvaluateAsync("document.getElementById('nodes').textContent", ct)), StringComparison.Ordinal);
        Assert.Equal("live", Text(await browser.EvaluateAsync("document.getElementById('status-text').textContent", ct)));
        Assert.Contains("basis", Text(await browser.EvaluateAsync("document.getElementById('facts').textContent", ct)), StringComparison.Ordinal);

        // Steps a running training appends reach the open page.
        await run.AppendStepsAsync(3);
        await browser.WaitUntilAsync($"{PointsOf}('path[data-series=\"reward\"]') === {Steps + 3} && {PointsOf}('path[data-series=\"tokens_per_s\"]') === {Steps + 3}", ct);
        Assert.Equal(Steps + 3, await CountAsync(browser, "reward", ct));

        string folder = Path.Combine(AppContext.BaseDirectory, "artifacts");
        Directory.CreateDirectory(folder);
        await browser.FitHeightAsync(Width, ct);
        string light = Path.Combine(folder, "dashboard.png");
        await File.WriteAllBytesAsync(light, await browser.ScreenshotAsync(ct), ct);
        await browser.EmulateColorSchemeAsync("dark", ct);
        await browser.WaitUntilAsync("getComputedStyle(document.body).backgroundColor !== 'rgb(246, 247, 249)'", ct);
        string dark = Path.Combine(folder, "dashboard-dark.png");
        await File.WriteAllBytesAsync(dark, await browser.ScreenshotAsync(ct), ct);

        Assert.True(new FileInfo(light).Length > 20_000);
        TestContext.Current.TestOutputHelper?.WriteLine($"screenshots: {light} and {dark}");
    }

    private static async Task<int> CountAsync(Chromium browser, string series, CancellationToken ct) =>
        (int)(await browser.EvaluateAsync($"{PointsOf}('path[data-series=\"{series}\"]')", ct))!;

    private static string Text(JsonNode? node) => node?.GetValue<string>() ?? string.Empty;
}
