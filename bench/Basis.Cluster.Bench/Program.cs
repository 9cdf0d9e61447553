using System.Diagnostics;
using System.Globalization;
using Basis.Cluster;
using Basis.Cluster.Learner;
using Basis.Model;
using Basis.Model.Sampling;
using Basis.Tasks;
using Basis.Training.Graph;
using Basis.Training.Policy;
using Npgsql;

namespace Basis.Cluster.Bench;

/// <summary>
/// Scaling of the leased work queue: N real `basis worker` processes with the fixed-latency
/// generator (so the host's cores are not what is measured) serve an in-process learner's proxies,
/// which keep max-outstanding items enqueued; throughput is items per second over a fixed window.
/// Usage: dotnet run --project bench/Basis.Cluster.Bench -c Release -- [--workers 1,2,4,8] [--latency-ms 1000]
///        [--claim-batch 16] [--seconds 12] [--pg CONNECTION] (default: $BASIS_TEST_POSTGRES)
/// BASIS_BENCH_VERBOSE=1 also prints the queue depth each second (a full queue means the workers are the limit).
/// </summary>
public static class Program
{
    private const string Secret = "bench-cluster-secret";

    public static async Task<int> Main(string[] args)
    {
        int[] workers = Option(args, "--workers", "1,2,4,8").Split(',').Select(int.Parse).ToArray();
        int latencyMs = int.Parse(Option(args, "--latency-ms", "1000"), CultureInfo.InvariantCulture);
        int claimBatch = int.Parse(Option(args, "--claim-batch", "16"), CultureInfo.InvariantCulture);
        double seconds = double.Parse(Option(args, "--seconds", "12"), CultureInfo.InvariantCulture);
        string? server = Option(args, "--pg", Environment.GetEnvironmentVariable("BASIS_TEST_POSTGRES") ?? string.Empty);
        if (string.IsNullOrEmpty(server))
        {
            Console.Error.WriteLine("basis cluster bench: give --pg CONNECTION or set BASIS_TEST_POSTGRES.");
            return 1;
        }

        double ideal = claimBatch * 1000.0 / latencyMs;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"fixed-latency generator: {latencyMs} ms per batch of {claimBatch} items, 1 slot per worker (ideal {ideal:F1} items/s per worker); window {seconds} s"));
        Console.WriteLine("| workers | items/s | per worker | x one worker | efficiency |");
        Console.WriteLine("|---|---|---|---|---|");
        double? single = null;
        foreach (int n in workers)
        {
            double throughput = await MeasureAsync(server, n, latencyMs, claimBatch, seconds);
            single ??= throughput / n;
            double speedup = throughput / single.Value;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {n} | {throughput:F1} | {throughput / n:F1} | {speedup:F2} | {speedup / n:P0} |"));
        }

        return 0;
    }

    private static async Task<double> MeasureAsync(string server, int workerCount, int latencyMs, int claimBatch, double seconds)
    {
        string schema = $"bench_{Guid.NewGuid():N}";
        await ExecuteAsync(server, $"CREATE SCHEMA {schema}");
        string connectionString = new NpgsqlConnectionStringBuilder(server) { SearchPath = schema }.ConnectionString;
        string folder = Directory.CreateTempSubdirectory("basis-cluster-bench-").FullName;
        string config = Path.Combine(folder, "bench.conf");
        File.WriteAllText(config, string.Create(CultureInfo.InvariantCulture, $$"""
            basis.cluster {
              heartbeat-interval = 500 ms
              claim-batch = {{claimBatch}}
              worker { generator = "fixed-latency", latency = {{latencyMs}} ms, poll-interval = 1s }
            }
            """));
        var processes = new List<Process>();
        try
        {
            var settings = new ClusterSettings
            {
                Enabled = true,
                Secret = Secret,
                ConnectionString = connectionString,
                HeartbeatInterval = TimeSpan.FromMilliseconds(500),
                MaxOutstanding = Math.Max(64, workerCount * claimBatch * 4),
                ClaimBatch = claimBatch,
            };
            const int chunkSize = 8;
            await using var fleet = new ClusterFleet(settings, chunkSize, TextWriter.Null);
            var model = new TransformerConfig(20, 8, 1, 1, 8, 16);
            var board = new WeightBoard<PolicyWeights>();
            board.Publish(0, PolicyWeights.Capture(new TransformerModel(model)));
            await fleet.StartAsync(new RolloutFleetContext("bench", model, "0123456789+-*=", new SamplingOptions(), 0, board), CancellationToken.None);

            for (int w = 0; w < workerCount; w++)
            {
                processes.Add(StartWorker(connectionString, config, $"bench-{w}"));
            }

            await WaitForUpAsync(connectionString, workerCount);

            long done = 0;
            using var stop = new CancellationTokenSource();
            WorkChunk chunk = new(0, Enumerable.Range(0, chunkSize).Select(s => new WorkItem(0, s, 0, new TaskPrompt($"p{s}", "1+1=", "2", "easy", "exact"), null, (ulong)s)).ToArray());
            Task[] proxies = Enumerable.Range(0, fleet.Generators).Select(i => Task.Run(async () =>
            {
                IRolloutWorker proxy = fleet.CreateWorker(i);
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

            // Warm up (JIT, first claims), then count over the window.
            await Task.Delay(TimeSpan.FromSeconds(2));
            long before = Interlocked.Read(ref done);
            var clock = Stopwatch.StartNew();
            var queued = new List<long>();
            while (clock.Elapsed.TotalSeconds < seconds)
            {
                await Task.Delay(TimeSpan.FromSeconds(1));
                queued.Add(await CountAsync(connectionString, "SELECT count(*) FROM cluster_work WHERE status = 'queued'"));
            }

            long after = Interlocked.Read(ref done);
            if (Verbose)
            {
                Console.Error.WriteLine($"[bench] {workerCount} workers: queued items sampled each second: {string.Join(' ', queued)}");
            }

            double elapsed = clock.Elapsed.TotalSeconds;
            await stop.CancelAsync();
            await Task.WhenAll(proxies);
            return (after - before) / elapsed;
        }
        finally
        {
            foreach (Process process in processes)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
                process.Dispose();
            }

            NpgsqlConnection.ClearAllPools();
            await ExecuteAsync(server, $"DROP SCHEMA {schema} CASCADE");
            Directory.Delete(folder, recursive: true);
        }
    }

    private static Process StartWorker(string connectionString, string config, string nodeId)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = RepositoryRoot(),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string arg in new[] { "exec", Path.Combine(AppContext.BaseDirectory, "basis.dll"), "worker", "--config", "hocon/cluster.conf", "--config", config, "--node-id", nodeId, "--slots", "1" })
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["BASIS_PG"] = connectionString;
        start.Environment["BASIS_CLUSTER_SECRET"] = Secret;
        start.Environment["BASIS_HOME"] = RepositoryRoot();
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                Console.Error.WriteLine($"[{nodeId}] {e.Data}");
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task WaitForUpAsync(string connectionString, int count)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT count(*) FROM cluster_member WHERE roles = 'rollout' AND status = 'up'", connection);
            if ((long)(await command.ExecuteScalarAsync())! >= count)
            {
                return;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"{count} workers did not come up within 60 s.");
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

    private static async Task<long> CountAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static string Option(string[] args, string name, string fallback)
    {
        int index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? args[index + 1] : fallback;
    }
}
