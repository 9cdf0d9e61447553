using Basis.Cluster.Membership;
using Basis.Dashboard;

namespace Basis.Cli.Dashboard;

/// <summary>
/// The dashboard's nodes panel for a clustered run: the members the learner last saw in Akka's cluster
/// state, which it keeps in the run folder's <see cref="MembersFile"/> (read on each refresh).
/// </summary>
internal sealed class ClusterNodeStatusSource(string runDir) : INodeStatusSource
{
    public string Mode => "cluster";

    public ValueTask<IReadOnlyList<NodeStatus>> GetNodesAsync(CancellationToken cancellationToken)
    {
        IReadOnlyList<NodeStatus> nodes = MembersFile.Read(runDir)
            .Select(m => new NodeStatus(m.Name, string.Join(", ", m.Roles), m.Status, m.Seen, m.Address))
            .ToArray();
        return ValueTask.FromResult(nodes);
    }
}
