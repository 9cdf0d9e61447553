using System.Text.Json.Nodes;
using Basis.Model.Training;
using Basis.Training.Run;
using Microsoft.Data.Sqlite;
using Xunit;

namespace Basis.Training.Tests;

/// <summary>
/// <see cref="TrainingRun.Resume"/> in process: a run stopped after a step, with that step's
/// <c>PolicyUpdated</c> lost (a crash between the step's two writes), resumes from its snapshot,
/// re-applies the later steps from the journal and ends exactly where an uninterrupted run ends.
/// </summary>
public sealed class ResumeTests : IDisposable
{
    private const int Steps = 10;
    private readonly string _directory = Directory.CreateTempSubdirectory("basis-resume-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task AStoppedRunResumedFromItsSnapshotAndJournalEqualsAnUninterruptedRun()
    {
        CancellationToken cancellation = TestContext.Current.CancellationToken;
        string reference = Path.Combine(_directory, "reference");
        string stopped = Path.Combine(_directory, "stopped");
        await new TrainingRun(Settings(), reference, new StopAfter(long.MaxValue, null)).RunAsync(cancellation);
        Directory.CreateDirectory(stopped);
        foreach (string cache in new[] { "sft.safetensors", "offline-table.jsonl" })
        {
            File.Copy(Path.Combine(reference, cache), Path.Combine(stopped, cache));
        }

        // Stop after step 4: the snapshot (every 3 steps) is after step 2, so steps 3 and 4 come back from the journal.
        using (var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellation))
        {
            RunSummary partial = await new TrainingRun(Settings(), stopped, new StopAfter(4, stop)).RunAsync(stop.Token);
            Assert.True(partial.Cancelled);
        }

        SqliteConnection.ClearAllPools();
        long lastStep = DeleteLastPolicyUpdated(stopped);
        Assert.True(lastStep >= 4, $"the stopped run's last PolicyUpdated is for step {lastStep}");

        var observer = new StopAfter(long.MaxValue, null);
        RunSummary summary = await new TrainingRun(Settings(), stopped, observer) { Resume = true }.RunAsync(cancellation);

        Assert.Contains(observer.Phases, p => p.StartsWith("resumed at step", StringComparison.Ordinal) && p.Contains("snapshot after step 2", StringComparison.Ordinal));
        Assert.DoesNotContain(observer.Phases, p => p.StartsWith("warning", StringComparison.Ordinal));
        Assert.Equal(Steps, summary.Steps);
        Assert.False(summary.Cancelled);
        SqliteConnection.ClearAllPools();
        Assert.Equal(Events(reference), Events(stopped));
        Assert.Equal(
            File.ReadAllBytes(Path.Combine(reference, "checkpoints", "final.safetensors")),
            File.ReadAllBytes(Path.Combine(stopped, "checkpoints", "final.safetensors")));
        Assert.Equal(Enumerable.Range(-1, Steps + 1).Select(s => (long)s), File.ReadAllLines(Path.Combine(stopped, "metrics.csv")).Skip(1).Select(l => long.Parse(l.Split(',')[0], System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Fact]
    public async Task ResumingWithAnotherEstimatorIsRefusedNamingTheSetting()
    {
        string run = Path.Combine(_directory, "run");
        await new TrainingRun(Settings(steps: 2), run, new StopAfter(long.MaxValue, null)).RunAsync(TestContext.Current.CancellationToken);
        TrainSettings other = Settings(steps: 2);
        other.Estimator.Name = "reinforce";

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => new TrainingRun(other, run, new StopAfter(long.MaxValue, null)) { Resume = true }.RunAsync(TestContext.Current.CancellationToken));

        Assert.Contains("estimator was basis", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AJournalWhoseAdvantagesTheRestoredEstimatorCannotReproduceIsNotResumed()
    {
        string run = Path.Combine(_directory, "run");
        using (var stop = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken))
        {
            await new TrainingRun(Settings(), run, new StopAfter(4, stop)).RunAsync(stop.Token);
        }

        SqliteConnection.ClearAllPools();
        using (var connection = new SqliteConnection($"Data Source={Path.Combine(run, "journal.db")};Pooling=False"))
        {
            connection.Open();
            using SqliteCommand select = connection.CreateCommand();
            select.CommandText = "SELECT ordering, CAST(message AS TEXT) FROM journal WHERE manifest = 'BatchFormed.v1' AND json_extract(message, '$.Step') = 3";
            long ordering;
            JsonObject formed;
            using (SqliteDataReader reader = select.ExecuteReader())
            {
                Assert.True(reader.Read());
                ordering = reader.GetInt64(0);
                formed = JsonNode.Parse(reader.GetString(1))!.AsObject();
            }

            JsonArray advantages = formed["Advantages"]!.AsArray();
            advantages[1] = advantages[1]!.GetValue<double>() + 1e-12;
            using SqliteCommand update = connection.CreateCommand();
            update.CommandText = "UPDATE journal SET message = $p WHERE ordering = $o";
            update.Parameters.AddWithValue("$p", System.Text.Encoding.UTF8.GetBytes(formed.ToJsonString()));
            update.Parameters.AddWithValue("$o", ordering);
            Assert.Equal(1, update.ExecuteNonQuery());
        }

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => new TrainingRun(Settings(), run, new StopAfter(long.MaxValue, null)) { Resume = true }.RunAsync(TestContext.Current.CancellationToken));

        Assert.Contains("journal step 3 slot 1", error.Message, StringComparison.Ordinal);
        Assert.Contains("cannot be resumed exactly", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheSavedRunConfigurationKeepsEveryConnectionStringButNoPasswordOrSecret()
    {
        const string Json = """
            {"basis": {"journal": {"provider": "postgres", "connection-string": "Host=db;Port=5433;Username=u;Password=hunter2;Database=runs"},
                       "cluster": {"connection-string": "Host=db;PWD=hunter2;Database=runs", "secret": "s3cr3t-join-key"}, "run": {"seed": 7}},
             "akka": {"remote": {"dot-netty": {"tcp": {"ssl": {"certificate": {"path": "/certs/cluster.pfx", "password": "tls-pass-99"}}}}}}}
            """;

        string saved = RunConfigFile.WithoutPasswords(Json);

        Assert.DoesNotContain("hunter2", saved, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cr3t-join-key", saved, StringComparison.Ordinal);
        Assert.DoesNotContain("tls-pass-99", saved, StringComparison.Ordinal);
        JsonNode root = JsonNode.Parse(saved)!;
        var journal = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = root["basis"]!["journal"]!["connection-string"]!.GetValue<string>() };
        Assert.Equal("db", journal["host"]);
        Assert.Equal("5433", journal["port"]);
        Assert.Equal("runs", journal["database"]);
        Assert.Equal(7, root["basis"]!["run"]!["seed"]!.GetValue<int>());
        Assert.Equal("/certs/cluster.pfx", root["akka"]!["remote"]!["dot-netty"]!["tcp"]!["ssl"]!["certificate"]!["path"]!.GetValue<string>());
    }

    private static TrainSettings Settings(int steps = Steps) => new(
        new RunSettings { Seed = 7, CheckpointEvery = 4, Progress = false },
        new ModelSettings { DModel = 32, Layers = 1, Heads = 2, FfDim = 64, Context = 24, Threads = 1 },
        new SftSettings { Steps = 300, BatchSize = 8 },
        new TaskSettings { TrainSize = 32, EvalSize = 16, Tiers = ["add-1d"] },
        new OfflineTableSettings { Samples = 2 },
        new EstimatorSettings { Name = "basis" },
        new TrainLoopSettings { Steps = steps, BatchSize = 8, MaxNewTokens = 4, EvalEvery = 4 },
        new GraphSettings { QueueBound = 2, ChunkSize = 4 },
        new JournalSettings { SnapshotEvery = 3 });

    /// <summary>Every event in journal order: stream, sequence number, manifest and message (RunStarted without its run-folder path).</summary>
    private static List<string> Events(string run)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(run, "journal.db")};Pooling=False");
        connection.Open();
        using SqliteCommand select = connection.CreateCommand();
        select.CommandText = "SELECT persistence_id, sequence_number, manifest, CAST(message AS TEXT) FROM journal ORDER BY ordering";
        using SqliteDataReader reader = select.ExecuteReader();
        var events = new List<string>();
        while (reader.Read())
        {
            string message = reader.GetString(3);
            if (reader.GetString(2) == "RunStarted.v1")
            {
                JsonObject started = JsonNode.Parse(message)!.AsObject();
                started.Remove("OfflineTable");
                message = started.ToJsonString();
            }

            events.Add($"{reader.GetString(0)}#{reader.GetInt64(1)} {reader.GetString(2)} {message}");
        }

        return events;
    }

    /// <summary>Deletes the learner's last event (a PolicyUpdated), as a crash between a step's two writes leaves it; returns its step.</summary>
    private static long DeleteLastPolicyUpdated(string run)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(run, "journal.db")};Pooling=False");
        connection.Open();
        using SqliteCommand select = connection.CreateCommand();
        select.CommandText = "SELECT ordering, CAST(message AS TEXT) FROM journal WHERE manifest = 'PolicyUpdated.v1' ORDER BY ordering DESC LIMIT 1";
        long ordering;
        long step;
        using (SqliteDataReader reader = select.ExecuteReader())
        {
            Assert.True(reader.Read());
            ordering = reader.GetInt64(0);
            step = JsonNode.Parse(reader.GetString(1))!["Step"]!.GetValue<long>();
        }

        using SqliteCommand delete = connection.CreateCommand();
        delete.CommandText = "DELETE FROM journal WHERE ordering = $o";
        delete.Parameters.AddWithValue("$o", ordering);
        Assert.Equal(1, delete.ExecuteNonQuery());
        return step;
    }

    /// <summary>Records phases; cancels the run once step <paramref name="stopAfter"/> is reported.</summary>
    private sealed class StopAfter(long stopAfter, CancellationTokenSource? stop) : ITrainingObserver
    {
        public List<string> Phases { get; } = [];

        public void Phase(string phase, string detail)
        {
            if (phase == "resume")
            {
                Phases.Add(detail);
            }
        }

        public void Sft(SftProgress progress)
        {
        }

        public void OfflineTable(int donePrompts, int totalPrompts)
        {
        }

        public void Step(StepRecord record)
        {
            if (record.Step >= stopAfter)
            {
                stop?.Cancel();
            }
        }
    }
}
