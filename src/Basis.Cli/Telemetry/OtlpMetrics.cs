using Basis.Hocon;
using Basis.Model.Compute;
using Basis.Training.Graph.Monitoring;
using Basis.Training.Graph;
using Microsoft.Extensions.Configuration;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace Basis.Cli.Telemetry;

/// <summary>
/// Exports the Basis meters (graph stages, training, GEMM) over OTLP/HTTP (protobuf) when
/// <c>basis.telemetry.otlp-endpoint</c> is set. Disposing the returned provider pushes a last export, so even a short
/// run reports its final values.
/// </summary>
public static class OtlpMetrics
{
    /// <summary>Every meter the project publishes.</summary>
    public static IReadOnlyList<string> MeterNames { get; } = [GraphTelemetry.MeterName, TrainingTelemetry.MeterName, GemmTelemetry.MeterName];

    /// <summary>
    /// For <c>basis train</c>: the provider for the HOCON files' endpoint (null when none is set); on a malformed setting
    /// it writes the reason to <paramref name="error"/> and sets <paramref name="ok"/> to false.
    /// </summary>
    public static MeterProvider? TryStart(IReadOnlyList<string> files, TextWriter error, out bool ok)
    {
        try
        {
            ok = true;
            return StartFromConfiguration(Hocon.Configuration.HoconConfiguration.Load(files));
        }
        catch (Exception e) when (e is ArgumentException or HoconException)
        {
            error.WriteLine($"basis train: {e.Message}");
            ok = false;
            return null;
        }
    }

    /// <summary>The provider for the configuration's endpoint, or null when none is configured.</summary>
    /// <exception cref="ArgumentException">The endpoint or interval is malformed; the message names the key.</exception>
    public static MeterProvider? StartFromConfiguration(IConfiguration configuration)
    {
        string? endpoint = configuration["basis:telemetry:otlp-endpoint"];
        if (string.IsNullOrWhiteSpace(endpoint))
        {
            return null;
        }

        string serviceName = configuration["basis:telemetry:service-name"] is { Length: > 0 } name ? name : "basis";
        TimeSpan interval = TimeSpan.FromSeconds(10);
        if (configuration["basis:telemetry:export-interval"] is { Length: > 0 } text && !HoconDuration.TryParse(text, out interval))
        {
            throw new ArgumentException($"basis.telemetry.export-interval: '{text}' is not a duration (e.g. 10s).");
        }

        return Start(endpoint, serviceName, interval);
    }

    /// <param name="endpoint">The collector's base URL (e.g. http://localhost:4318); /v1/metrics is added unless present.</param>
    public static MeterProvider Start(string endpoint, string serviceName, TimeSpan interval)
    {
        if (!Uri.TryCreate(endpoint.Trim(), UriKind.Absolute, out Uri? baseUri) || (baseUri.Scheme != Uri.UriSchemeHttp && baseUri.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException($"basis.telemetry.otlp-endpoint: '{endpoint}' is not an http(s) URL (e.g. http://localhost:4318).");
        }

        if (interval <= TimeSpan.Zero)
        {
            throw new ArgumentException($"basis.telemetry.export-interval must be positive (got {interval}).");
        }

        // A programmatic endpoint is used as given for OTLP/HTTP, so the signal path is ours to add.
        string path = baseUri.AbsolutePath.TrimEnd('/');
        var metricsUri = new UriBuilder(baseUri) { Path = path.EndsWith("/v1/metrics", StringComparison.Ordinal) ? path : path + "/v1/metrics" }.Uri;
        return Sdk.CreateMeterProviderBuilder()
            .ConfigureResource(resource => resource.AddService(serviceName))
            .AddMeter([.. MeterNames])
            .AddOtlpExporter((exporter, reader) =>
            {
                exporter.Endpoint = metricsUri;
                exporter.Protocol = OtlpExportProtocol.HttpProtobuf;
                reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = (int)Math.Min(int.MaxValue, interval.TotalMilliseconds);
            })
            .Build();
    }
}
