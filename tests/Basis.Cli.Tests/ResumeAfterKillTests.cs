using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Npgsql;
using Xunit;

namespace Basis.Cli.Tests;

/// <summary>
/// The real <c>basis</c> process, killed with SIGKILL at seeded random points of its progress and resumed
/// each time, ends with exactly the journal (event for event) and the final checkpoint of an uninterrupted
/// run; on each database the journal supports.
/// </summary>
public abstract class ResumeAfterKillTests : IDisposable
{
    private const int Steps = 40;
    private const int BatchSize = 8;
    private const int TrainSize = 32;

    private readonly string _directory = Directory.CreateTempSubdirectory("basis-kill-").FullName;

    public virtual void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>The HOCON that puts the journal of the run named <paramref name="name"/> in this database ("" for the run folder's SQLite file).</summary>
    protected abstract string JournalConfig(string name);

    /// <summary>The journal's rows in ordering: persistence id, sequence number, manifest and message.</summary>
    protected abstract List<JournalRow> ReadJournal(string name, string runFolder);

    [Fact]
    public async Task ARunKilledAtRandomPointsAndResumedEqualsAnUninterruptedRun()
    {
        string reference = Directory.CreateDirectory(Path.Combine(_directory, "reference")).FullName;
        string killed = Directory.CreateDirectory(Path.Combine(_directory, "killed")).FullName;
        string config = WriteConfig("reference");
        CancellationToken cancellation = TestContext.Current.CancellationToken;

        (int referenceExit, string referenceOutput) = await BasisProcess.RunToEndAsync(reference, ["train", "--config", config, "--run-dir", "run"], cancellation);
        Assert.True(referenceExit == 0, referenceOutput);

        // The warm start and offline table are caches; sharing them keeps the test to the RL phase.
        Directory.CreateDirectory(Path.Combine(killed, "run"));
        foreach (string cache in new[] { "sft.safetensors", "offline-table.jsonl" })
        {
            File.Copy(Path.Combine(reference, "run", cache), Path.Combine(killed, "run", cache));
        }

        var random = new Random(20261122);
        int kills = 0;
        long reached = -1;
        string[] first = ["train", "--config", WriteConfig("killed"), "--run-dir", "run"];
        while (kills < 6)
        {
            // Kill once the run has got 1 to 5 steps further than at the last kill, wherever it then is (learning, committing, snapshotting).
            long target = Math.Min(reached + random.Next(1, 6), Steps - 2);
            var log = new StringBuilder();
            using Process process = BasisProcess.Start(killed, kills == 0 ? first : ["train", "--resume", "run"], log);
            bool exitedByItself;
            try
            {
                reached = await BasisProcess.WaitForStepAsync(Path.Combine(killed, "run", "metrics.csv"), target, process, random, cancellation);
                exitedByItself = process.HasExited;
            }
            finally
            {
                BasisProcess.KillIfRunning(process); // SIGKILL
            }

            Assert.False(exitedByItself, $"the run exited with code {process.ExitCode} before step {target}:\n{log}");
            kills++;
        }

        (int exit, string output) = await BasisProcess.RunToEndAsync(killed, ["train", "--resume", "run"], cancellation);
        Assert.True(exit == 0, output);
        Assert.Contains("[resume] resumed at step", output, StringComparison.Ordinal);

        List<JournalRow> expected = ReadJournal("reference", Path.Combine(reference, "run"));
        List<JournalRow> actual = ReadJournal("killed", Path.Combine(killed, "run"));
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.True(expected[i] == actual[i], $"journal row {i}: uninterrupted {expected[i]}, killed and resumed {actual[i]}");
        }

        AssertEveryPromptTrainedOnceAndNoEventDuplicated(actual);
        Assert.Equal(
            File.ReadAllBytes(Path.Combine(reference, "run", "checkpoints", "final.safetensors")),
            File.ReadAllBytes(Path.Combine(killed, "run", "checkpoints", "final.safetensors")));
        AssertMetricsAndSummaryCoverEveryStepOnce(Path.Combine(killed, "run"));
    }

    private string WriteConfig(string name)
    {
        // The CI profile with enough SFT for non-zero rewards, periodic evaluations, checkpoints and snapshots.
        string path = Path.Combine(_directory, $"{name}.conf");
        File.WriteAllText(path, $$"""
            include "{{Cli.Profile("ci.conf").Replace("\\", "/", StringComparison.Ordinal)}}"
            basis.sft.steps = 300
            basis.task.train-size = {{TrainSize}}
            basis.train { steps = {{Steps}}, batch-size = {{BatchSize}}, eval-every = 10 }
            basis.run.checkpoint-every = 7
            basis.graph.staleness = 0
            basis.journal.snapshot-every = 4
            {{JournalConfig(name)}}
            """);
        return path;
    }

    /// <summary>A journal row as both runs must agree on it (its ordering value is not: PostgreSQL's identity skips numbers a killed transaction took).</summary>
    protected readonly record struct JournalRow(string PersistenceId, long SequenceNumber, string Manifest, string Message);

    protected static List<JournalRow> ReadRows(System.Data.Common.DbConnection database)
    {
        using System.Data.Common.DbConnection connection = database;
        connection.Open();
        using System.Data.Common.DbCommand select = connection.CreateCommand();
        select.CommandText = "SELECT persistence_id, sequence_number, manifest, message FROM journal ORDER BY ordering";
        using System.Data.Common.DbDataReader reader = select.ExecuteReader();
        var rows = new List<JournalRow>();
        while (reader.Read())
        {
            rows.Add(new JournalRow(reader.GetString(0), reader.GetInt64(1), reader.GetString(2), Convert.ToHexString((byte[])reader.GetValue(3))));
        }

        return rows;
    }

    private static void AssertEveryPromptTrainedOnceAndNoEventDuplicated(List<JournalRow> rows)
    {
        var rollouts = new HashSet<(long Step, int Slot)>();
        var rewards = new HashSet<(long Step, int Slot)>();
        var batches = new Dictionary<long, string[]>();
        var versions = new HashSet<long>();
        int runsStarted = 0;
        foreach (JournalRow row in rows)
        {
            using JsonDocument json = JsonDocument.Parse(Convert.FromHexString(row.Message));
            JsonElement e = json.RootElement;
            switch (row.Manifest)
            {
                case "RunStarted.v1":
                    runsStarted++;
                    break;
                case "RolloutGenerated.v1":
                    Assert.True(rollouts.Add((e.GetProperty("Step").GetInt64(), e.GetProperty("Slot").GetInt32())), $"rollout {row} written twice");
                    break;
                case "RewardAssigned.v1":
                    Assert.True(rewards.Add((e.GetProperty("Step").GetInt64(), e.GetProperty("Slot").GetInt32())), $"reward {row} written twice");
                    break;
                case "BatchFormed.v1":
                    long step = e.GetProperty("Step").GetInt64();
                    Assert.True(batches.TryAdd(step, [.. e.GetProperty("PromptIds").EnumerateArray().Select(p => p.GetString()!)]), $"step {step} formed twice");
                    break;
                case "PolicyUpdated.v1":
                    Assert.True(versions.Add(e.GetProperty("Version").GetInt64()), $"policy version written twice: {row}");
                    break;
                default:
                    Assert.Fail($"unexpected event {row.Manifest}");
                    break;
            }
        }

        Assert.Equal(1, runsStarted);
        Assert.Equal(Steps * BatchSize, rollouts.Count);
        Assert.True(rewards.SetEquals(rollouts));
        Assert.Equal(Enumerable.Range(0, Steps).Select(s => (long)s), batches.Keys.Order());
        Assert.Equal(Enumerable.Range(1, Steps).Select(v => (long)v), versions.Order());

        // The schedule is epochs without replacement: each run of TrainSize / BatchSize steps covers every prompt once.
        int stepsPerEpoch = TrainSize / BatchSize;
        HashSet<string>? everyPrompt = null;
        for (int epoch = 0; epoch < Steps / stepsPerEpoch; epoch++)
        {
            string[] trained = [.. Enumerable.Range(epoch * stepsPerEpoch, stepsPerEpoch).SelectMany(s => batches[s])];
            Assert.Equal(TrainSize, trained.Distinct(StringComparer.Ordinal).Count());
            everyPrompt ??= [.. trained];
            Assert.True(everyPrompt.SetEquals(trained), $"epoch {epoch} trained another set of prompts");
        }
    }

    private static void AssertMetricsAndSummaryCoverEveryStepOnce(string run)
    {
        string[] lines = File.ReadAllLines(Path.Combine(run, "metrics.csv"));
        Assert.Equal(2 + Steps, lines.Length);
        for (int step = -1; step < Steps; step++)
        {
            string[] fields = lines[step + 2].Split(',');
            Assert.Equal(step, long.Parse(fields[0], CultureInfo.InvariantCulture));
            Assert.Equal((step + 1) * BatchSize, long.Parse(fields[1], CultureInfo.InvariantCulture));
        }

        using JsonDocument summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "summary.json")));
        Assert.Equal(Steps, summary.RootElement.GetProperty("steps").GetInt32());
        Assert.Equal(Steps * BatchSize, summary.RootElement.GetProperty("rollouts").GetInt64());
    }
}

public sealed class SqliteResumeAfterKillTests : ResumeAfterKillTests
{
    protected override string JournalConfig(string name) => string.Empty;

    protected override List<JournalRow> ReadJournal(string name, string runFolder) =>
        ReadRows(new SqliteConnection($"Data Source={Path.Combine(runFolder, "journal.db")};Mode=ReadOnly;Pooling=False"));
}

public sealed class PostgresResumeAfterKillTests : ResumeAfterKillTests
{
    private readonly string _server = Environment.GetEnvironmentVariable("BASIS_TEST_POSTGRES") is { Length: > 0 } given
        ? given
        : throw new InvalidOperationException("BASIS_TEST_POSTGRES is not set; tests/run starts a PostgreSQL server and exports it.");

    private readonly string _prefix = $"basis_kill_{Guid.NewGuid():N}";
    private readonly List<string> _schemas = [];

    public override void Dispose()
    {
        NpgsqlConnection.ClearAllPools();
        foreach (string schema in _schemas)
        {
            Execute(_server, $"DROP SCHEMA IF EXISTS {schema} CASCADE");
        }

        base.Dispose();
    }

    protected override string JournalConfig(string name)
    {
        string schema = $"{_prefix}_{name}";
        Execute(_server, $"CREATE SCHEMA {schema}");
        _schemas.Add(schema);
        string connection = new NpgsqlConnectionStringBuilder(_server) { SearchPath = schema }.ConnectionString;
        return $"basis.journal {{ provider = postgres, connection-string = \"{connection}\" }}";
    }

    protected override List<JournalRow> ReadJournal(string name, string runFolder) =>
        ReadRows(new NpgsqlConnection(new NpgsqlConnectionStringBuilder(_server) { SearchPath = $"{_prefix}_{name}" }.ConnectionString));

    private static void Execute(string connectionString, string sql)
    {
        using var connection = new NpgsqlConnection(connectionString);
        connection.Open();
        using var command = new NpgsqlCommand(sql, connection);
        command.ExecuteNonQuery();
    }
}
