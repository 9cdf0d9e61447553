using System.Globalization;

namespace Basis.Cluster.Membership;

/// <summary>
/// This process as a cluster member: joins with an HMAC of the secret, heartbeats every
/// <c>heartbeat-interval</c> (which also renews its leases), and joins again with a new incarnation
/// if the others declared it down (say after a long pause), so it never works on a stale identity.
/// </summary>
public sealed class ClusterNode : IAsyncDisposable
{
    private readonly ClusterDatabase _database;
    private readonly MemberTable _members;
    private readonly ClusterSettings _settings;
    private readonly ClusterSecret _secret;
    private readonly TextWriter _log;
    private readonly bool _selfAdmit;
    private readonly CancellationTokenSource _stop = new();
    private TaskCompletionSource _up = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _heartbeats;
    private volatile NodeState _state = new(Guid.Empty, MemberStatus.Joining);

    /// <param name="selfAdmit">The learner admits itself (it verifies the others); rollout nodes wait for admission.</param>
    public ClusterNode(ClusterDatabase database, ClusterSettings settings, ClusterSecret secret, string nodeId, string roles, int slots, TextWriter log, bool selfAdmit)
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(secret);
        ArgumentException.ThrowIfNullOrEmpty(nodeId);
        _database = database;
        _members = new MemberTable(database);
        _settings = settings;
        _secret = secret;
        _log = log;
        _selfAdmit = selfAdmit;
        NodeId = nodeId;
        Roles = roles;
        Slots = slots;
    }

    public string NodeId { get; }

    public string Roles { get; }

    public int Slots { get; }

    public Guid Incarnation => _state.Incarnation;

    public MemberStatus Status => _state.Status;

    /// <summary>A node id for this process when none is configured: role, host and process id.</summary>
    public static string DefaultNodeId(string role) =>
        string.Create(CultureInfo.InvariantCulture, $"{role}-{Environment.MachineName}-{Environment.ProcessId}");

    /// <summary>Joins and starts heartbeating. Rollout nodes then wait in <see cref="WaitUntilUpAsync"/>.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await JoinAsync(cancellationToken).ConfigureAwait(false);
        _heartbeats = Task.Run(() => HeartbeatLoopAsync(_stop.Token), CancellationToken.None);
    }

    /// <summary>Completes when the node is up.</summary>
    /// <exception cref="ClusterJoinRefusedException">The cluster refused this node.</exception>
    public Task WaitUntilUpAsync(CancellationToken cancellationToken) => Volatile.Read(ref _up).Task.WaitAsync(cancellationToken);

    private async Task JoinAsync(CancellationToken cancellationToken)
    {
        var incarnation = Guid.NewGuid();
        var request = new JoinRequest(NodeId, incarnation, Roles, $"{Environment.MachineName}/{Environment.ProcessId}", Slots);
        MemberStatus status = _selfAdmit ? MemberStatus.Up : MemberStatus.Joining;
        await _members.JoinAsync(request, _secret.Sign(request), status, cancellationToken).ConfigureAwait(false);
        _state = new NodeState(incarnation, MemberStatus.Joining);
        SetStatus(status, reason: null);
    }

    private void SetStatus(MemberStatus status, string? reason)
    {
        _state = _state with { Status = status };
        if (status == MemberStatus.Up)
        {
            Volatile.Read(ref _up).TrySetResult();
        }
        else if (status == MemberStatus.Refused)
        {
            Volatile.Read(ref _up).TrySetException(new ClusterJoinRefusedException(
                $"the cluster refused node '{NodeId}': {reason ?? "no reason given"}. Check that {ClusterSecret.Variable} holds the same secret as on the learner."));
        }
    }

    private async Task HeartbeatLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_settings.HeartbeatInterval, _database.Time, cancellationToken).ConfigureAwait(false);
                (MemberStatus Status, string? Reason)? seen = await _members.HeartbeatAsync(NodeId, Incarnation, _settings.LeaseDuration, cancellationToken).ConfigureAwait(false);
                if (seen is null || seen.Value.Status == MemberStatus.Down)
                {
                    // Declared dead while alive (a pause longer than the detector's patience): its
                    // leases were handed to others, so come back as a new incarnation.
                    _log.WriteLine($"[cluster] node {NodeId} was marked down ({seen?.Reason ?? "row removed"}); joining again");
                    _up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    await JoinAsync(cancellationToken).ConfigureAwait(false);
                    continue;
                }

                if (seen.Value.Status != Status)
                {
                    SetStatus(seen.Value.Status, seen.Value.Reason);
                }

                if (seen.Value.Status == MemberStatus.Refused)
                {
                    return;
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (ClusterDatabase.IsUnavailable(e))
            {
                // The others will down this node if the database stays away longer than their patience.
                _log.WriteLine($"[cluster] heartbeat of {NodeId} failed: {e.Message}");
            }
        }
    }

    /// <summary>
    /// Starts a graceful leave: the node claims nothing more (claims need <c>up</c>) while it finishes
    /// what it holds; the detector still watches it. <see cref="DisposeAsync"/> completes the leave.
    /// </summary>
    public async Task BeginLeaveAsync()
    {
        if (Status == MemberStatus.Up
            && await _members.TransitionAsync(NodeId, Incarnation, MemberStatus.Up, MemberStatus.Leaving, "leaving", null, CancellationToken.None).ConfigureAwait(false))
        {
            SetStatus(MemberStatus.Leaving, "leaving");
        }
    }

    /// <summary>Completes a leave: marked down at once, its leased work back in the queue.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_heartbeats is not null)
        {
            await _heartbeats.ConfigureAwait(false);
            try
            {
                await _members.LeaveAsync(NodeId, Incarnation, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (ClusterDatabase.IsUnavailable(e))
            {
                _log.WriteLine($"[cluster] {NodeId} could not record its leave ({e.Message}); the failure detector will down it");
            }
        }

        _stop.Dispose();
    }

    private sealed record NodeState(Guid Incarnation, MemberStatus Status);
}
