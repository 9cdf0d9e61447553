using System.Diagnostics.Metrics;

namespace Basis.Streaming.Tests;

public sealed class MetricsTests
{
    [Fact]
    public async Task BusyFraction_IsTimeInsideTheFunctionOverWallTime()
    {
        var time = new ManualTimeProvider();
        var source = new SourceProbe<int>();
        var sink = new SinkProbe<int>();
        GraphRun run = source.Source
            .Select(x =>
            {
                time.Advance(TimeSpan.FromMilliseconds(30));
                return x;
            })
            .Named("generate")
            .To(sink.Sink)
            .WithTimeProvider(time)
            .Run(Guard.Token);

        for (int i = 0; i < 4; i++)
        {
            await source.SendAsync(i).Within();
            Assert.Equal(i, await sink.RequestNextAsync());
            time.Advance(TimeSpan.FromMilliseconds(70));
        }

        StageMetricsSnapshot stage = run.Metrics.Single(m => m.Stage == "generate");
        Assert.Equal(0.3, stage.BusyFraction, 12);
        Assert.Equal(4, stage.ElementsIn);
        Assert.Equal(4, stage.ElementsOut);
        Assert.Equal(StageStatus.Running, stage.Status);
    }

    [Fact]
    public async Task BusyFraction_CountsOverlappingAsyncCallsOnce()
    {
        var time = new ManualTimeProvider();
        var gates = new[] { new TaskCompletionSource(), new TaskCompletionSource() };
        var source = new SourceProbe<int>();
        var sink = new SinkProbe<int>();
        GraphRun run = source.Source
            .SelectAsync(2, async (int i, CancellationToken _) =>
            {
                await gates[i].Task;
                return i;
            })
            .Named("verify")
            .To(sink.Sink)
            .WithTimeProvider(time)
            .Run(Guard.Token);
        sink.Request(2);

        await source.SendAsync(0).Within();
        await source.SendAsync(1).Within();
        time.Advance(TimeSpan.FromMilliseconds(50));
        gates[0].SetResult();
        gates[1].SetResult();
        await sink.ExpectNextAsync();
        await sink.ExpectNextAsync();
        time.Advance(TimeSpan.FromMilliseconds(50));

        // Two calls overlapping for 50 ms out of 100 ms are busy for half the time, not all of it.
        Assert.Equal(0.5, run.Metrics.Single(m => m.Stage == "verify").BusyFraction, 12);
    }

    [Fact]
    public async Task Meter_ExportsElementsQueueDepthAndBusyFractionPerStage()
    {
        string graphName = $"meter-test-{Guid.NewGuid():N}";
        var longs = new List<(string Instrument, long Value, Dictionary<string, object?> Tags)>();
        var doubles = new List<(string Instrument, double Value, Dictionary<string, object?> Tags)>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == StreamingTelemetry.MeterName)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((i, v, tags, _) => longs.Add((i.Name, v, ToDictionary(tags))));
        listener.SetMeasurementEventCallback<int>((i, v, tags, _) => longs.Add((i.Name, v, ToDictionary(tags))));
        listener.SetMeasurementEventCallback<double>((i, v, tags, _) => doubles.Add((i.Name, v, ToDictionary(tags))));
        listener.Start();

        var source = new SourceProbe<int>();
        var sink = new SinkProbe<int>();
        GraphRun run = source.Source.Select(x => x + 1).Named("score").To(sink.Sink).Named(graphName).Run(Guard.Token);
        for (int i = 0; i < 3; i++)
        {
            await source.SendAsync(i).Within();
        }

        sink.Request(1);
        await sink.ExpectNextAsync();
        await source.SendAsync(3).Within();
        listener.RecordObservableInstruments();

        bool Mine(Dictionary<string, object?> tags) => Equals(tags["graph"], graphName) && Equals(tags["stage"], "score");
        Assert.Contains(longs, m => m.Instrument == "basis.streaming.elements" && Mine(m.Tags) && Equals(m.Tags["direction"], "in") && m.Value == 4);
        Assert.Contains(longs, m => m.Instrument == "basis.streaming.queue.depth" && Mine(m.Tags) && m.Value == 3);
        Assert.Contains(longs, m => m.Instrument == "basis.streaming.restarts" && Mine(m.Tags) && m.Value == 0);
        Assert.Contains(doubles, m => m.Instrument == "basis.streaming.busy.fraction" && Mine(m.Tags) && m.Value is >= 0 and <= 1);

        source.Complete();
        sink.Request(10);
        await run.Completion.Within();
    }

    private static Dictionary<string, object?> ToDictionary(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var result = new Dictionary<string, object?>();
        foreach (var tag in tags)
        {
            result[tag.Key] = tag.Value;
        }

        return result;
    }
}
