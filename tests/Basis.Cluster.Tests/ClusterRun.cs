using Basis.Tasks;
using Basis.Tasks.Synthetic;
using Basis.Training.Journal;
using Basis.Training.Run;
using Basis.Training.Schedule;

namespace Basis.Cluster.Tests;

/// <summary>
/// A cluster of real `basis` processes on 127.0.0.1 for one test: its own run folder, throwaway
/// certificates, a free learner port and HOCON layers (hocon/ci.conf's tiny model, hocon/cluster.conf,
/// then short timings).
/// </summary>
internal sealed class ClusterRun : IAsyncDisposable
{
    public const int BatchSize = 8;

    private readonly List<BasisProcess> _processes = [];
    private readonly TestCertificates _certificates = new();

    private ClusterRun(int steps, string workerLatency)
    {
        Steps = steps;
        Folder = Directory.CreateTempSubdirectory("basis-cluster-").FullName;
        RunDir = Path.Combine(Folder, "run");
        LearnerPort = AkkaTestConfig.FreePort();
        TimingsFile = Path.Combine(Folder, "test.conf");
        File.WriteAllText(TimingsFile, $$"""
            basis {
              run { progress = false, checkpoint-every = 0 }
              train { steps = {{steps}}, batch-size = {{BatchSize}}, eval-every = 0 }
              graph { chunk-size = 4, staleness = 0 }
              journal.snapshot-every = 1
              cluster {
                max-outstanding = 16
                worker { threads = 1, latency = {{workerLatency}} }
              }
            }
            akka {
              loglevel = WARNING
              remote.dot-netty.tcp.port = {{LearnerPort}}
              cluster {
                seed-nodes = ["akka.ssl.tcp://basis@127.0.0.1:{{LearnerPort}}"]
                seed-node-timeout = 1s
                retry-unsuccessful-join-after = 1s
                failure-detector.acceptable-heartbeat-pause = 3s
                split-brain-resolver.stable-after = 3s
              }
            }
            """);
        File.WriteAllText(Path.Combine(Folder, "slow.conf"), "basis.cluster.worker.latency = 120s\n");
    }

    public int Steps { get; }

    public string Folder { get; }

    public string RunDir { get; }

    public int LearnerPort { get; }

    public string TimingsFile { get; }

    /// <summary>Everything every process of this run wrote so far.</summary>
    public string AllOutput => string.Join('\n', _processes.Select(p => p.Output));

    /// <param name="workerLatency">The least time a worker's chunk takes (a HOCON duration), to give a test time to act mid-run.</param>
    public static ClusterRun Create(int steps = 3, string workerLatency = "0s") => new(steps, workerLatency);

    private Dictionary<string, string> Environment(string? certificate) => new()
    {
        ["BASIS_CLUSTER_CERT"] = certificate ?? string.Empty,
        ["BASIS_CLUSTER_CERT_PASSWORD"] = TestCertificates.Password,
    };

    public BasisProcess StartLearner(params string[] extra)
    {
        BasisProcess learner = BasisProcess.Start(Environment(_certificates.Cluster), ["train", "--config", "hocon/ci.conf", "--config", "hocon/cluster.conf", "--config", TimingsFile, "--run-dir", RunDir, .. extra]);
        _processes.Add(learner);
        return learner;
    }

    /// <param name="certificate">cluster (the default), intruder (a valid certificate that is not the cluster's) or none.</param>
    public BasisProcess StartWorker(string nodeId, bool slow = false, string certificate = "cluster")
    {
        string[] slowLayer = slow ? ["--config", Path.Combine(Folder, "slow.conf")] : [];
        string? path = certificate switch
        {
            "cluster" => _certificates.Cluster,
            "intruder" => _certificates.Intruder,
            _ => null,
        };
        BasisProcess worker = BasisProcess.Start(Environment(path), ["worker", "--config", "hocon/cluster.conf", "--config", TimingsFile, .. slowLayer, "--node-id", nodeId, "--slots", "1"]);
        _processes.Add(worker);
        return worker;
    }

    /// <summary>Waits until <paramref name="process"/> has written <paramref name="text"/> (the processes are real: their output is what there is to wait on).</summary>
    public static async Task WaitForOutputAsync(BasisProcess process, string text, TimeSpan? limit = null)
    {
        DateTime deadline = DateTime.UtcNow + (limit ?? TimeSpan.FromSeconds(90));
        while (!process.Output.Contains(text, StringComparison.Ordinal))
        {
            if (process.HasExited || DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"pid {process.Id} did not write '{text}'{(process.HasExited ? $" (exited with {process.ExitCode})" : string.Empty)}; its output:\n{process.Output}");
            }

            await Task.Delay(50);
        }
    }

    private Task<JournalQuery> OpenJournalAsync() => JournalQuery.OpenAsync(JournalTarget.ForRunFolder(RunDir), null, CancellationToken.None);

    /// <summary>Learner steps the journal records (PolicyUpdated events), read through the run's journal reader.</summary>
    public async Task<int> StepsInJournalAsync()
    {
        if (!File.Exists(Path.Combine(RunDir, "journal.db")))
        {
            return 0;
        }

        await using JournalQuery journal = await OpenJournalAsync();
        int steps = 0;
        await foreach (JournalEvent envelope in journal.CurrentEventsByPersistenceId(TrainingJournal.LearnerId))
        {
            steps += envelope.Event is PolicyUpdated ? 1 : 0;
        }

        return steps;
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
        await using JournalQuery journal = await OpenJournalAsync();
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

    /// <summary>No process printed the certificate's password and the run folder's config.json does not hold it.</summary>
    public void AssertNoSecretLeaked()
    {
        Assert.DoesNotContain(TestCertificates.Password, AllOutput, StringComparison.Ordinal);
        string config = Path.Combine(RunDir, RunConfigFile.FileName);
        Assert.True(File.Exists(config));
        Assert.DoesNotContain(TestCertificates.Password, File.ReadAllText(config), StringComparison.Ordinal);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (BasisProcess process in _processes)
        {
            await process.DisposeAsync();
        }

        _certificates.Dispose();
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
