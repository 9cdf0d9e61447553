namespace Basis.Cluster.Membership;

/// <summary>
/// A node's id travels as an extra Akka role (<c>id:w-1</c>), so the learner's logs and the
/// dashboard name rollout nodes as they were started rather than by address. The split brain
/// resolver only counts the <c>learner</c> role.
/// </summary>
public static class NodeNames
{
    public const string LearnerRole = "learner";
    public const string RolloutRole = "rollout";
    private const string Prefix = "id:";

    public static string Role(string nodeId) => Prefix + nodeId;

    public static string Of(IEnumerable<string> roles, string fallback) =>
        roles.FirstOrDefault(r => r.StartsWith(Prefix, StringComparison.Ordinal)) is { } role ? role[Prefix.Length..] : fallback;

    public static IReadOnlyList<string> Kinds(IEnumerable<string> roles) => roles.Where(r => !r.StartsWith(Prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();

    public static string DefaultId(string role) => $"{role}-{Environment.MachineName}-{Environment.ProcessId}";
}
