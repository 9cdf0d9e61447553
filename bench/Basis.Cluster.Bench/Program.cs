using System.Diagnostics;
using System.Globalization;
using Akka.Actor;
using Akka.Cluster;
using Basis.Cluster.Hosting;
using Basis.Model;
using Basis.Model.Sampling;
using Basis.Tasks;
using Basis.Training.Graph;
using Basis.Training.Policy;

namespace Basis.Cluster.Bench;

/// <summary>
/// Scaling of the Akka cluster's work pulling: N real `basis worker` processes with the fixed-latency
/// generator (so the host's cores are not what is measured) join an in-process learner node over
/// TLS and serve its proxies, which keep max-outstanding rollouts out; throughput is rollouts per
/// second over a fixed window. Every node runs hocon/cluster.conf with a throwaway certificate.
/// Usage: dotnet run --project bench/Basis.Cluster.Bench -c Release -- [--workers 1,2,4,8] [--latency-ms 1000]
///        [--chunk 16] [--seconds 12]
/// BASIS_BENCH_VERBOSE=1 also prints the dispatcher's queue each second (work queued means the rollout nodes are the limit).
/// </summary>
public static class Program
{
    private const string Password = "bench-certificate-password";

    public static async Task<int> Main(string[] args)
    {
        int[] workers = Option(args, "--workers", "1,2,4,8").Split(',').Select(int.Parse).ToArray();
        int latencyMs = int.Parse(Option(args, "--latency-ms", "1000"), CultureInfo.InvariantCulture);
        int chunk = int.Parse(Option(args, "--chunk", "16"), CultureInfo.InvariantCulture);
        double seconds = double.Parse(Option(args, "--seconds", "12"), CultureInfo.InvariantCulture);

        double ideal = chunk * 1000.0 / latencyMs;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"fixed-latency generator: {latencyMs} ms per chunk of {chunk} rollouts, 1 slot per node (ideal {ideal:F1} rollouts/s per node); window {seconds} s; Akka.Remote over TLS"));
        Console.WriteLine("| rollout nodes | rollouts/s | per node | x one node | efficiency |");
        Console.WriteLine("|---|---|---|---|---|");
        double? single = null;
        foreach (int n in workers)
        {
            double throughput = await MeasureAsync(n, latencyMs, chunk, seconds);
            single ??= throughput / n;
            double speedup = throughput / single.Value;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {n} | {throughput:F1} | {throughput / n:F1} | {speedup:F2} | {speedup / n:P0} |"));
        }

        return 0;
    }

    private static async Task<double> MeasureAsync(int nodeCount, int latencyMs, int chunkSize, double seconds)
    {
        string folder = Directory.CreateTempSubdirectory("basis-cluster-bench-").FullName;
        string certificate = Path.Combine(folder, "cluster.pfx");
        ClusterCertificate.CreateSelfSigned(certificate, Password);
        int port = FreePort();
        string config = Path.Combine(folder, "bench.conf");
        File.WriteAllText(config, string.Create(CultureInfo.InvariantCulture, $$"""
            basis.cluster {
              max-outstanding = {{Math.Max(64, nodeCount * chunkSize * 4)}}
              worker { generator = "fixed-latency", latency = {{latencyMs}} ms }
            }
            akka {
              loglevel = WARNING
              remote.dot-netty.tcp.port = {{port}}
              cluster.seed-nodes = ["akka.ssl.tcp://basis@127.0.0.1:{{port}}"]
            }
            """));
        Environment.SetEnvironmentVariable("BASIS_CLUSTER_CERT", certificate);
        Environment.SetEnvironmentVariable(ClusterActorSystem.PasswordVariable, Password);
        var processes = new List<Process>();
        try
        {
            string root = RepositoryRoot();
            LearnerNode learner = LearnerNode.FromConfig([Path.Combine(root, "hocon/cluster.conf"), config], chunkSize, TextWriter.Null)!;
            await using (learner)
            {
                var model = new TransformerConfig(20, 8, 1, 1, 8, 16);
                var board = new WeightBoard<PolicyWeights>();
                board.Publish(0, PolicyWeights.Capture(new TransformerModel(model)));
                await learner.Fleet.StartAsync(new RolloutFleetContext(Path.Combine(folder, "run"), model, "0123456789+-*=", new SamplingOptions(), 0, board), CancellationToken.None);

                for (int w = 0; w < nodeCount; w++)
                {
                    processes.Add(StartWorker(root, config, certificate, $"bench-{w}"));
                }

                await WaitForUpAsync(learner.System, nodeCount);

                long done = 0;
                using var stop = new CancellationTokenSource();
                WorkChunk chunk = new(0, Enumerable.Range(0, chunkSize).Select(s => new WorkItem(0, s, 0, new TaskPrompt($"p{s}", "1+1=", "2", "easy", "exact"), null, (ulong)s)).ToArray());
                Task[] proxies = Enumerable.Range(0, learner.Fleet.Generators).Select(i => Task.Run(async () =>
                {
                    IRolloutWorker proxy = learner.Fleet.CreateWorker(i);
                    while (!stop.IsCancellationRequested)
                    {
                        try
                        {
                            await proxy.GenerateAsync(chunk, stop.Token);
                            Interlocked.Add(ref done, chunkSize);
                        }
                        catch (OperationCanceledException)
                        {
                            return;
                        }
                    }
                })).ToArray();

                // Warm up (JIT, first requests), then count over the window.
                await Task.Delay(TimeSpan.FromSeconds(2));
                long before = Interlocked.Read(ref done);
                var clock = Stopwatch.StartNew();
                var queued = new List<int>();
                while (clock.Elapsed.TotalSeconds < seconds)
                {
                    await Task.Delay(TimeSpan.FromSeconds(1));
                    queued.Add((await learner.Fleet.Dispatcher.Ask<Learner.RolloutDispatcher.DispatcherStats>(Learner.RolloutDispatcher.GetStats.Instance)).Queued);
                }

                long after = Interlocked.Read(ref done);
                double elapsed = clock.Elapsed.TotalSeconds;
                if (Verbose)
                {
                    Console.Error.WriteLine($"[bench] {nodeCount} nodes: chunks queued at the dispatcher, each second: {string.Join(' ', queued)}");
                }

                await stop.CancelAsync();
                await Task.WhenAll(proxies);
                return (after - before) / elapsed;
            }
        }
        finally
        {
            foreach (Process process in processes)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
                process.Dispose();
            }

            Directory.Delete(folder, recursive: true);
        }
    }

    private static Process StartWorker(string root, string config, string certificate, string nodeId)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string arg in new[] { "exec", Path.Combine(AppContext.BaseDirectory, "basis.dll"), "worker", "--config", "hocon/cluster.conf", "--config", config, "--node-id", nodeId, "--slots", "1" })
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["BASIS_CLUSTER_CERT"] = certificate;
        start.Environment[ClusterActorSystem.PasswordVariable] = Password;
        start.Environment["BASIS_HOME"] = root;
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null && Verbose)
            {
                Console.Error.WriteLine($"[{nodeId}] {e.Data}");
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task WaitForUpAsync(ActorSystem system, int count)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (Akka.Cluster.Cluster.Get(system).State.Members.Count(m => m.Status == MemberStatus.Up && m.HasRole("rollout")) < count)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{count} rollout nodes did not come up within 90 s.");
            }

            await Task.Delay(100);
        }
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string RepositoryRoot()
    {
        foreach (string start in new[] { Environment.GetEnvironmentVariable("BASIS_HOME") ?? string.Empty, Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (DirectoryInfo? directory = start.Length > 0 ? new(start) : null; directory is not null; directory = directory.Parent)
            {
                if (File.Exists(Path.Combine(directory.FullName, "hocon", "reference.conf")))
                {
                    return directory.FullName;
                }
            }
        }

        throw new DirectoryNotFoundException("no hocon/reference.conf above $BASIS_HOME, the current folder or the bench's folder; run from the repository root.");
    }

    private static bool Verbose => Environment.GetEnvironmentVariable("BASIS_BENCH_VERBOSE") == "1";

    private static string Option(string[] args, string name, string fallback)
    {
        int index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? args[index + 1] : fallback;
    }
}
