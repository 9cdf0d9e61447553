using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;

namespace Basis.Dashboard.Tests;

public sealed class DashboardServerTests
{
    [Fact]
    public async Task ThePageAndItsAssetsAreServedByTheProgram()
    {
        await using FixtureRun run = await FixtureRun.CreateAsync(steps: 2);
        await using DashboardServer server = await TestServers.StartAsync(run.Folder);
        using var http = new HttpClient { BaseAddress = server.Address };

        HttpResponseMessage page = await http.GetAsync("/");
        string html = await page.Content.ReadAsStringAsync();
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("<script src=\"/assets/dashboard.js\"></script>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("https://", html, StringComparison.Ordinal);

        foreach ((string asset, string type) in new[] { ("dashboard.js", "text/javascript"), ("dashboard.css", "text/css"), ("favicon.svg", "image/svg+xml") })
        {
            HttpResponseMessage response = await http.GetAsync($"/assets/{asset}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(type, response.Content.Headers.ContentType?.MediaType);
            Assert.True((await response.Content.ReadAsByteArrayAsync()).Length > 100, asset);
        }

        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/assets/missing.js")).StatusCode);
    }

    [Fact]
    public async Task TheRunAndItsSeriesAreServedAsJson()
    {
        await using FixtureRun run = await FixtureRun.CreateAsync(steps: 12);
        await using DashboardServer server = await TestServers.StartAsync(run.Folder);
        await TestServers.WaitReadyAsync(server.Feed);
        using var http = new HttpClient { BaseAddress = server.Address };

        JsonElement info = await http.GetFromJsonAsync<JsonElement>("/api/run");
        Assert.Equal("basis", info.GetProperty("estimator").GetString());
        Assert.Equal(FixtureRun.BatchSize, info.GetProperty("batchSize").GetInt32());
        Assert.Equal(RunState.Running, info.GetProperty("state").GetString());
        Assert.Contains("basis mse-bench --run RUN --json RUN/value-mse.json", info.GetProperty("notes").GetProperty(ValueMseFile.SeriesPrefix).GetString(), StringComparison.Ordinal);
        Assert.Contains("no queues.csv", info.GetProperty("notes").GetProperty(DashboardSeries.QueuePrefix).GetString(), StringComparison.Ordinal);

        JsonElement series = await http.GetFromJsonAsync<JsonElement>("/api/series");
        Assert.True(series.GetProperty("ready").GetBoolean());
        JsonElement reward = series.GetProperty("series").GetProperty(DashboardSeries.Reward);
        Assert.Equal(run.MeanRewards, reward.EnumerateArray().Select(p => p[1].GetDouble()));
        Assert.Equal(Enumerable.Range(0, 12).Select(s => (double)s), reward.EnumerateArray().Select(p => p[0].GetDouble()));
        Assert.Equal(12, series.GetProperty("series").GetProperty(DashboardSeries.TokensPerSecond).GetArrayLength());
        Assert.DoesNotContain(series.GetProperty("series").EnumerateObject(), p => p.Name.StartsWith(ValueMseFile.SeriesPrefix, StringComparison.Ordinal));

        JsonElement nodes = await http.GetFromJsonAsync<JsonElement>("/api/nodes");
        Assert.Equal(EmbeddedNodeStatusSource.NodeName, Assert.Single(nodes.EnumerateArray()).GetProperty("name").GetString());
    }

    [Fact]
    public async Task ItListensOnTheLoopbackAddressByDefault()
    {
        await using FixtureRun run = await FixtureRun.CreateAsync(steps: 1);
        await using DashboardServer server = await TestServers.StartAsync(run.Folder);

        Assert.Equal(DashboardOptions.DefaultHost, new DashboardOptions { RunFolder = run.Folder }.Host);
        Assert.Equal("127.0.0.1", server.Address.Host);
        Assert.NotEqual(0, server.Address.Port);
    }

    [Fact]
    public async Task AMissingRunFolderIsExitCodeTwoNamingTheFolder()
    {
        string missing = Path.Combine(Path.GetTempPath(), "basis-dashboard-tests", "no-such-run-" + Guid.NewGuid().ToString("N"));

        DashboardStartupException error = await Assert.ThrowsAsync<DashboardStartupException>(() => TestServers.StartAsync(missing));

        Assert.Equal(2, error.ExitCode);
        Assert.Equal($"the run folder {missing} does not exist.", error.Message);
    }

    [Fact]
    public async Task AFolderWithoutAJournalIsExitCodeTwo()
    {
        string folder = Directory.CreateTempSubdirectory("basis-dashboard-empty").FullName;
        try
        {
            DashboardStartupException error = await Assert.ThrowsAsync<DashboardStartupException>(() => TestServers.StartAsync(folder));

            Assert.Equal(2, error.ExitCode);
            Assert.Contains("has no journal.db", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task APortInUseIsAClearMessage()
    {
        await using FixtureRun run = await FixtureRun.CreateAsync(steps: 1);
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        int port = ((IPEndPoint)taken.LocalEndpoint).Port;

        DashboardStartupException error = await Assert.ThrowsAsync<DashboardStartupException>(() =>
            DashboardServer.StartAsync(new DashboardOptions { RunFolder = run.Folder, Port = port }, CancellationToken.None));

        Assert.Equal(1, error.ExitCode);
        Assert.Equal($"port {port} on 127.0.0.1 is already in use; pick another with --port (0 picks a free one).", error.Message);
    }

    [Fact]
    public async Task AHostThatIsNotAnAddressIsExitCodeTwo()
    {
        await using FixtureRun run = await FixtureRun.CreateAsync(steps: 1);

        DashboardStartupException error = await Assert.ThrowsAsync<DashboardStartupException>(() =>
            DashboardServer.StartAsync(new DashboardOptions { RunFolder = run.Folder, Host = "example.org", Port = 0 }, CancellationToken.None));

        Assert.Equal(2, error.ExitCode);
        Assert.Contains("--host 'example.org'", error.Message, StringComparison.Ordinal);
    }
}
