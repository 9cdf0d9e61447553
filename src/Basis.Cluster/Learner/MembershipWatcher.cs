using Akka.Actor;
using Akka.Cluster;
using Basis.Cluster.Membership;

namespace Basis.Cluster.Learner;

/// <summary>
/// Logs the learner's view of the cluster's membership (joins, unreachability, removals) and keeps
/// the run folder's <see cref="MembersFile"/> current for the dashboard.
/// </summary>
internal sealed class MembershipWatcher : ReceiveActor
{
    private readonly Akka.Cluster.Cluster _cluster = Akka.Cluster.Cluster.Get(Context.System);
    private readonly string _runDir;
    private readonly TextWriter _log;

    public MembershipWatcher(string runDir, TextWriter log)
    {
        _runDir = runDir;
        _log = log;
        Receive<ClusterEvent.MemberUp>(e => Changed(e.Member, "is up"));
        Receive<ClusterEvent.MemberJoined>(e => Changed(e.Member, "is joining"));
        Receive<ClusterEvent.MemberLeft>(e => Changed(e.Member, "is leaving"));
        Receive<ClusterEvent.MemberDowned>(e => Changed(e.Member, "is down"));
        Receive<ClusterEvent.MemberRemoved>(e => Changed(e.Member, "is removed"));
        Receive<ClusterEvent.UnreachableMember>(e => Changed(e.Member, "is unreachable"));
        Receive<ClusterEvent.ReachableMember>(e => Changed(e.Member, "is reachable again"));
        Receive<ClusterEvent.IClusterDomainEvent>(_ => { });
    }

    public static Props Props(string runDir, TextWriter log) => Akka.Actor.Props.Create(() => new MembershipWatcher(runDir, log));

    protected override void PreStart() =>
        _cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents, typeof(ClusterEvent.IMemberEvent), typeof(ClusterEvent.IReachabilityEvent));

    protected override void PostStop() => _cluster.Unsubscribe(Self);

    private void Changed(Member member, string what)
    {
        _log.WriteLine($"[cluster] node {NodeNames.Of(member.Roles, member.Address.ToString())} ({string.Join(", ", NodeNames.Kinds(member.Roles))}, {member.Address}) {what}");
        WriteFile();
    }

    private void WriteFile()
    {
        ClusterEvent.CurrentClusterState state = _cluster.State;
        var unreachable = state.Unreachable.Select(m => m.UniqueAddress).ToHashSet();
        DateTimeOffset now = DateTimeOffset.UtcNow;
        var members = state.Members
            .Select(m => new MemberEntry(
                NodeNames.Of(m.Roles, m.Address.ToString()),
                m.Address.ToString(),
                NodeNames.Kinds(m.Roles),
                unreachable.Contains(m.UniqueAddress) ? "unreachable" : m.Status.ToString().ToLowerInvariant(),
                now))
            .ToList();
        try
        {
            MembersFile.Write(_runDir, members);
        }
        catch (IOException e)
        {
            _log.WriteLine($"[cluster] could not write {MembersFile.FileName}: {e.Message}");
        }
    }
}
