using Akka.Actor;
using Akka.Cluster;
using Akka.Remote;
using Basis.Cluster.Learner;
using Basis.Cluster.Membership;

namespace Basis.Cluster.Worker;

/// <summary>
/// A rollout node's view of the cluster. When a learner is up it starts the node's slots (once) and
/// points them at the learner's dispatcher; when that learner leaves or is removed it runs
/// coordinated shutdown, so <see cref="RolloutNode"/> makes a new ActorSystem that waits for the
/// learner's next incarnation (a resumed run). TLS handshakes that fail are reported, since a node
/// whose certificate the cluster does not accept would otherwise wait silently.
/// </summary>
internal sealed class NodeAgent : ReceiveActor
{
    private readonly Akka.Cluster.Cluster _cluster = Akka.Cluster.Cluster.Get(Context.System);
    private readonly ClusterSettings _settings;
    private readonly NodeCounters _counters;
    private readonly TextWriter _log;
    private readonly string _nodeId;
    private readonly Action<string> _refused;
    private readonly List<IActorRef> _slots = [];
    private Address? _learner;

    public NodeAgent(ClusterSettings settings, NodeCounters counters, TextWriter log, string nodeId, Action<string> refused)
    {
        _settings = settings;
        _counters = counters;
        _log = log;
        _nodeId = nodeId;
        _refused = refused;
        Receive<ClusterEvent.MemberUp>(e => OnUp(e.Member));
        Receive<ClusterEvent.MemberLeft>(e => OnGone(e.Member, "is leaving"));
        Receive<ClusterEvent.MemberExited>(e => OnGone(e.Member, "has left"));
        Receive<ClusterEvent.MemberDowned>(e => OnGone(e.Member, "was downed"));
        Receive<ClusterEvent.MemberRemoved>(e => OnGone(e.Member, "was removed"));
        Receive<ClusterEvent.IMemberEvent>(_ => { });
        Receive<AssociationErrorEvent>(OnAssociationError);
    }

    public static Props Props(ClusterSettings settings, NodeCounters counters, TextWriter log, string nodeId, Action<string> refused) =>
        Akka.Actor.Props.Create(() => new NodeAgent(settings, counters, log, nodeId, refused));

    protected override void PreStart()
    {
        _cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents, typeof(ClusterEvent.IMemberEvent));
        Context.System.EventStream.Subscribe(Self, typeof(AssociationErrorEvent));
    }

    protected override void PostStop()
    {
        _cluster.Unsubscribe(Self);
        Context.System.EventStream.Unsubscribe(Self);
    }

    private void OnUp(Member member)
    {
        if (member.HasRole(NodeNames.LearnerRole) && _learner is null)
        {
            _learner = member.Address;
            _log.WriteLine($"[worker] {_nodeId}: joined the cluster as {_cluster.SelfAddress}; the learner is {member.Address}");
            if (_slots.Count == 0)
            {
                var sessions = new SessionCache(_settings, _log, _nodeId);
                for (int s = 0; s < _settings.Slots; s++)
                {
                    _slots.Add(Context.ActorOf(RolloutSlot.Props(s, sessions, _settings, _counters, _log, _nodeId), $"slot-{s}"));
                }
            }

            var up = new RolloutSlot.LearnerUp(
                Context.ActorSelection(new RootActorPath(member.Address) / "user" / AkkaRolloutFleet.DispatcherName),
                Context.ActorSelection(new RootActorPath(member.Address) / "user" / AkkaRolloutFleet.WeightServerName));
            foreach (IActorRef slot in _slots)
            {
                slot.Tell(up);
            }
        }
    }

    private void OnGone(Member member, string what)
    {
        if (member.Address.Equals(_learner))
        {
            _learner = null;
            _log.WriteLine($"[worker] {_nodeId}: the learner {member.Address} {what}; leaving to join its next incarnation");
            CoordinatedShutdown.Get(Context.System).Run(CoordinatedShutdown.ClusterLeavingReason.Instance);
        }
    }

    private void OnAssociationError(AssociationErrorEvent error)
    {
        for (Exception? cause = error.Cause; cause is not null; cause = cause.InnerException)
        {
            if (cause is System.Security.Authentication.AuthenticationException || cause.Message.Contains("TLS", StringComparison.OrdinalIgnoreCase))
            {
                _refused($"the TLS handshake with {error.RemoteAddress} failed ({cause.Message.TrimEnd('.')})");
                return;
            }
        }
    }
}
