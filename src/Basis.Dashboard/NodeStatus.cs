namespace Basis.Dashboard;

/// <summary>One node of a run as the nodes panel shows it.</summary>
/// <param name="Name">The node's name (host and process, or "embedded (single node)").</param>
/// <param name="Role">What it runs: learner, generators, verifiers.</param>
/// <param name="State">running, finished, lost, ...</param>
/// <param name="LastSeen">Its last heartbeat; null when it has none (the embedded node).</param>
/// <param name="Detail">One more line: the journal, the work it holds.</param>
public sealed record NodeStatus(string Name, string Role, string State, DateTimeOffset? LastSeen, string Detail);

/// <summary>
/// Where the nodes panel reads the run's nodes. A cluster run answers from its membership table; a
/// single-process (SQLite) run has one embedded node.
/// </summary>
public interface INodeStatusSource
{
    /// <summary>"embedded" or "cluster": the panel's title says which.</summary>
    string Mode { get; }

    ValueTask<IReadOnlyList<NodeStatus>> GetNodesAsync(CancellationToken cancellationToken);
}

/// <summary>The one node of a run that trains in a single process with its journal in the run folder.</summary>
public sealed class EmbeddedNodeStatusSource : INodeStatusSource
{
    public const string NodeName = "embedded (single node)";

    private readonly string _runFolder;
    private readonly string _journal;

    public EmbeddedNodeStatusSource(string runFolder, string journal)
    {
        ArgumentException.ThrowIfNullOrEmpty(runFolder);
        ArgumentException.ThrowIfNullOrEmpty(journal);
        _runFolder = runFolder;
        _journal = journal;
    }

    public string Mode => "embedded";

    public ValueTask<IReadOnlyList<NodeStatus>> GetNodesAsync(CancellationToken cancellationToken)
    {
        string state = RunState.Read(_runFolder);
        IReadOnlyList<NodeStatus> nodes = [new NodeStatus(NodeName, "learner, generators and verifiers in one process", state, null, _journal)];
        return ValueTask.FromResult(nodes);
    }
}
