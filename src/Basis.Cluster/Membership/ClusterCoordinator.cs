using Basis.Cluster.Work;

namespace Basis.Cluster.Membership;

/// <summary>
/// The learner's watch over the membership, every <c>heartbeat-interval</c>: admits joining nodes
/// whose HMAC proves the secret and refuses the others, and downs nodes its failure detector gives
/// up on, returning their leased work to the queue at once (an expired lease is claimable anyway,
/// so nothing depends on this loop for safety, only for speed).
/// </summary>
public sealed class ClusterCoordinator : IAsyncDisposable
{
    private readonly ClusterDatabase _database;
    private readonly MemberTable _members;
    private readonly WorkQueue _queue;
    private readonly ClusterSecret _secret;
    private readonly ClusterSettings _settings;
    private readonly string _self;
    private readonly TextWriter _log;
    private readonly Func<IFailureDetector> _detectorFactory;
    private readonly Dictionary<(string Node, Guid Incarnation), IFailureDetector> _detectors = new();
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    public ClusterCoordinator(ClusterDatabase database, ClusterSettings settings, ClusterSecret secret, string selfNodeId, TextWriter log)
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(secret);
        _database = database;
        _members = new MemberTable(database);
        _queue = new WorkQueue(database);
        _settings = settings;
        _secret = secret;
        _self = selfNodeId;
        _log = log;
        _detectorFactory = FailureDetectorFactory.From(settings);
    }

    public void Start() => _loop = Task.Run(() => LoopAsync(_stop.Token), CancellationToken.None);

    /// <summary>One pass over the membership (the loop's body; tests call it directly with a manual clock).</summary>
    public async Task CheckAsync(CancellationToken cancellationToken)
    {
        DateTimeOffset now = _database.Time.GetUtcNow();
        IReadOnlyList<Member> members = await _members.ListAsync(cancellationToken).ConfigureAwait(false);
        var live = new HashSet<(string, Guid)>();
        foreach (Member member in members)
        {
            if (member.NodeId == _self || member.Status is MemberStatus.Down or MemberStatus.Refused)
            {
                continue;
            }

            if (member.Status == MemberStatus.Joining)
            {
                await AdmitAsync(member, cancellationToken).ConfigureAwait(false);
            }

            var key = (member.NodeId, member.Incarnation);
            live.Add(key);
            if (!_detectors.TryGetValue(key, out IFailureDetector? detector))
            {
                detector = _detectorFactory();
                _detectors[key] = detector;
            }

            detector.Heartbeat(member.HeartbeatAt);
            if (!detector.IsAvailable(now))
            {
                await DownAsync(member, detector.Describe(now), cancellationToken).ConfigureAwait(false);
            }
        }

        foreach ((string, Guid) gone in _detectors.Keys.Where(k => !live.Contains(k)).ToList())
        {
            _detectors.Remove(gone);
        }
    }

    private async Task AdmitAsync(Member member, CancellationToken cancellationToken)
    {
        if (_secret.Verify(member.Request, member.JoinHmac))
        {
            if (await _members.TransitionAsync(member.NodeId, member.Incarnation, MemberStatus.Joining, MemberStatus.Up, null, null, cancellationToken).ConfigureAwait(false))
            {
                _log.WriteLine($"[cluster] node {member.NodeId} ({member.Roles}, {member.Slots} slot{(member.Slots == 1 ? "" : "s")}, {member.Address}) is up");
            }
        }
        else if (await _members.TransitionAsync(member.NodeId, member.Incarnation, MemberStatus.Joining, MemberStatus.Refused, "its join HMAC does not match the cluster secret", null, cancellationToken).ConfigureAwait(false))
        {
            _log.WriteLine($"[cluster] refused node {member.NodeId} ({member.Address}): its join HMAC does not match the cluster secret");
        }
    }

    private async Task DownAsync(Member member, string why, CancellationToken cancellationToken)
    {
        // Only if no heartbeat arrived since we looked: never down a node on stale evidence.
        if (!await _members.TransitionAsync(member.NodeId, member.Incarnation, member.Status, MemberStatus.Down, $"unreachable: {why}", member.HeartbeatAt, cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        int released = await _queue.ReleaseOwnerAsync(member.NodeId, cancellationToken).ConfigureAwait(false);
        _log.WriteLine($"[cluster] node {member.NodeId} is down ({why}); {released} leased item{(released == 1 ? "" : "s")} back in the queue");
    }

    private async Task LoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await CheckAsync(cancellationToken).ConfigureAwait(false);
                await Task.Delay(_settings.HeartbeatInterval, _database.Time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (ClusterDatabase.IsUnavailable(e))
            {
                _log.WriteLine($"[cluster] membership check failed: {e.Message}");
                try
                {
                    await Task.Delay(_settings.HeartbeatInterval, _database.Time, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }

        _stop.Dispose();
    }
}
