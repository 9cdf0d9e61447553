using System.Text.Json;
using System.Text.Json.Serialization;

namespace Basis.Cluster.Membership;

/// <summary>One member of the cluster as the learner saw it (Akka's cluster state).</summary>
/// <param name="Name">The node id a rollout node was started with, else its Akka address.</param>
/// <param name="Status">Akka's member status in lower case (joining, up, leaving, exiting, down, removed), with "unreachable" when the failure detector says so.</param>
public sealed record MemberEntry(string Name, string Address, IReadOnlyList<string> Roles, string Status, DateTimeOffset Seen);

/// <summary>
/// <c>cluster-members.json</c> in the run folder: the learner rewrites it on every membership change,
/// and the dashboard (a separate process that does not join the cluster, so it needs no certificate
/// and never counts in the split brain resolver's decisions) reads it.
/// </summary>
public static class MembersFile
{
    public const string FileName = "cluster-members.json";

    private static readonly JsonSerializerOptions s_options = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.KebabCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public static void Write(string runDir, IReadOnlyList<MemberEntry> members)
    {
        Directory.CreateDirectory(runDir);
        string path = Path.Combine(runDir, FileName);
        File.WriteAllText(path + ".tmp", JsonSerializer.Serialize(members, s_options));
        File.Move(path + ".tmp", path, overwrite: true);
    }

    /// <summary>The members the learner last wrote; empty when the file does not exist (yet).</summary>
    public static IReadOnlyList<MemberEntry> Read(string runDir)
    {
        string path = Path.Combine(runDir, FileName);
        if (!File.Exists(path))
        {
            return [];
        }

        try
        {
            return JsonSerializer.Deserialize<List<MemberEntry>>(File.ReadAllText(path), s_options) ?? [];
        }
        catch (IOException)
        {
            return [];
        }
    }
}
