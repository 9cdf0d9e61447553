using System.Text;
using Akka.Persistence.Journal;
using Akka.TestKit.Xunit;
using Basis.Training.Journal;
using Basis.Training.Run;
using Xunit;

namespace Basis.Training.Tests.Journal;

/// <summary>
/// The run journal's contract on Akka.Persistence.Sql, run against every database it supports: atomic
/// steps, reads by persistence id, tag and ordering, live queries, snapshots, resume, corrupt rows and
/// the earlier format's refusal.
/// </summary>
public abstract class JournalContractTests : TestKit
{
    private readonly JournalDatabase _database;

    protected JournalContractTests(JournalDatabase database)
        : base(JournalConfig.For(database.Target, new JournalTuning { PollInterval = TimeSpan.FromMilliseconds(50) }), "journal-contract")
    {
        _database = database;
    }

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AStepIsOneWriteAndReadsBackEventForEventWithContiguousSequenceNumbers()
    {
        await using TrainingJournal journal = await OpenAsync();
        await journal.StartAsync(Started, Cancellation);
        List<object> step = Step(0, slots: 3);
        await journal.AppendAsync(TrainingJournal.AggregatorId, step, Cancellation);
        await journal.WritePolicyUpdatedAsync(Updated(0), Cancellation);

        List<JournalEvent> read = await ReadAsync(Query().CurrentEventsByPersistenceId(TrainingJournal.AggregatorId, cancellationToken: Cancellation));

        Assert.Equal(7, journal.AggregatorSequence);
        Assert.Equal(2, journal.LearnerSequence);
        Assert.Equal(Enumerable.Range(1, 7).Select(i => (long)i), read.Select(e => e.SequenceNumber));
        Assert.Equivalent(step.Select(Payload).ToList(), read.Select(e => e.Event).ToList(), strict: true);
        Assert.Equal(read.Select(e => e.Ordering).Order(), read.Select(e => e.Ordering));
        Assert.Equal(read.Count, read.Select(e => e.Ordering).Distinct().Count());
        BatchFormed formed = Assert.IsType<BatchFormed>(read[^1].Event);
        Assert.True(double.IsNaN(formed.Baselines[2]));
        Assert.Equal(BitConverter.DoubleToInt64Bits(-0.0), BitConverter.DoubleToInt64Bits(formed.Advantages[1]));
        Assert.Equal("BatchFormed.v1", read[^1].Manifest);
    }

    [Fact]
    public async Task TagsSelectTheFormedBatchesInStepOrder()
    {
        await using TrainingJournal journal = await OpenAsync();
        await journal.StartAsync(Started, Cancellation);
        for (int step = 0; step < 3; step++)
        {
            await journal.AppendAsync(TrainingJournal.AggregatorId, Step(step, slots: 2), Cancellation);
            await journal.WritePolicyUpdatedAsync(Updated(step), Cancellation);
        }

        List<JournalEvent> batches = await ReadAsync(Query().CurrentEventsByTag("batch", cancellationToken: Cancellation));
        List<JournalEvent> policies = await ReadAsync(Query().CurrentEventsByTag("policy", cancellationToken: Cancellation));
        List<JournalEvent> all = await ReadAsync(Query().CurrentAllEvents(Cancellation));

        Assert.Equal([0L, 1L, 2L], batches.Select(e => Assert.IsType<BatchFormed>(e.Event).Step));
        Assert.Equal([1L, 2L, 3L], policies.Select(e => Assert.IsType<PolicyUpdated>(e.Event).Version));
        Assert.Equal(1 + (3 * 6), all.Count);
        Assert.Equal(all.Select(e => e.Ordering).Order(), all.Select(e => e.Ordering));
    }

    [Fact]
    public async Task ALiveQuerySeesEveryCommitAfterItStartedExactlyOnce()
    {
        await using TrainingJournal journal = await OpenAsync();
        await journal.StartAsync(Started, Cancellation);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Cancellation);
        stop.CancelAfter(RemainingOrDefault * 3);
        await using IAsyncEnumerator<JournalEvent> live = Query().EventsByPersistenceId(TrainingJournal.LearnerId, 1, stop.Token).GetAsyncEnumerator(stop.Token);

        Assert.True(await live.MoveNextAsync());
        Assert.IsType<RunStarted>(live.Current.Event);
        await journal.WritePolicyUpdatedAsync(Updated(0), Cancellation);
        Assert.True(await live.MoveNextAsync());
        Assert.Equal(2, live.Current.SequenceNumber);
        await journal.WritePolicyUpdatedAsync(Updated(1), Cancellation);
        Assert.True(await live.MoveNextAsync());
        Assert.Equal(Updated(1), live.Current.Event);
    }

    [Fact]
    public async Task AReopenedJournalRecoversItsSequenceNumbersAndLatestSnapshot()
    {
        RunSnapshot latest;
        await using (TrainingJournal journal = await OpenAsync())
        {
            await journal.StartAsync(Started, Cancellation);
            await journal.AppendAsync(TrainingJournal.AggregatorId, Step(0, slots: 2), Cancellation);
            await journal.WritePolicyUpdatedAsync(Updated(0), Cancellation);
            await journal.SaveSnapshotAsync(Snapshot(1, journal), Cancellation);
            await journal.AppendAsync(TrainingJournal.AggregatorId, Step(1, slots: 2), Cancellation);
            await journal.WritePolicyUpdatedAsync(Updated(1), Cancellation);
            latest = Snapshot(2, journal);
            await journal.SaveSnapshotAsync(latest, Cancellation);
            await journal.WritePolicyUpdatedAsync(Updated(2), Cancellation);
        }

        await using TrainingJournal reopened = await TrainingJournal.OpenForResumeAsync(Sys, _database.Target, ownsSystem: false, Cancellation);

        Assert.Equal(10, reopened.AggregatorSequence);
        Assert.Equal(4, reopened.LearnerSequence);
        Assert.Equivalent(latest, reopened.Snapshot, strict: true);
        Assert.Equal(1, _database.Count("SELECT count(*) FROM snapshot"));
        await reopened.WritePolicyUpdatedAsync(Updated(3), Cancellation);
        Assert.Equal(5, reopened.LearnerSequence);
    }

    [Fact]
    public async Task ANewRunRefusesAJournalThatHoldsARun()
    {
        await using (TrainingJournal journal = await OpenAsync())
        {
            await journal.StartAsync(Started, Cancellation);
        }

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => OpenAsync());

        Assert.Contains("already holds a run", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ACorruptRowIsReportedWithItsPersistenceIdAndSequenceNumber()
    {
        await using (TrainingJournal journal = await OpenAsync())
        {
            await journal.StartAsync(Started, Cancellation);
            await journal.AppendAsync(TrainingJournal.AggregatorId, Step(0, slots: 2), Cancellation);
        }

        string garbage = _database.Target.IsPostgres ? "'\\x7b6e6f74'::bytea" : "X'7B6E6F74'";
        _database.Execute($"UPDATE journal SET message = {garbage} WHERE persistence_id = 'aggregator' AND sequence_number = 3");

        var byId = await Assert.ThrowsAsync<JournalCorruptionException>(() => ReadAsync(Query().CurrentEventsByPersistenceId(TrainingJournal.AggregatorId, cancellationToken: Cancellation)));
        var byOrdering = await Assert.ThrowsAsync<JournalCorruptionException>(() => ReadAsync(Query().CurrentAllEvents(Cancellation)));

        foreach (JournalCorruptionException error in new[] { byId, byOrdering })
        {
            Assert.Equal(("aggregator", 3L), (error.PersistenceId, error.SequenceNumber));
            Assert.Contains("persistence id 'aggregator' at sequence number 3", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task AJournalOfTheEarlierHomeMadeFormatIsRefused()
    {
        _database.Execute("CREATE TABLE schema_version (version INTEGER NOT NULL PRIMARY KEY, applied_at BIGINT NOT NULL, description TEXT NOT NULL)");

        var error = await Assert.ThrowsAsync<LegacyJournalException>(() => OpenAsync());

        Assert.Contains(_database.Target.Describe(), error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    protected override void Dispose(bool disposing)
    {
        // The actor system goes first: a database must not disappear under a running journal (akka-notes §3).
        if (disposing)
        {
            Shutdown(Sys, TimeSpan.FromSeconds(30), verifySystemShutdown: true);
            _database.Dispose();
        }

        base.Dispose(disposing);
    }

    private static RunStarted Started => new("basis", "settings", "policy-hash", "tasks-hash", "offline-table.jsonl", 8, 42, 2, 1);

    private static PolicyUpdated Updated(long step) => new(step + 1, step, null, 0.5 - (step * 0.01), 1.25, 1e-4, 0.3, step % 2 == 0 ? null : 0.25);

    private static object Payload(object @event) => @event is Tagged tagged ? tagged.Payload : @event;

    /// <summary>A step's events as the aggregator journals them: each rollout with its reward, then the formed batch.</summary>
    private static List<object> Step(long step, int slots)
    {
        var events = new List<object>();
        for (int slot = 0; slot < slots; slot++)
        {
            events.Add(new RolloutGenerated(step, slot, 0, $"p{slot}", "4+4=8", [4, 5, 6], [-0.5f, -1.25f, float.Epsilon], step));
            events.Add(new RewardAssigned(step, slot, slot % 2, "exact", Quarantined: slot == 2));
        }

        double[] baselines = [.. Enumerable.Range(0, slots).Select(s => s == 2 ? double.NaN : 0.1 * (s + 1))];
        double[] advantages = [.. Enumerable.Range(0, slots).Select(s => s == 1 ? -0.0 : 1.0 / 3)];
        events.Add(new Tagged(
            new BatchFormed(step, "basis", [.. Enumerable.Range(0, slots)], [.. Enumerable.Range(0, slots).Select(s => $"p{s}")], new int[slots], [.. Enumerable.Range(0, slots).Select(s => (double)(s % 2))], [.. Enumerable.Range(0, slots).Select(s => s == 2)], new int[slots], [.. Enumerable.Repeat(4, slots)], baselines, advantages, 0.75, slots),
            ["batch"]));
        return events;
    }

    private static RunSnapshot Snapshot(long nextStep, TrainingJournal journal) =>
        new(nextStep, nextStep, journal.AggregatorSequence, journal.LearnerSequence, 42, "policy-hash", Encoding.UTF8.GetBytes($"weights {nextStep}"), [1, 2], [3, 4], (int)nextStep, "{}", nextStep * 2, nextStep * 10, 1.5, double.NaN);

    private static async Task<List<JournalEvent>> ReadAsync(IAsyncEnumerable<JournalEvent> events)
    {
        var read = new List<JournalEvent>();
        await foreach (JournalEvent e in events)
        {
            read.Add(e);
        }

        return read;
    }

    private Task<TrainingJournal> OpenAsync() => TrainingJournal.OpenAsync(Sys, _database.Target, ownsSystem: false, Cancellation);

    private JournalQuery Query() => new(Sys, _database.Target, ownsSystem: false);
}

public sealed class SqliteJournalContractTests() : JournalContractTests(JournalDatabase.Sqlite());

public sealed class PostgresJournalContractTests() : JournalContractTests(JournalDatabase.Postgres());
