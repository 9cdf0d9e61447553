using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Basis.Cli.Telemetry;
using Basis.Estimators;
using Basis.Model.Compute;
using Basis.Tasks;
using Basis.Tasks.Verification;
using Basis.Training.Graph;
using Basis.Training.Graph.Monitoring;
using Basis.Training.Hosting;
using OpenTelemetry.Metrics;
using Xunit;

namespace Basis.Cli.Tests;

/// <summary>The OTLP/HTTP metrics export, checked by an in-process receiver on 127.0.0.1 that decodes the protobuf.</summary>
public sealed class TelemetryOtlpTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("basis-otlp-");

    public void Dispose() => _directory.Delete(recursive: true);

    [Fact]
    public async Task AnExportNamesEveryInstrumentFamilyInAProtobufPayload()
    {
        await using var receiver = TelemetryOtlpReceiver.Start();
        using (var provider = OtlpMetrics.Start(receiver.Endpoint, "basis-test", TimeSpan.FromHours(1)))
        {
            // A live training graph whose learner holds its first step, so the stage instruments have something to report.
            using ActorSystem system = BasisActorSystem.Create("otlp-test");
            var learner = new HeldLearner();
            TaskPrompt[] prompts = [new("p0", "1+1=", "2", "easy", "exact"), new("p1", "2+1=", "3", "easy", "exact")];
            var graph = new TrainingGraph(prompts, null, EstimatorCatalog.Create("reinforce"), VerifierRegistry.CreateDefault(), _ => new EchoWorker(), learner, new TrainingGraphOptions { Steps = 2, PromptsPerStep = 2, ChunkSize = 1 }, (_, _) => ValueTask.CompletedTask);
            Task run = graph.RunAsync(system, TestContext.Current.CancellationToken);
            await learner.Entered.Task.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
            TrainingTelemetry.RecordStaleness(step: 7, version: 5);
            TrainingTelemetry.RecordJournalCommit(Stopwatch.GetTimestamp());
            float[] a = new float[4 * 8];
            float[] b = new float[8 * 16];
            float[] c = new float[4 * 16];
            Gemm.Multiply(false, false, 4, 16, 8, a, 8, b, 16, c, 16, accumulate: false);

            Assert.True(provider.ForceFlush(30_000));
            learner.Release.SetResult();
            await run.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        }

        TelemetryOtlpReceiver.Export export = receiver.Exports.First(e => e.MetricNames.Contains("basis.gemm.flops"));
        Assert.Equal("/v1/metrics", export.Path);
        Assert.Equal("application/x-protobuf", export.ContentType);
        foreach (string name in new[]
        {
            "basis.graph.elements", "basis.graph.queue.depth", "basis.graph.busy.fraction",
            "basis.generator.staleness", "basis.generator.staleness.last",
            "basis.gemm.flops", "basis.gemm.time", "basis.gemm.throughput",
            "basis.journal.lag", "basis.journal.lag.last",
        })
        {
            Assert.Contains(name, export.MetricNames);
        }

        Assert.Contains(GraphTelemetry.MeterName, export.ScopeNames);
        Assert.Contains(TrainingTelemetry.MeterName, export.ScopeNames);
        Assert.Contains(GemmTelemetry.MeterName, export.ScopeNames);
    }

    [Fact]
    public async Task TrainExportsItsMetricsWhenTheEndpointIsConfigured()
    {
        await using var receiver = TelemetryOtlpReceiver.Start();
        string conf = Path.Combine(_directory.FullName, "otlp.conf");
        File.WriteAllText(conf, $"basis.telemetry {{ otlp-endpoint = \"{receiver.Endpoint}\", export-interval = 1h }}\n");

        (int exitCode, string output, string error) = Cli.Run("train", "--config", Cli.Profile("ci.conf"), "--config", conf, "--run-dir", Path.Combine(_directory.FullName, "run"));

        Assert.True(exitCode == 0, error + output);

        // The interval is an hour: what arrived is the last export, pushed when the provider was disposed.
        Assert.Contains(receiver.Exports, e => e.MetricNames.Contains("basis.journal.lag") && e.MetricNames.Contains("basis.gemm.flops") && e.MetricNames.Contains("basis.generator.staleness"));
    }

    [Fact]
    public void AMalformedEndpointIsNamed()
    {
        string conf = Path.Combine(_directory.FullName, "bad.conf");
        File.WriteAllText(conf, "basis.telemetry.otlp-endpoint = \"not a url\"\n");

        (int exitCode, _, string error) = Cli.Run("train", "--config", Cli.Profile("ci.conf"), "--config", conf, "--run-dir", Path.Combine(_directory.FullName, "run"));

        Assert.Equal(1, exitCode);
        Assert.Contains("basis.telemetry.otlp-endpoint: 'not a url' is not an http(s) URL", error);
    }
}

/// <summary>An OTLP/HTTP receiver: stores each POST's path, content type and the metric and scope names it decodes.</summary>
internal sealed class TelemetryOtlpReceiver : LoopbackHttpServer
{
    private readonly Lock _gate = new();
    private readonly List<Export> _exports = [];

    private TelemetryOtlpReceiver()
    {
        Listen();
    }

    public IReadOnlyList<Export> Exports
    {
        get
        {
            lock (_gate)
            {
                return [.. _exports];
            }
        }
    }

    public static TelemetryOtlpReceiver Start() => new();

    protected override void Handle(HttpListenerContext context)
    {
        using var body = new MemoryStream();
        context.Request.InputStream.CopyTo(body);
        byte[] bytes = body.ToArray();
        var metrics = new List<string>();
        var scopes = new List<string>();

        // ExportMetricsServiceRequest: 1 resource_metrics { 2 scope_metrics { 1 scope { 1 name }, 2 metrics { 1 name } } }.
        foreach (byte[] resource in Protobuf.Fields(bytes, 1))
        {
            foreach (byte[] scopeMetrics in Protobuf.Fields(resource, 2))
            {
                scopes.AddRange(Protobuf.Fields(scopeMetrics, 1).SelectMany(s => Protobuf.Strings(s, 1)));
                metrics.AddRange(Protobuf.Fields(scopeMetrics, 2).SelectMany(m => Protobuf.Strings(m, 1)));
            }
        }

        lock (_gate)
        {
            _exports.Add(new Export(context.Request.Url!.AbsolutePath, context.Request.ContentType, metrics, scopes));
        }

        // An empty ExportMetricsServiceResponse is a success.
        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/x-protobuf";
        context.Response.Close();
    }

    public sealed record Export(string Path, string? ContentType, IReadOnlyList<string> MetricNames, IReadOnlyList<string> ScopeNames);

    /// <summary>Just enough of the protobuf wire format to walk length-delimited fields.</summary>
    private static class Protobuf
    {
        public static IEnumerable<byte[]> Fields(byte[] message, int wanted)
        {
            int position = 0;
            while (position < message.Length)
            {
                ulong key = Varint(message, ref position);
                int field = (int)(key >> 3);
                switch ((int)(key & 7))
                {
                    case 0:
                        Varint(message, ref position);
                        break;
                    case 1:
                        position += 8;
                        break;
                    case 5:
                        position += 4;
                        break;
                    case 2:
                        int length = (int)Varint(message, ref position);
                        if (field == wanted)
                        {
                            yield return message[position..(position + length)];
                        }

                        position += length;
                        break;
                    default:
                        throw new InvalidDataException($"unsupported protobuf wire type {key & 7}");
                }
            }
        }

        public static IEnumerable<string> Strings(byte[] message, int field) => Fields(message, field).Select(b => System.Text.Encoding.UTF8.GetString(b));

        private static ulong Varint(byte[] data, ref int position)
        {
            ulong value = 0;
            for (int shift = 0; ; shift += 7)
            {
                byte b = data[position++];
                value |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80)
                {
                    return value;
                }
            }
        }
    }
}

/// <summary>Answers every prompt with its gold answer.</summary>
file sealed class EchoWorker : IRolloutWorker
{
    public ValueTask<IReadOnlyList<Rollout>> GenerateAsync(WorkChunk chunk, CancellationToken cancellationToken) =>
        ValueTask.FromResult<IReadOnlyList<Rollout>>([.. chunk.Items.Select(i => new Rollout(i, i.Prompt.Gold, [1], [2], [-0.5f], 0))]);
}

/// <summary>Holds its first step until the test releases it.</summary>
file sealed class HeldLearner : IPolicyLearner
{
    public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public long Version { get; private set; }

    public LearnerSummary Update(TrainingBatch batch)
    {
        Entered.TrySetResult();
        Release.Task.Wait();
        Version++;
        return new LearnerSummary(Version, 0, 0, 0, 0, 0, batch.Rollouts.Count, 0);
    }
}
