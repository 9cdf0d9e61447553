using System.Text.Json;
using System.Threading.Channels;
using Basis.Training.Journal;

namespace Basis.Dashboard;

/// <summary>A change the feed pushes to its subscribers.</summary>
public abstract record FeedMessage;

/// <summary>New chart points, in the order they were read.</summary>
public sealed record PointsMessage(IReadOnlyList<ChartPoint> Points) : FeedMessage;

/// <summary>The run's header or chart notes changed.</summary>
public sealed record InfoMessage(RunInfo Info) : FeedMessage;

/// <summary>The nodes panel changed.</summary>
public sealed record NodesMessage(IReadOnlyList<NodeStatus> Nodes) : FeedMessage;

/// <summary>Every source has read its history: what follows is live.</summary>
public sealed record ReadyMessage : FeedMessage;

/// <summary>Everything the feed holds at one moment.</summary>
public sealed record FeedSnapshot(RunInfo Info, IReadOnlyList<ChartPoint> Points, IReadOnlyList<NodeStatus> Nodes, bool Ready);

/// <summary>A subscriber's view: the snapshot taken when it subscribed, then every change after it, none missed or repeated.</summary>
public sealed class FeedSubscription : IDisposable
{
    private readonly RunFeed _feed;
    private readonly Channel<FeedMessage> _channel;

    internal FeedSubscription(RunFeed feed, FeedSnapshot snapshot, Channel<FeedMessage> channel)
    {
        _feed = feed;
        _channel = channel;
        Snapshot = snapshot;
    }

    public FeedSnapshot Snapshot { get; }

    /// <summary>Completes when the feed stops, or when this subscriber fell too far behind (it should subscribe again).</summary>
    public ChannelReader<FeedMessage> Messages => _channel.Reader;

    public void Dispose() => _feed.Unsubscribe(_channel);
}

/// <summary>Timing of a <see cref="RunFeed"/>.</summary>
public sealed class RunFeedOptions
{
    /// <summary>How often the run folder's CSV files are read again (the journal's live queries poll on their own interval).</summary>
    public TimeSpan FilePollInterval { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How often the nodes panel is refreshed.</summary>
    public TimeSpan NodePollInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Messages a subscriber may have pending; one that falls further behind is dropped and re-subscribes.</summary>
    public int SubscriberCapacity { get; init; } = 4096;

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}

/// <summary>
/// Follows one run: its journal's formed batches (by tag) and learner stream (by persistence id), the
/// run folder's metrics.csv, queues.csv and value-mse.json, and the nodes. It keeps every chart point (a run has a few
/// thousand steps) so a page that connects late gets the whole history, then the changes.
/// </summary>
public sealed class RunFeed : IAsyncDisposable
{
    private const int CatchUpChunk = 512;
    private const int SourcesWithHistory = 3;

    private readonly JournalQuery _journal;
    private readonly string _runFolder;
    private readonly INodeStatusSource _nodes;
    private readonly RunFeedOptions _options;
    private readonly Lock _gate = new();
    private readonly List<ChartPoint> _points = [];
    private readonly List<Channel<FeedMessage>> _subscribers = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private IReadOnlyList<NodeStatus> _nodeList = [];
    private RunStarted? _runStarted;
    private string _state;
    private bool _metricsFound;
    private bool _valueMseFound;
    private bool _queuesFound;
    private string? _error;
    private RunInfo _info;
    private int _catchingUp = SourcesWithHistory;
    private Task _work = Task.CompletedTask;
    private int _started;

    public RunFeed(JournalQuery journal, string runFolder, INodeStatusSource nodes, RunFeedOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(journal);
        ArgumentException.ThrowIfNullOrEmpty(runFolder);
        ArgumentNullException.ThrowIfNull(nodes);
        _journal = journal;
        _runFolder = Path.GetFullPath(runFolder);
        _nodes = nodes;
        _options = options ?? new RunFeedOptions();
        _state = RunState.Read(_runFolder);
        _info = BuildInfo();
    }

    public bool Ready
    {
        get
        {
            lock (_gate)
            {
                return _catchingUp == 0;
            }
        }
    }

    /// <summary>
    /// Completes once every source has read its history (a source that fails counts as done, its error is in the
    /// run info); cancelled if the feed is disposed first. Waiting here rather than on a subscription's
    /// <see cref="ReadyMessage"/> cannot be cut short by the subscription being dropped for falling behind.
    /// </summary>
    public Task WhenReady => _ready.Task;

    /// <summary>Starts following the run; once.</summary>
    public void Start()
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException("The feed is already started.");
        }

        CancellationToken stop = _stop.Token;
        _work = Task.WhenAll(
            Guard("the journal's batches", FollowBatchesAsync, stop),
            Guard("the journal's learner stream", FollowLearnerAsync, stop),
            Guard("the run folder's CSV files", FollowFilesAsync, stop),
            Guard("the nodes", (_, ct) => FollowNodesAsync(ct), stop, hasHistory: false));
    }

    public FeedSnapshot Snapshot()
    {
        lock (_gate)
        {
            return new FeedSnapshot(_info, _points.ToArray(), _nodeList, _catchingUp == 0);
        }
    }

    public FeedSubscription Subscribe()
    {
        var channel = Channel.CreateBounded<FeedMessage>(new BoundedChannelOptions(_options.SubscriberCapacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
        lock (_gate)
        {
            var snapshot = new FeedSnapshot(_info, _points.ToArray(), _nodeList, _catchingUp == 0);
            if (_stop.IsCancellationRequested)
            {
                channel.Writer.TryComplete();
            }
            else
            {
                _subscribers.Add(channel);
            }

            return new FeedSubscription(this, snapshot, channel);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        await _work.ConfigureAwait(false);
        _ready.TrySetCanceled();
        lock (_gate)
        {
            foreach (Channel<FeedMessage> subscriber in _subscribers)
            {
                subscriber.Writer.TryComplete();
            }

            _subscribers.Clear();
        }

        _stop.Dispose();
    }

    internal void Unsubscribe(Channel<FeedMessage> channel)
    {
        lock (_gate)
        {
            _subscribers.Remove(channel);
        }

        channel.Writer.TryComplete();
    }

    private async Task Guard(string source, Func<Action, CancellationToken, Task> follow, CancellationToken stop, bool hasHistory = true)
    {
        int caughtUp = 0;
        void CaughtUpOnce()
        {
            if (Interlocked.Exchange(ref caughtUp, 1) == 0)
            {
                CaughtUp();
            }
        }

        try
        {
            await follow(CaughtUpOnce, stop).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Shutting down.
        }
        catch (Exception e)
        {
            // The page says what broke; the other sources go on.
            lock (_gate)
            {
                _error = $"Reading {source} failed: {e.Message}";
                PublishInfoLocked();
            }

            if (hasHistory)
            {
                CaughtUpOnce();
            }
        }
    }

    private async Task FollowBatchesAsync(Action caughtUp, CancellationToken cancellationToken)
    {
        long offset = 0;
        var pending = new List<ChartPoint>();
        await foreach (JournalEvent envelope in _journal.CurrentEventsByTag("batch", 0, cancellationToken).ConfigureAwait(false))
        {
            offset = envelope.Ordering;
            pending.AddRange(JournalPoints.From(envelope.Event));
            if (pending.Count >= CatchUpChunk)
            {
                Publish(pending);
                pending = [];
            }
        }

        Publish(pending);
        caughtUp();
        await foreach (JournalEvent envelope in _journal.EventsByTag("batch", offset, cancellationToken).ConfigureAwait(false))
        {
            Publish([.. JournalPoints.From(envelope.Event)]);
        }
    }

    private async Task FollowLearnerAsync(Action caughtUp, CancellationToken cancellationToken)
    {
        long sequence = 0;
        var pending = new List<ChartPoint>();
        await foreach (JournalEvent envelope in _journal.CurrentEventsByPersistenceId(TrainingJournal.LearnerId, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            sequence = envelope.SequenceNumber;
            Take(envelope.Event, pending);
        }

        Publish(pending);
        caughtUp();
        await foreach (JournalEvent envelope in _journal.EventsByPersistenceId(TrainingJournal.LearnerId, sequence + 1, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            pending = [];
            Take(envelope.Event, pending);
            Publish(pending);
        }
    }

    private void Take(object @event, List<ChartPoint> points)
    {
        if (@event is RunStarted started)
        {
            lock (_gate)
            {
                _runStarted = started;
                PublishInfoLocked();
            }
        }
        else
        {
            points.AddRange(JournalPoints.From(@event));
        }
    }

    private async Task FollowFilesAsync(Action caughtUp, CancellationToken cancellationToken)
    {
        var metrics = new CsvTail(Path.Combine(_runFolder, MetricsPoints.FileName));
        var queues = new CsvTail(Path.Combine(_runFolder, QueueDepthLog.FileName));
        string valueMse = Path.Combine(_runFolder, ValueMseFile.FileName);
        DateTime valueMseRead = DateTime.MinValue;
        var valueMsePublished = new HashSet<ChartPoint>();
        bool first = true;
        while (true)
        {
            var points = new List<ChartPoint>();
            CsvChunk? metricsChunk = metrics.ReadAppended();
            if (metricsChunk is not null)
            {
                points.AddRange(MetricsPoints.From(metricsChunk.Header, metricsChunk.Rows));
            }

            CsvChunk? queuesChunk = queues.ReadAppended();
            if (queuesChunk is not null)
            {
                points.AddRange(QueueDepthLog.Points(queuesChunk.Header, queuesChunk.Rows));
            }

            // mse-bench writes the whole file at once: read it again when it changes, publish only figures not yet sent.
            DateTime written = File.Exists(valueMse) ? File.GetLastWriteTimeUtc(valueMse) : DateTime.MinValue;
            if (written != valueMseRead)
            {
                try
                {
                    points.AddRange(ValueMseFile.Parse(await File.ReadAllTextAsync(valueMse, cancellationToken).ConfigureAwait(false)).Where(valueMsePublished.Add));
                    valueMseRead = written;
                }
                catch (Exception e) when (e is JsonException or IOException)
                {
                    // Still being written: the next poll reads it whole.
                }
            }

            Publish(points);
            string state = RunState.Read(_runFolder);
            lock (_gate)
            {
                bool valueMseFound = valueMseRead != DateTime.MinValue;
                if (state != _state || (metricsChunk is not null) != _metricsFound || valueMseFound != _valueMseFound || (queuesChunk is not null) != _queuesFound)
                {
                    _state = state;
                    _metricsFound = metricsChunk is not null;
                    _valueMseFound = valueMseFound;
                    _queuesFound = queuesChunk is not null;
                    PublishInfoLocked();
                }
            }

            if (first)
            {
                first = false;
                caughtUp();
            }

            await Task.Delay(_options.FilePollInterval, _options.TimeProvider, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task FollowNodesAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            IReadOnlyList<NodeStatus> nodes;
            try
            {
                nodes = await _nodes.GetNodesAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                nodes = [new NodeStatus("nodes unavailable", string.Empty, "error", null, e.Message)];
            }

            lock (_gate)
            {
                if (!nodes.SequenceEqual(_nodeList))
                {
                    _nodeList = nodes;
                    Broadcast(new NodesMessage(nodes));
                }
            }

            await Task.Delay(_options.NodePollInterval, _options.TimeProvider, cancellationToken).ConfigureAwait(false);
        }
    }

    private void Publish(List<ChartPoint> points)
    {
        if (points.Count == 0)
        {
            return;
        }

        lock (_gate)
        {
            _points.AddRange(points);
            Broadcast(new PointsMessage(points));
        }
    }

    private void CaughtUp()
    {
        lock (_gate)
        {
            if (_catchingUp > 0 && --_catchingUp == 0)
            {
                Broadcast(new ReadyMessage());
                _ready.TrySetResult();
            }
        }
    }

    private void PublishInfoLocked()
    {
        _info = BuildInfo();
        Broadcast(new InfoMessage(_info));
    }

    // Called under _gate, so every subscriber sees the messages in one order, after its snapshot.
    private void Broadcast(FeedMessage message)
    {
        for (int i = _subscribers.Count - 1; i >= 0; i--)
        {
            if (!_subscribers[i].Writer.TryWrite(message))
            {
                // Too far behind: drop it rather than hold every other page back; it reconnects and starts from a snapshot.
                _subscribers[i].Writer.TryComplete();
                _subscribers.RemoveAt(i);
            }
        }
    }

    private RunInfo BuildInfo() => new(
        Path.GetFileName(_runFolder.TrimEnd(Path.DirectorySeparatorChar)),
        _runFolder,
        _journal.Target.Describe(),
        _state,
        _runStarted?.Estimator,
        _runStarted?.Seed,
        _runStarted?.BatchSize,
        _runStarted?.RolloutsPerPrompt,
        _nodes.Mode,
        ChartNotes.For(_runStarted?.Estimator, _metricsFound, _valueMseFound, _queuesFound),
        _error);
}
