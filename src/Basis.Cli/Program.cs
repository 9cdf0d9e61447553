using System.CommandLine;
using Basis.Cli.Commands;

namespace Basis.Cli;

public static class Program
{
    public static int Main(string[] args)
    {
        RootCommand root = BuildRootCommand();

        // SIGTERM cancels the command; a cluster node then leaves the cluster gracefully, which takes a few gossip rounds.
        return root.Parse(args).Invoke(new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(20) });
    }

    public static RootCommand BuildRootCommand()
    {
        var root = new RootCommand("basis: reinforcement learning from verifiable rewards with BASIS advantages (one rollout per prompt, baselines from the rest of the batch).");
        root.Subcommands.Add(MseBenchCommand.Create());
        root.Subcommands.Add(ConfigCommand.Create());
        root.Subcommands.Add(VerifyCommand.Create());
        root.Subcommands.Add(TrainCommand.Create());
        root.Subcommands.Add(OfflineTableCommand.Create());
        root.Subcommands.Add(ReplayCommand.Create());
        root.Subcommands.Add(CompareCommand.Create());
        root.Subcommands.Add(WorkerCommand.Create());
        root.Subcommands.Add(EvalCommand.Create());
        root.Subcommands.Add(ServeCommand.Create());
        return root;
    }
}
