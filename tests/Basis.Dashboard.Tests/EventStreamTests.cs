using System.Net.ServerSentEvents;
using System.Text.Json;

namespace Basis.Dashboard.Tests;

public sealed class EventStreamTests
{
    [Fact]
    public async Task TheStreamSendsTheHistoryThenStepsAppendedWhileConnected()
    {
        await using FixtureRun run = await FixtureRun.CreateAsync(steps: 3);
        await using DashboardServer server = await TestServers.StartAsync(run.Folder);
        await TestServers.WaitReadyAsync(server.Feed);
        using var timeout = new CancellationTokenSource(TestServers.SafetyNet);
        using var http = new HttpClient { BaseAddress = server.Address, Timeout = Timeout.InfiniteTimeSpan };
        using HttpResponseMessage response = await http.GetAsync("/api/events", HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        await using Stream body = await response.Content.ReadAsStreamAsync(timeout.Token);
        await using IAsyncEnumerator<SseItem<string>> events = SseParser.Create(body).EnumerateAsync(timeout.Token).GetAsyncEnumerator(timeout.Token);

        var types = new List<string>();
        var rewards = new List<(double Step, double Reward)>();
        var tokens = new List<double>();
        string state = string.Empty;

        async Task ReadUntil(Func<bool> done)
        {
            while (!done())
            {
                Assert.True(await events.MoveNextAsync(), "the stream ended");
                SseItem<string> item = events.Current;
                types.Add(item.EventType);
                using JsonDocument data = JsonDocument.Parse(item.Data);
                if (item.EventType == "points")
                {
                    foreach (JsonElement p in data.RootElement.TryGetProperty(DashboardSeries.Reward, out JsonElement r) ? r.EnumerateArray() : default)
                    {
                        rewards.Add((p[0].GetDouble(), p[1].GetDouble()));
                    }

                    foreach (JsonElement p in data.RootElement.TryGetProperty(DashboardSeries.TokensPerSecond, out JsonElement t) ? t.EnumerateArray() : default)
                    {
                        tokens.Add(p[0].GetDouble());
                    }
                }
                else if (item.EventType == "info")
                {
                    state = data.RootElement.GetProperty("state").GetString()!;
                }
                else if (item.EventType == "snapshot")
                {
                    state = data.RootElement.GetProperty("info").GetProperty("state").GetString()!;
                }
            }
        }

        await ReadUntil(() => types.Contains("ready"));
        Assert.Equal("snapshot", types[0]);
        Assert.Equal([0, 1, 2], rewards.Select(r => r.Step));

        // Another writer (a running `basis train`) appends while the page is connected.
        await run.AppendStepsAsync(2);
        await ReadUntil(() => rewards.Count == 5 && tokens.Count == 5);
        Assert.Equal([0, 1, 2, 3, 4], rewards.Select(r => r.Step));
        Assert.Equal(run.MeanRewards, rewards.Select(r => r.Reward));
        Assert.Equal([0, 1, 2, 3, 4], tokens);

        run.WriteSummary();
        await ReadUntil(() => state == RunState.Finished);
    }
}
