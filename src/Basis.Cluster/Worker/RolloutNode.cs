using Basis.Cluster.Membership;
using Basis.Cluster.Weights;
using Basis.Cluster.Work;
using Basis.Tasks;
using Basis.Training.Graph;

namespace Basis.Cluster.Worker;

/// <summary>
/// A rollout node (<c>basis worker</c>): joins, waits to be admitted, then runs one loop per device
/// slot. Each free slot claims at most <c>claim-batch</c> items, samples them as one batch with the
/// session's policy at a version the staleness bound allows, and writes the results. Idle slots
/// sleep until a NOTIFY (new work, new weights) or the poll interval.
/// </summary>
public sealed class RolloutNode
{
    private readonly ClusterSettings _settings;
    private readonly TextWriter _log;
    private readonly TimeProvider? _time;
    private readonly Dictionary<Guid, Task<SessionRuntime>> _sessions = new();
    private readonly object _sessionsGate = new();
    private ClusterDatabase? _database;
    private ClusterNode? _node;
    private WorkQueue? _queue;
    private WeightStore? _weights;
    private long _items;
    private long _batches;

    public RolloutNode(ClusterSettings settings, TextWriter log, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(log);
        _settings = settings;
        _log = TextWriter.Synchronized(log);
        _time = time;
        _ = ClusterSecret.From(settings.Secret);
        NodeId = settings.NodeId ?? ClusterNode.DefaultNodeId("rollout");
    }

    public string NodeId { get; }

    /// <summary>Items generated and written so far.</summary>
    public long Items => Interlocked.Read(ref _items);

    /// <summary>Runs until <paramref name="cancellationToken"/> fires, then leaves the cluster gracefully.</summary>
    /// <exception cref="ClusterJoinRefusedException">The cluster refused this node.</exception>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        _database = await ClusterDatabase.OpenAsync(_settings.ConnectionString, _time, cancellationToken).ConfigureAwait(false);
        try
        {
            _queue = new WorkQueue(_database);
            _weights = new WeightStore(_database, _settings.Weights);
            await using var listener = new NotificationListener(_database, ClusterSchema.WorkChannel);
            _node = new ClusterNode(_database, _settings, ClusterSecret.From(_settings.Secret), NodeId, "rollout", _settings.Slots, _log, selfAdmit: false);
            await using (_node.ConfigureAwait(false))
            {
                await _node.StartAsync(cancellationToken).ConfigureAwait(false);
                _log.WriteLine($"[worker] node {NodeId} joined {_database.Target} with {_settings.Slots} slot{(_settings.Slots == 1 ? "" : "s")} ({_settings.Worker.Generator}); waiting to be admitted");
                await _node.WaitUntilUpAsync(cancellationToken).ConfigureAwait(false);
                _log.WriteLine($"[worker] node {NodeId} is up");
                await listener.Listening.WaitAsync(cancellationToken).ConfigureAwait(false);
                Task slots = Task.WhenAll(Enumerable.Range(0, _settings.Slots).Select(s => Task.Run(() => SlotLoopAsync(s, listener.Signal, cancellationToken), CancellationToken.None)));
                await Task.WhenAny(slots, Task.Delay(Timeout.Infinite, cancellationToken)).ConfigureAwait(false);
                if (!slots.IsCompleted)
                {
                    // Stopping: claim nothing more, deliver what is being written, then leave.
                    await LeaveQuietlyAsync().ConfigureAwait(false);
                }

                await slots.ConfigureAwait(false);
            }
        }
        finally
        {
            _log.WriteLine($"[worker] node {NodeId} stopped after {Items} items in {Interlocked.Read(ref _batches)} batches");
            await _database.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task SlotLoopAsync(int slot, Signal work, CancellationToken cancellationToken)
    {
        var pending = new PendingWrite();
        try
        {
            await ClaimLoopAsync(slot, work, pending, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await WriteOutQuietlyAsync(pending.Task, slot).ConfigureAwait(false);
        }
    }

    private async Task ClaimLoopAsync(int slot, Signal work, PendingWrite pending, CancellationToken cancellationToken)
    {
        TimeProvider time = _database!.Time;
        while (!cancellationToken.IsCancellationRequested)
        {
            Task wake = work.Next;
            IReadOnlyList<LeasedItem> leased = [];
            try
            {
                if (_node!.Status == MemberStatus.Refused)
                {
                    await _node.WaitUntilUpAsync(cancellationToken).ConfigureAwait(false);
                }

                leased = await _queue!.ClaimAsync(NodeId, _node.Incarnation, _settings.ClaimBatch, _settings.LeaseDuration, cancellationToken).ConfigureAwait(false);
                if (leased.Count == 0)
                {
                    await Signal.WaitAsync(wake, _settings.Worker.PollInterval, time, cancellationToken).ConfigureAwait(false);
                    continue;
                }

                foreach (IGrouping<(Guid Session, long Step), LeasedItem> batch in leased.GroupBy(i => (i.SessionId, i.Step)))
                {
                    (LeasedItem, ResultPayload)[] results = await GenerateAsync(slot, batch.Key.Session, batch.Key.Step, batch.ToList(), time, cancellationToken).ConfigureAwait(false);
                    await pending.Task.ConfigureAwait(false);
                    pending.Task = WriteAsync(results);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is not ClusterJoinRefusedException)
            {
                _log.WriteLine($"[worker] slot {slot}: {e.GetType().Name}: {e.Message}; giving its {leased.Count} items back");
                await ReleaseQuietlyAsync(leased, $"{e.GetType().Name}: {e.Message} (worker {NodeId})").ConfigureAwait(false);
                pending.Task = Task.CompletedTask;
                if (!await BackOffAsync(time, cancellationToken).ConfigureAwait(false))
                {
                    return;
                }
            }
        }
    }

    private async Task WriteAsync((LeasedItem, ResultPayload)[] results)
    {
        // Not cancelled by a stop: a graceful stop still delivers what was generated.
        await _queue!.CompleteAsync(NodeId, results, CancellationToken.None).ConfigureAwait(false);
        Interlocked.Add(ref _items, results.Length);
        Interlocked.Increment(ref _batches);
    }

    private async Task WriteOutQuietlyAsync(Task writing, int slot)
    {
        try
        {
            await writing.ConfigureAwait(false);
        }
        catch (Exception e) when (ClusterDatabase.IsUnavailable(e))
        {
            _log.WriteLine($"[worker] slot {slot}: could not write its last results ({e.Message}); their leases expire and others redo them");
        }
    }

    /// <summary>Waits a poll interval after a failure; false when the node is stopping.</summary>
    private async Task<bool> BackOffAsync(TimeProvider time, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(_settings.Worker.PollInterval, time, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private async Task<(LeasedItem, ResultPayload)[]> GenerateAsync(int slot, Guid sessionId, long step, List<LeasedItem> items, TimeProvider time, CancellationToken cancellationToken)
    {
        long started = time.GetTimestamp();
        SessionRuntime session = await SessionAsync(sessionId, cancellationToken).ConfigureAwait(false);
        long minimum = items.Max(i => i.MinVersion);
        if (await session.EnsureVersionAsync(minimum, cancellationToken).ConfigureAwait(false))
        {
            _log.WriteLine($"[worker] {NodeId}: run {session.Descriptor.RunId}: policy version {session.Version}");
        }

        var work = items.Select(i => new WorkItem(
            i.Step,
            i.Slot,
            i.Payload.GroupIndex,
            new TaskPrompt(i.Payload.PromptId, i.Payload.Prompt, Gold: string.Empty, Difficulty: string.Empty, Verifier: string.Empty),
            Offline: null,
            i.Payload.Seed)).ToArray();
        IReadOnlyList<Rollout> rollouts = await session.Generator(slot).GenerateAsync(new WorkChunk(step, work), cancellationToken).ConfigureAwait(false);

        TimeSpan remaining = _settings.Worker.Latency - time.GetElapsedTime(started);
        if (remaining > TimeSpan.Zero)
        {
            await Task.Delay(remaining, time, cancellationToken).ConfigureAwait(false);
        }

        var results = new (LeasedItem, ResultPayload)[items.Count];
        for (int i = 0; i < items.Count; i++)
        {
            Rollout r = rollouts[i];
            results[i] = (items[i], new ResultPayload(r.Completion, r.PromptTokens, r.CompletionTokens, r.BehaviourLogProbs, r.PolicyVersion));
        }

        return results;
    }

    private Task<SessionRuntime> SessionAsync(Guid sessionId, CancellationToken cancellationToken)
    {
        lock (_sessionsGate)
        {
            if (!_sessions.TryGetValue(sessionId, out Task<SessionRuntime>? runtime) || runtime.IsFaulted || runtime.IsCanceled)
            {
                runtime = LoadSessionAsync(sessionId, cancellationToken);
                _sessions[sessionId] = runtime;
            }

            return runtime;
        }
    }

    private async Task<SessionRuntime> LoadSessionAsync(Guid sessionId, CancellationToken cancellationToken)
    {
        SessionDescriptor descriptor = await new SessionTable(_database!).DescriptorAsync(sessionId, cancellationToken).ConfigureAwait(false);
        var runtime = new SessionRuntime(sessionId, descriptor, _weights!, _settings.Worker, _settings.Slots);
        _log.WriteLine($"[worker] {NodeId}: serving run {descriptor.RunId} (session {sessionId:N})");
        lock (_sessionsGate)
        {
            // A new learner session replaces the old ones: their work was cancelled.
            foreach (Guid old in _sessions.Keys.Where(k => k != sessionId).ToList())
            {
                _sessions.Remove(old);
            }
        }

        return runtime;
    }

    private async Task LeaveQuietlyAsync()
    {
        try
        {
            await _node!.BeginLeaveAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (ClusterDatabase.IsUnavailable(e))
        {
            _log.WriteLine($"[worker] {NodeId} could not record that it is leaving: {e.Message}");
        }
    }

    private async Task ReleaseQuietlyAsync(IReadOnlyList<LeasedItem> leased, string error)
    {
        if (leased.Count == 0)
        {
            return;
        }

        try
        {
            await _queue!.ReleaseAsync(NodeId, leased, CancellationToken.None, error).ConfigureAwait(false);
        }
        catch (Exception e) when (ClusterDatabase.IsUnavailable(e))
        {
            // Their leases expire instead.
        }
    }

    /// <summary>
    /// A slot's results in flight: written while the slot already claims and samples its next batch,
    /// so the write's round trip stays off the slot's critical path.
    /// </summary>
    private sealed class PendingWrite
    {
        public Task Task { get; set; } = Task.CompletedTask;
    }
}
