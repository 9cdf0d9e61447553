using System.Net;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Basis.Training.Journal;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Basis.Dashboard;

/// <summary>
/// The dashboard's web server: the page and its assets, the run's figures as JSON, and a server-sent
/// event stream (the whole history first, then every change) that the page draws its charts from.
/// </summary>
public sealed class DashboardServer : IAsyncDisposable
{
    private const int PointsPerMessage = 20_000;

    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web);

    private readonly WebApplication _app;
    private readonly RunFeed _feed;
    private readonly JournalQuery _journal;
    private int _disposed;

    private DashboardServer(WebApplication app, RunFeed feed, JournalQuery journal, Uri address)
    {
        _app = app;
        _feed = feed;
        _journal = journal;
        Address = address;
    }

    /// <summary>The address the server listens on, with the real port when 0 was asked for.</summary>
    public Uri Address { get; }

    public RunFeed Feed => _feed;

    /// <summary>Signalled when the host is told to stop (SIGTERM, or Ctrl-C through the host).</summary>
    public CancellationToken Stopping => _app.Lifetime.ApplicationStopping;

    /// <exception cref="DashboardStartupException">The run folder or its journal is missing, or the address cannot be listened on.</exception>
    public static async Task<DashboardServer> StartAsync(DashboardOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        string folder = Path.GetFullPath(options.RunFolder);
        if (!Directory.Exists(folder))
        {
            throw new DashboardStartupException($"the run folder {folder} does not exist.", 2);
        }

        IPAddress address = ParseHost(options.Host);
        if (options.Port is < 0 or > 65535)
        {
            throw new DashboardStartupException($"--port {options.Port} is not a port number (0 to 65535).", 2);
        }

        JournalQuery journal = await OpenJournalAsync(folder, options, cancellationToken).ConfigureAwait(false);
        RunFeed? feed = null;
        try
        {
            INodeStatusSource nodes = options.Nodes ?? new EmbeddedNodeStatusSource(folder, journal.Target.Describe());
            feed = new RunFeed(journal, folder, nodes, new RunFeedOptions { FilePollInterval = options.PollInterval, TimeProvider = options.TimeProvider });
            WebApplication app = Build(feed, address, options.Port);
            try
            {
                await app.StartAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (IOException e) when (e.InnerException is AddressInUseException)
            {
                await app.DisposeAsync().ConfigureAwait(false);
                throw new DashboardStartupException($"port {options.Port} on {address} is already in use; pick another with --port (0 picks a free one).", 1, e);
            }
            catch (IOException e)
            {
                await app.DisposeAsync().ConfigureAwait(false);
                throw new DashboardStartupException($"cannot bind {address}:{options.Port}: {e.Message}", 1, e);
            }

            string bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            feed.Start();
            return new DashboardServer(app, feed, journal, new Uri(bound.Replace("[::]", "localhost", StringComparison.Ordinal)));
        }
        catch
        {
            if (feed is not null)
            {
                await feed.DisposeAsync().ConfigureAwait(false);
            }

            await journal.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // The feed first: it completes every event stream, so the host's graceful stop does not wait on open pages.
        await _feed.DisposeAsync().ConfigureAwait(false);
        await _app.StopAsync(CancellationToken.None).ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        await _journal.DisposeAsync().ConfigureAwait(false);
    }

    internal static IPAddress ParseHost(string host)
    {
        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            return IPAddress.Loopback;
        }

        return IPAddress.TryParse(host, out IPAddress? address)
            ? address
            : throw new DashboardStartupException($"--host '{host}' is not an IP address (use 127.0.0.1, ::1, 0.0.0.0 or localhost).", 2);
    }

    private static async Task<JournalQuery> OpenJournalAsync(string folder, DashboardOptions options, CancellationToken cancellationToken)
    {
        JournalTarget target;
        try
        {
            target = options.JournalConnectionString is { Length: > 0 } external
                ? JournalTarget.From(options.JournalProvider ?? "postgres", external, folder)
                : JournalTarget.ForRunFolder(folder);
        }
        catch (ArgumentException e)
        {
            throw new DashboardStartupException($"cannot open the journal: {e.Message}", 2, e);
        }

        if (!target.IsPostgres && !File.Exists(target.SqlitePath))
        {
            throw new DashboardStartupException($"{folder} has no journal.db: not a run folder, or its run has not reached RL yet.", 2);
        }

        try
        {
            return await JournalQuery.OpenAsync(target, new JournalTuning { PollInterval = options.PollInterval }, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is JournalUnavailableException or LegacyJournalException)
        {
            throw new DashboardStartupException($"cannot open the journal: {e.Message}", 2, e);
        }
    }

    private static WebApplication Build(RunFeed feed, IPAddress address, int port)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = [],
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = Environments.Production,
        });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(address, port));
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(2));
        WebApplication app = builder.Build();

        app.MapGet("/", () => Asset("index.html"));
        app.MapGet("/assets/{name}", (string name) => Asset(name));
        app.MapGet("/api/run", () => Results.Json(feed.Snapshot().Info, s_json));
        app.MapGet("/api/nodes", () => Results.Json(feed.Snapshot().Nodes, s_json));
        app.MapGet("/api/series", () =>
        {
            FeedSnapshot snapshot = feed.Snapshot();
            return Results.Json(new { ready = snapshot.Ready, series = Group(snapshot.Points) }, s_json);
        });
        app.MapGet("/api/events", async (HttpContext context) =>
        {
            context.Response.Headers.ContentType = "text/event-stream";
            context.Response.Headers.CacheControl = "no-cache";
            // Tells a buffering reverse proxy (nginx) to pass events through as they come.
            context.Response.Headers["X-Accel-Buffering"] = "no";
            await context.Response.Body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
            try
            {
                await SseFormatter.WriteAsync(Events(feed, context.RequestAborted), context.Response.Body, context.RequestAborted).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
            {
                // The page went away.
            }
        });
        return app;
    }

    private static IResult Asset(string name) =>
        EmbeddedAssets.TryGet(name, out byte[] content, out string contentType)
            ? Results.Bytes(content, contentType)
            : Results.NotFound();

    /// <summary>A snapshot (replacing whatever the page holds, so a reconnect starts clean), then every change.</summary>
    private static async IAsyncEnumerable<SseItem<string>> Events(RunFeed feed, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using FeedSubscription subscription = feed.Subscribe();
        FeedSnapshot snapshot = subscription.Snapshot;
        yield return Item("snapshot", new { info = snapshot.Info, nodes = snapshot.Nodes, series = Group([]) });
        for (int i = 0; i < snapshot.Points.Count; i += PointsPerMessage)
        {
            yield return Item("points", Group(snapshot.Points.Skip(i).Take(PointsPerMessage)));
        }

        if (snapshot.Ready)
        {
            yield return Item("ready", new { });
        }

        var points = new List<ChartPoint>();
        while (await subscription.Messages.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            // Whatever is queued goes out as few messages as possible: consecutive point batches become one.
            while (subscription.Messages.TryRead(out FeedMessage? message))
            {
                if (message is PointsMessage batch)
                {
                    points.AddRange(batch.Points);
                    continue;
                }

                if (points.Count > 0)
                {
                    yield return Item("points", Group(points));
                    points.Clear();
                }

                yield return message switch
                {
                    InfoMessage info => Item("info", info.Info),
                    NodesMessage nodes => Item("nodes", nodes.Nodes),
                    _ => Item("ready", new { }),
                };
            }

            if (points.Count > 0)
            {
                yield return Item("points", Group(points));
                points.Clear();
            }
        }
    }

    private static SseItem<string> Item<T>(string type, T value) => new(JsonSerializer.Serialize(value, s_json), type);

    private static Dictionary<string, List<double[]>> Group(IEnumerable<ChartPoint> points)
    {
        var series = new Dictionary<string, List<double[]>>(StringComparer.Ordinal);
        foreach (ChartPoint point in points)
        {
            if (!series.TryGetValue(point.Series, out List<double[]>? list))
            {
                list = [];
                series[point.Series] = list;
            }

            list.Add([point.X, point.Y]);
        }

        return series;
    }
}
