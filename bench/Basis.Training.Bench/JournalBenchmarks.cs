using Akka.Actor;
using Akka.Persistence.Journal;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Basis.Training.Journal;
using Npgsql;

namespace Basis.Training.Bench;

/// <summary>
/// The run journal on Akka.Persistence.Sql with the training run's real event mix: per step, 256
/// rollouts (a RolloutGenerated and a RewardAssigned each) and the tagged BatchFormed, in one atomic
/// write, then the learner's tagged PolicyUpdated; steps written one after another, as <c>basis train</c> does.
/// One operation = one event.
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 2, iterationCount: 9)]
[MedianColumn]
public class JournalAppendBenchmarks
{
    private const int StepsPerInvoke = 20;

    private JournalBenchStore _store = null!;
    private TrainingJournal _journal = null!;
    private long _step;

    [Params("sqlite", "postgres")]
    public string Provider { get; set; } = "sqlite";

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _store = JournalBenchStore.Create(Provider);
        _journal = await _store.OpenAsync();
        await _journal.StartAsync(JournalBenchStore.Started, CancellationToken.None);
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _journal.DisposeAsync();
        _store.Dispose();
    }

    [Benchmark(OperationsPerInvoke = StepsPerInvoke * JournalBenchStore.EventsPerStep)]
    public async Task AppendSteps()
    {
        for (int i = 0; i < StepsPerInvoke; i++)
        {
            long step = _step++;
            await _journal.AppendAsync(TrainingJournal.AggregatorId, JournalBenchStore.Step(step), CancellationToken.None);
            await _journal.WritePolicyUpdatedAsync(JournalBenchStore.Updated(step), CancellationToken.None);
        }
    }
}

/// <summary>Replay: the aggregator stream of 100 such steps (51,300 events) read back through the SQL read journal and deserialized. One operation = one event.</summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 2, iterationCount: 9)]
[MedianColumn]
public class JournalReplayBenchmarks
{
    private const int Steps = 100;
    private const int Events = Steps * (JournalBenchStore.EventsPerStep - 1);

    private JournalBenchStore _store = null!;
    private TrainingJournal _journal = null!;
    private JournalQuery _query = null!;

    [Params("sqlite", "postgres")]
    public string Provider { get; set; } = "sqlite";

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _store = JournalBenchStore.Create(Provider);
        _journal = await _store.OpenAsync();
        await _journal.StartAsync(JournalBenchStore.Started, CancellationToken.None);
        for (long step = 0; step < Steps; step++)
        {
            await _journal.AppendAsync(TrainingJournal.AggregatorId, JournalBenchStore.Step(step), CancellationToken.None);
        }

        _query = new JournalQuery(_journal.System, _store.Target, ownsSystem: false);
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _journal.DisposeAsync();
        _store.Dispose();
    }

    [Benchmark(OperationsPerInvoke = Events)]
    public async Task<long> ReplayByPersistenceId()
    {
        long count = 0;
        await foreach (JournalEvent e in _query.CurrentEventsByPersistenceId(TrainingJournal.AggregatorId))
        {
            count += e.SequenceNumber;
        }

        return count;
    }

    [Benchmark(OperationsPerInvoke = Events + 1)]
    public async Task<long> ReplayAllEvents()
    {
        long count = 0;
        await foreach (JournalEvent e in _query.CurrentAllEvents())
        {
            count += e.SequenceNumber;
        }

        return count;
    }
}

/// <summary>A fresh database per benchmark: a SQLite file in a temporary folder, or a schema of BASIS_TEST_POSTGRES's server.</summary>
internal sealed class JournalBenchStore : IDisposable
{
    public const int Rollouts = 256;
    public const int EventsPerStep = (2 * Rollouts) + 2;

    private readonly string? _folder;
    private readonly string? _schema;
    private readonly string? _server;

    private JournalBenchStore(JournalTarget target, string? folder, string? server, string? schema)
    {
        Target = target;
        _folder = folder;
        _server = server;
        _schema = schema;
    }

    public JournalTarget Target { get; }

    public static RunStarted Started => new("basis", "bench", "policy-hash", "tasks-hash", "offline-table.jsonl", 8, 42, Rollouts, 1);

    public static JournalBenchStore Create(string provider)
    {
        if (provider == "sqlite")
        {
            string folder = Directory.CreateTempSubdirectory("basis-journal-bench-").FullName;
            return new JournalBenchStore(JournalTarget.ForRunFolder(folder), folder, null, null);
        }

        string server = Environment.GetEnvironmentVariable("BASIS_TEST_POSTGRES") is { Length: > 0 } given
            ? given
            : throw new InvalidOperationException("BASIS_TEST_POSTGRES is not set (source tests/scripts/postgres.sh; pg_test_start).");
        string schema = $"basis_bench_{Guid.NewGuid():N}";
        Execute(server, $"CREATE SCHEMA {schema}");
        return new JournalBenchStore(JournalTarget.Postgres(new NpgsqlConnectionStringBuilder(server) { SearchPath = schema }.ConnectionString), null, server, schema);
    }

    public Task<TrainingJournal> OpenAsync() =>
        TrainingJournal.OpenAsync(RunActorSystem.Create(Target, name: "journal-bench"), Target, ownsSystem: true, CancellationToken.None);

    /// <summary>A step as the default run journals it: completions of a few characters, 6 to 9 tokens with their log-probabilities.</summary>
    public static List<object> Step(long step)
    {
        var events = new List<object>((2 * Rollouts) + 1);
        var random = new Random((int)step);
        var rewards = new double[Rollouts];
        for (int slot = 0; slot < Rollouts; slot++)
        {
            int tokens = 6 + random.Next(4);
            rewards[slot] = random.Next(2);
            var generated = new RolloutGenerated(step, slot, 0, $"arith-{random.Next():x8}", "1234=", [.. Enumerable.Range(0, tokens).Select(_ => random.Next(20))], [.. Enumerable.Range(0, tokens).Select(_ => -(float)random.NextDouble())], step);
            events.Add(generated);
            events.Add(new RewardAssigned(step, slot, rewards[slot], "exact", false));
        }

        events.Add(new Tagged(
            new BatchFormed(
                step,
                "basis",
                [.. Enumerable.Range(0, Rollouts)],
                [.. Enumerable.Range(0, Rollouts).Select(s => $"arith-{s:x8}")],
                new int[Rollouts],
                rewards,
                new bool[Rollouts],
                [.. Enumerable.Range(0, Rollouts).Select(s => s % 17)],
                [.. Enumerable.Repeat(16, Rollouts)],
                [.. rewards.Select(r => r * 0.37)],
                [.. rewards.Select(r => r - 0.41)],
                0.8,
                Rollouts),
            ["batch"]));
        return events;
    }

    public static PolicyUpdated Updated(long step) => new(step + 1, step, null, 0.1, 0.5, 1e-4, 0.3, null);

    public void Dispose()
    {
        if (_folder is not null)
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(_folder, recursive: true);
        }
        else
        {
            NpgsqlConnection.ClearAllPools();
            Execute(_server!, $"DROP SCHEMA {_schema} CASCADE");
        }
    }

    private static void Execute(string server, string sql)
    {
        using var connection = new NpgsqlConnection(server);
        connection.Open();
        using var command = new NpgsqlCommand(sql, connection);
        command.ExecuteNonQuery();
    }
}
