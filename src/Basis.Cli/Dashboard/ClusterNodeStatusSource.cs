using Basis.Cluster;
using Basis.Cluster.Membership;
using Basis.Dashboard;

namespace Basis.Cli.Dashboard;

/// <summary>The dashboard's nodes panel for a clustered run: the membership table, read on each refresh.</summary>
internal sealed class ClusterNodeStatusSource(ClusterDatabase database) : INodeStatusSource, IAsyncDisposable
{
    private readonly MemberTable _members = new(database);

    public string Mode => "cluster";

    public async ValueTask<IReadOnlyList<NodeStatus>> GetNodesAsync(CancellationToken cancellationToken)
    {
        IReadOnlyList<Member> members = await _members.ListAsync(cancellationToken).ConfigureAwait(false);
        return members
            .Select(m => new NodeStatus(m.NodeId, m.Roles, m.Status.ToText(), m.HeartbeatAt, $"{m.Address}, {m.Slots} slot{(m.Slots == 1 ? string.Empty : "s")}"))
            .ToArray();
    }

    public ValueTask DisposeAsync() => database.DisposeAsync();
}
