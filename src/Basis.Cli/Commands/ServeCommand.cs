using System.CommandLine;
using Basis.Cli.Dashboard;
using Basis.Cluster.Membership;
using Basis.Dashboard;

namespace Basis.Cli.Commands;

/// <summary><c>basis serve RUN</c>: a live dashboard of a run, on 127.0.0.1 unless told otherwise.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var run = new Argument<string>("RUN") { Description = "The run folder (it holds journal.db, metrics.csv and, once the run ends, summary.json)." };
        var port = new Option<int>("--port") { Description = "The port to serve on (0 picks a free one).", DefaultValueFactory = _ => DashboardOptions.DefaultPort };
        var host = new Option<string>("--host") { Description = "The address to serve on; the default keeps the dashboard off the network.", DefaultValueFactory = _ => DashboardOptions.DefaultHost };
        var journal = new Option<string?>("--journal-connection")
        {
            Description = "Read the journal from this PostgreSQL connection string instead of RUN/journal.db (a run with basis.journal.provider = postgres).",
        };
        var command = new Command(
            "serve",
            "Serve a live dashboard of a training run: reward, held-out accuracy, beta, active set, value MSE, tokens per second, queue depths "
            + "and nodes (a cluster run's members from RUN/cluster-members.json), drawn from the run's journal (and its metrics.csv, value-mse.json, queues.csv) and updated while the run writes (docs/dashboard.md). Exit 2: no such run folder "
            + "or no journal; exit 1: the port is taken.")
        {
            run, port, host, journal,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            TextWriter stdout = parseResult.InvocationConfiguration.Output;
            TextWriter stderr = parseResult.InvocationConfiguration.Error;
            // A clustered run's learner keeps the members it sees in Akka's cluster state in the run folder.
            string runFolder = parseResult.GetValue(run)!;
            ClusterNodeStatusSource? nodes = File.Exists(Path.Combine(runFolder, MembersFile.FileName)) ? new ClusterNodeStatusSource(runFolder) : null;
            var options = new DashboardOptions
            {
                RunFolder = runFolder,
                Port = parseResult.GetValue(port),
                Host = parseResult.GetValue(host)!,
                JournalConnectionString = parseResult.GetValue(journal),
                Nodes = nodes,
            };
            DashboardServer server;
            try
            {
                server = await DashboardServer.StartAsync(options, cancellationToken);
            }
            catch (DashboardStartupException e)
            {
                stderr.WriteLine($"basis serve: {e.Message}");
                return e.ExitCode;
            }

            await using (server)
            {
                stdout.WriteLine($"basis serve: the dashboard of {Path.GetFullPath(options.RunFolder)} is at {server.Address} (Ctrl-C stops it)");
                using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, server.Stopping);
                try
                {
                    await Task.Delay(Timeout.Infinite, stop.Token);
                }
                catch (OperationCanceledException)
                {
                    // Ctrl-C or SIGTERM: a normal end.
                }
            }

            return 0;
        });
        return command;
    }
}
