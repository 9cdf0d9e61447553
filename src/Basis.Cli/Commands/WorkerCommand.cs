using System.CommandLine;
using Basis.Cluster;
using Basis.Cluster.Worker;
using Basis.Hocon;
using Basis.Hocon.Configuration;

namespace Basis.Cli.Commands;

/// <summary><c>basis worker</c>: a rollout node of the Akka cluster (docs/cluster.md).</summary>
internal static class WorkerCommand
{
    public const string DefaultConfig = "hocon/cluster.conf";

    /// <summary>Exit code when the cluster refuses this node (its TLS certificate is not the cluster's).</summary>
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
            Description = "Node id shown in the learner's log and on the dashboard (default: basis.cluster.node-id, else rollout-<host>-<pid>).",
        };
        var command = new Command(
            "worker",
            "Join the Akka cluster as a rollout node: ask the learner for work, sample it with the learner's policy (weights pulled by version, "
            + "checked by SHA-256) and send the rollouts back. Waits for the learner if it is not up yet and joins its next incarnation when it restarts. "
            + "Needs the cluster's TLS certificate (BASIS_CLUSTER_CERT, password in BASIS_CLUSTER_CERT_PASSWORD). Runs until Ctrl-C or SIGTERM, then leaves "
            + $"gracefully (its work goes to other nodes). Exit code 1 on a configuration error, {Refused} when the cluster refuses the node.");
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
                ClusterConfiguration configuration = ClusterConfig.Load(files);
                if (parseResult.GetValue(slotsOption) is int slots)
                {
                    configuration.Settings.Slots = slots >= 1 && slots <= 1024 ? slots : throw new ArgumentException($"--slots {slots}: must be between 1 and 1024.");
                }

                configuration.Settings.NodeId = parseResult.GetValue(nodeIdOption) ?? configuration.Settings.NodeId;
                node = new RolloutNode(configuration, output);
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
            catch (ClusterConfigurationException e)
            {
                error.WriteLine($"basis worker: {e.Message}");
                return Refused;
            }
        });
        return command;
    }
}
