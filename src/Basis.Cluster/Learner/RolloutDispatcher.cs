using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using Basis.Cluster.Membership;
using Basis.Cluster.Protocol;
using Basis.Training.Graph;

namespace Basis.Cluster.Learner;

/// <summary>
/// The learner's work-pulling dispatcher (<c>/user/basis-rollouts</c>). Proxies submit chunks;
/// rollout nodes' free slots ask for work and get one chunk each. Every chunk has at most one owner
/// at a time: when its node becomes unreachable or is removed the chunk goes back to the front of
/// the queue as a new attempt, and only the current attempt's result completes it, so a late result
/// (from a node that was downed, or came back after its work was handed on) is dropped and each
/// (step, slot) reaches the graph exactly once. How much work exists is the graph's business: it
/// runs ceil(max-outstanding / chunk-size) proxies that each keep one chunk here.
/// </summary>
internal sealed class RolloutDispatcher : ReceiveActor
{
    private readonly SessionInfo _session;
    private readonly int _maxAttempts;
    private readonly TextWriter _log;
    private readonly Dictionary<long, Work> _work = [];
    private readonly LinkedList<long> _queue = new();
    private readonly LinkedList<IActorRef> _idle = new();
    private readonly ILoggingAdapter _akkaLog = Context.GetLogger();
    private readonly Akka.Cluster.Cluster? _cluster;

    public RolloutDispatcher(SessionInfo session, int maxAttempts, TextWriter log, bool watchCluster)
    {
        _session = session;
        _maxAttempts = maxAttempts;
        _log = log;
        if (watchCluster)
        {
            _cluster = Akka.Cluster.Cluster.Get(Context.System);
            _cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents, typeof(ClusterEvent.UnreachableMember), typeof(ClusterEvent.MemberRemoved));
        }

        Receive<Submit>(OnSubmit);
        Receive<Cancel>(c => Forget(c.WorkId));
        Receive<RequestWork>(_ => OnRequest(Sender));
        Receive<WorkDone>(OnDone);
        Receive<WorkFailed>(OnFailed);
        Receive<GetSession>(g => Sender.Tell(g.SessionId == _session.SessionId ? _session : new WeightsUnavailable(g.SessionId, -1, $"session {g.SessionId:N} is not this learner's ({_session.SessionId:N})")));
        Receive<NodeLost>(n => OnNodeLost(n.Address, n.Address.ToString(), n.Reason));
        Receive<ClusterEvent.UnreachableMember>(u => OnNodeLost(u.Member.Address, NodeNames.Of(u.Member.Roles, u.Member.Address.ToString()), "unreachable"));
        Receive<ClusterEvent.MemberRemoved>(r => OnNodeLost(r.Member.Address, NodeNames.Of(r.Member.Roles, r.Member.Address.ToString()), "removed from the cluster"));
        Receive<ClusterEvent.IMemberEvent>(_ => { });
        Receive<GetStats>(_ => Sender.Tell(new DispatcherStats(_queue.Count, _work.Values.Count(w => w.Owner is not null), _idle.Count, DroppedResults)));
    }

    /// <summary>Results that arrived for an attempt that was no longer current.</summary>
    public int DroppedResults { get; private set; }

    public static Props Props(SessionInfo session, int maxAttempts, TextWriter log, bool watchCluster = true) =>
        Akka.Actor.Props.Create(() => new RolloutDispatcher(session, maxAttempts, log, watchCluster));

    protected override void PostStop()
    {
        _cluster?.Unsubscribe(Self);

        foreach (Work work in _work.Values)
        {
            work.ReplyTo.Tell(new Status.Failure(new OperationCanceledException("the learner's dispatcher stopped")));
        }
    }

    private void OnSubmit(Submit submit)
    {
        _work[submit.WorkId] = new Work(submit, Sender);
        _queue.AddLast(submit.WorkId);
        Dispatch();
    }

    private void OnRequest(IActorRef slot)
    {
        // Only members that are up get work: a node of another cluster (one that still belongs to a learner's
        // earlier incarnation at this address) would take chunks whose loss this cluster could never notice.
        if (_cluster is not null && !_cluster.State.Members.Any(m => m.Status == MemberStatus.Up && m.Address.Equals(slot.Path.Address)))
        {
            return;
        }

        if (!_idle.Contains(slot))
        {
            _idle.AddLast(slot);
        }

        Dispatch();
    }

    private void Dispatch()
    {
        while (_queue.First is { } first && _idle.First is { } slot)
        {
            _queue.RemoveFirst();
            _idle.RemoveFirst();
            Work work = _work[first.Value];
            work.Attempt++;
            work.Owner = slot.Value;
            Submit s = work.Submit;
            var items = s.Chunk.Items.Select(i => new RemoteItem(i.Slot, i.GroupIndex, i.Prompt.Id, i.Prompt.Text, i.Seed)).ToArray();
            slot.Value.Tell(new WorkAssignment(s.WorkId, work.Attempt, _session.SessionId, s.Chunk.Step, s.MinVersion, items), Self);
        }
    }

    private bool IsCurrent(long workId, int attempt, out Work work) =>
        _work.TryGetValue(workId, out work!) && work.Owner is not null && work.Attempt == attempt && work.Owner.Equals(Sender);

    private void OnDone(WorkDone done)
    {
        if (!IsCurrent(done.WorkId, done.Attempt, out Work work))
        {
            DroppedResults++;
            _akkaLog.Info("dropped a result of chunk {0} attempt {1} from {2}: not the chunk's current attempt", done.WorkId, done.Attempt, Sender.Path.Address);
            return;
        }

        IReadOnlyList<WorkItem> items = work.Submit.Chunk.Items;
        if (done.Results.Length != items.Count)
        {
            Fail(work, $"chunk {done.WorkId} came back with {done.Results.Length} rollouts for {items.Count} items");
            return;
        }

        var rollouts = new Rollout[items.Count];
        for (int i = 0; i < rollouts.Length; i++)
        {
            RolloutResult r = done.Results[i];
            rollouts[i] = new Rollout(items[i], r.Completion, r.PromptTokens, r.CompletionTokens, r.BehaviourLogProbs, r.PolicyVersion);
        }

        _work.Remove(done.WorkId);
        work.ReplyTo.Tell(new ChunkDone(rollouts));
    }

    private void OnFailed(WorkFailed failed)
    {
        if (!IsCurrent(failed.WorkId, failed.Attempt, out Work work))
        {
            DroppedResults++;
            return;
        }

        work.LastError = $"{failed.Error} (node {Sender.Path.Address})";
        work.Failures++;
        if (work.Failures >= _maxAttempts)
        {
            Fail(work, $"chunk {work.Submit.WorkId} (step {work.Submit.Chunk.Step}, slots {string.Join(',', work.Submit.Chunk.Items.Select(i => i.Slot))}) failed {work.Failures} attempts without a result (basis.cluster.max-attempts); last error: {work.LastError}");
            return;
        }

        Requeue(work);
    }

    private void OnNodeLost(Address address, string name, string reason)
    {
        for (LinkedListNode<IActorRef>? slot = _idle.First; slot is not null;)
        {
            LinkedListNode<IActorRef>? next = slot.Next;
            if (slot.Value.Path.Address.Equals(address))
            {
                _idle.Remove(slot);
            }

            slot = next;
        }

        var lost = _work.Values.Where(w => w.Owner is not null && w.Owner.Path.Address.Equals(address)).OrderByDescending(w => w.Submit.WorkId).ToList();
        foreach (Work work in lost)
        {
            Requeue(work);
        }

        if (lost.Count > 0)
        {
            _log.WriteLine($"[cluster] node {name} is {reason}: {lost.Count} chunk{(lost.Count == 1 ? string.Empty : "s")} ({lost.Sum(w => w.Submit.Chunk.Items.Count)} rollouts) handed to other nodes");
        }

        Dispatch();
    }

    // Back to the front: the oldest work finishes first, so a step's batch is not held up by a lost node longer than needed.
    // A lost node does not count against max-attempts: nodes come and go (a partition, the split brain resolver) and the
    // work itself was not at fault.
    private void Requeue(Work work)
    {
        work.Owner = null;
        _queue.AddFirst(work.Submit.WorkId);
        Dispatch();
    }

    private void Fail(Work work, string message)
    {
        _work.Remove(work.Submit.WorkId);
        _log.WriteLine($"[cluster] {message}");
        work.ReplyTo.Tell(new Status.Failure(new ClusterWorkFailedException(message)));
    }

    private void Forget(long workId)
    {
        if (_work.Remove(workId))
        {
            _queue.Remove(workId);
        }
    }

    /// <summary>A proxy's chunk; the reply is <see cref="ChunkDone"/> or a <see cref="Status.Failure"/>.</summary>
    public sealed record Submit(long WorkId, long MinVersion, WorkChunk Chunk);

    /// <summary>The proxy gave up on its chunk (the run is stopping): a result that still comes is dropped.</summary>
    public sealed record Cancel(long WorkId);

    /// <summary>The chunk's rollouts in item order.</summary>
    public sealed record ChunkDone(IReadOnlyList<Rollout> Rollouts);

    /// <summary>Hands back the work of a node (what the cluster's unreachable and removed events say; tests send it directly).</summary>
    public sealed record NodeLost(Address Address, string Reason);

    public sealed record GetStats
    {
        public static readonly GetStats Instance = new();
    }

    public sealed record DispatcherStats(int Queued, int Assigned, int IdleSlots, int DroppedResults);

    private sealed class Work(Submit submit, IActorRef replyTo)
    {
        public Submit Submit { get; } = submit;

        public IActorRef ReplyTo { get; } = replyTo;

        /// <summary>Assignments so far; the current one is the only one whose result counts.</summary>
        public int Attempt { get; set; }

        /// <summary>Assignments that ended in a generation error (max-attempts counts these).</summary>
        public int Failures { get; set; }

        public IActorRef? Owner { get; set; }

        public string? LastError { get; set; }
    }
}
