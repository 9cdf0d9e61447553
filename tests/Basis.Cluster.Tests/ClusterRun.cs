using Basis.Tasks;
using Basis.Tasks.Synthetic;
using Basis.Training.Journal;
using Basis.Training.Run;
using Basis.Training.Schedule;

namespace Basis.Cluster.Tests;

/// <summary>
/// A cluster of real processes on 127.0.0.1 for one test: its own schema, run folder and HOCON
/// layers (hocon/ci.conf's tiny model, hocon/cluster.conf, then short timings).
/// </summary>
internal sealed class ClusterRun : IAsyncDisposable
{
    public const string Secret = "process-test-secret-42";
    public const int BatchSize = 8;

    private readonly List<BasisProcess> _processes = [];

    private ClusterRun(string connectionString, string folder, int steps, string workerLatency)
    {
        Steps = steps;
        ConnectionString = connectionString;
        Folder = folder;
        RunDir = Path.Combine(folder, "run");
        TimingsFile = Path.Combine(folder, "test.conf");
        File.WriteAllText(TimingsFile, $$"""
            basis {
              run { progress = false, checkpoint-every = 0 }
              train { steps = {{steps}}, batch-size = {{BatchSize}}, eval-every = 0 }
              graph { chunk-size = 4, staleness = 0 }
              journal.snapshot-every = 1
              cluster {
                heartbeat-interval = 200 ms
                lease-duration = 4s
                failure-detector.timeout = 1500 ms
                max-outstanding = 16
                claim-batch = 4
                worker { poll-interval = 300 ms, threads = 1, latency = {{workerLatency}} }
              }
            }
            """);
        File.WriteAllText(Path.Combine(folder, "slow.conf"), "basis.cluster.worker.latency = 120s\n");
    }

    public int Steps { get; }

    public string ConnectionString { get; }

    public string Folder { get; }

    public string RunDir { get; }

    public string TimingsFile { get; }

    /// <param name="workerLatency">The least time a worker's batch takes (a HOCON duration), to give a test time to act mid-run.</param>
    public static async Task<ClusterRun> CreateAsync(PostgresFixture postgres, int steps = 3, string workerLatency = "0s") =>
        new(await postgres.CreateSchemaAsync(), Directory.CreateTempSubdirectory("basis-cluster-").FullName, steps, workerLatency);

    private Dictionary<string, string> Environment(string secret) => new()
    {
        ["BASIS_PG"] = ConnectionString,
        ["BASIS_CLUSTER_SECRET"] = secret,
    };

    public BasisProcess StartLearner(params string[] extra)
    {
        BasisProcess learner = BasisProcess.Start(Environment(Secret), ["train", "--config", "hocon/ci.conf", "--config", "hocon/cluster.conf", "--config", TimingsFile, "--run-dir", RunDir, .. extra]);
        _processes.Add(learner);
        return learner;
    }

    public BasisProcess StartWorker(string nodeId, bool slow = false, string secret = Secret)
    {
        string[] slowLayer = slow ? ["--config", Path.Combine(Folder, "slow.conf")] : [];
        BasisProcess worker = BasisProcess.Start(Environment(secret), ["worker", "--config", "hocon/cluster.conf", "--config", TimingsFile, .. slowLayer, "--node-id", nodeId, "--slots", "1"]);
        _processes.Add(worker);
        return worker;
    }

    /// <summary>Polls the cluster tables (the processes are real: there is nothing else to wait on) until <paramref name="sql"/> counts at least one row.</summary>
    public async Task WaitForRowsAsync(string sql, string what, BasisProcess? watched = null, TimeSpan? limit = null, params (string, object)[] parameters)
    {
        DateTime deadline = DateTime.UtcNow + (limit ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            try
            {
                if (await PostgresFixture.ScalarAsync<long>(ConnectionString, sql, parameters) > 0)
                {
                    return;
                }
            }
            catch (Npgsql.PostgresException e) when (e.SqlState == "42P01")
            {
                // The cluster tables do not exist until the first node starts.
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"timed out waiting for {what}; output:\n{watched?.Output}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>
    /// Every prompt of every step in the journal exactly once: one RolloutGenerated per (step, slot),
    /// and each step's BatchFormed holds exactly the prompts the schedule gave it.
    /// </summary>
    public async Task AssertJournalAccountsForEveryPromptOnceAsync()
    {
        ArithmeticTaskSet tasks = ArithmeticTaskGenerator.Generate(new ArithmeticTaskConfig
        {
            Seed = 7,
            TrainSize = 32,
            EvalSize = 16,
            Tiers = TrainingRun.SelectTiers(["add-1d"]),
        });
        var schedule = new PromptSchedule(tasks.Train.Count, BatchSize, 7);
        await using JournalQuery journal = await JournalQuery.OpenAsync(JournalTarget.Postgres(ConnectionString), null, CancellationToken.None);
        var rollouts = new List<RolloutGenerated>();
        var batches = new List<BatchFormed>();
        await foreach (JournalEvent envelope in journal.CurrentEventsByPersistenceId(TrainingJournal.AggregatorId))
        {
            switch (envelope.Event)
            {
                case RolloutGenerated r:
                    rollouts.Add(r);
                    break;
                case BatchFormed b:
                    batches.Add(b);
                    break;
                default:
                    break;
            }
        }

        var expectedKeys = Enumerable.Range(0, Steps).SelectMany(s => Enumerable.Range(0, BatchSize).Select(slot => ((long)s, slot))).ToList();
        Assert.Equal(expectedKeys, rollouts.Select(r => (r.Step, r.Slot)).Order().ToList());
        Assert.Equal(Enumerable.Range(0, Steps).Select(s => (long)s), batches.Select(b => b.Step));
        foreach (BatchFormed batch in batches)
        {
            string[] expected = schedule.PromptsOf(batch.Step).Select(i => tasks.Train[i].Id).ToArray();
            Assert.Equal(expected, batch.PromptIds);
            Assert.Equal(expected, rollouts.Where(r => r.Step == batch.Step).OrderBy(r => r.Slot).Select(r => r.PromptId));
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (BasisProcess process in _processes)
        {
            await process.DisposeAsync();
        }

        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
            // A temp folder left behind is harmless.
        }
    }
}
