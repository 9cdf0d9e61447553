using System.CommandLine;
using Basis.Cluster;
using Basis.Cluster.Worker;
using Basis.Hocon;
using Basis.Hocon.Configuration;

namespace Basis.Cli.Commands;

/// <summary><c>basis worker</c>: a rollout node of the PostgreSQL-coordinated cluster (docs/cluster.md).</summary>
internal static class WorkerCommand
{
    public const string DefaultConfig = "hocon/cluster.conf";

    /// <summary>Exit code when the cluster refuses this node (a wrong secret).</summary>
    public const int Refused = 3;

    public static Command Create()
    {
        var configOption = new Option<string[]>("--config")
        {
            Description = $"HOCON file layered on hocon/reference.conf (repeatable; later files win). Default: {DefaultConfig}.",
            DefaultValueFactory = _ => [],
        };
        var slotsOption = new Option<int?>("--slots")
        {
            Description = "Device slots this node offers, one generator each (default: basis.cluster.slots).",
        };
        var nodeIdOption = new Option<string?>("--node-id")
        {
            Description = "Stable node id (default: basis.cluster.node-id, else rollout-<host>-<pid>).",
        };
        var command = new Command(
            "worker",
            "Join the cluster as a rollout node: claim leased work items from PostgreSQL, sample them with the learner's published policy "
            + $"and write the results. Needs BASIS_PG and {Cluster.Membership.ClusterSecret.Variable}. Runs until Ctrl-C or SIGTERM, then leaves "
            + $"gracefully (its leased items go back to the queue). Exit code 1 on a configuration or database error, {Refused} when the cluster refuses the node.");
        command.Options.Add(configOption);
        command.Options.Add(slotsOption);
        command.Options.Add(nodeIdOption);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            TextWriter output = parseResult.InvocationConfiguration.Output;
            TextWriter error = parseResult.InvocationConfiguration.Error;
            string[] files = parseResult.GetValue(configOption) is { Length: > 0 } given ? given : [DefaultConfig];
            RolloutNode node;
            try
            {
                ClusterSettings settings = ClusterConfig.Load(files);
                settings.Role = "rollout";
                if (parseResult.GetValue(slotsOption) is int slots)
                {
                    settings.Slots = slots >= 1 && slots <= 1024 ? slots : throw new ArgumentException($"--slots {slots}: must be between 1 and 1024.");
                }

                settings.NodeId = parseResult.GetValue(nodeIdOption) ?? settings.NodeId;
                node = new RolloutNode(settings, output);
            }
            catch (Exception e) when (e is HoconException or HoconOptionsException or ArgumentException or FileNotFoundException)
            {
                error.WriteLine($"basis worker: {e.Message}");
                return 1;
            }

            try
            {
                await node.RunAsync(cancellationToken);
                return 0;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return 0;
            }
            catch (ClusterJoinRefusedException e)
            {
                error.WriteLine($"basis worker: {e.Message}");
                return Refused;
            }
            catch (Exception e) when (e is ClusterUnavailableException or ClusterWeightsException or Npgsql.NpgsqlException)
            {
                error.WriteLine($"basis worker: {e.Message}");
                return 1;
            }
        });
        return command;
    }
}
