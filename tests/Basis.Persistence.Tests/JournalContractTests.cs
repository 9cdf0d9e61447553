using System.Text;
using Basis.Persistence.Serialization;

namespace Basis.Persistence.Tests;

/// <summary>
/// The journal's contract, run against every back end by a derived class. Each test gets a fresh, empty
/// store from <see cref="CreateFreshStoreAsync"/>; time is a <see cref="ManualTimeProvider"/>.
/// </summary>
public abstract class JournalContractTests : IAsyncLifetime
{
    private static readonly TimeSpan s_poll = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan s_gapTimeout = TimeSpan.FromSeconds(10);

    private readonly List<EventJournal> _journals = [];
    private readonly ManualTimeProvider _time = new(new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero));
    private string? _store;

    protected abstract string Provider { get; }

    /// <summary>A connection string that cannot be reached; contains a secret if the provider has passwords.</summary>
    protected abstract string UnreachableConnectionString { get; }

    /// <summary>The password inside <see cref="UnreachableConnectionString"/>, if any, which must never be shown.</summary>
    protected abstract string? UnreachableSecret { get; }

    protected string Store => _store ?? throw new InvalidOperationException("The store is created in InitializeAsync.");

    /// <summary>Creates an empty store (file, schema) and returns its connection string.</summary>
    protected abstract Task<string> CreateFreshStoreAsync();

    /// <summary>Removes the store created by <see cref="CreateFreshStoreAsync"/>.</summary>
    protected abstract Task DropStoreAsync(string connectionString);

    /// <summary>Inserts a row with an explicit ordering behind the journal's back (a writer committing late, or corruption).</summary>
    protected abstract Task InsertRawEventAsync(
        string connectionString, long ordering, string persistenceId, long sequenceNumber, DateTimeOffset created, string manifest, byte[] payload, string? tag);

    public async ValueTask InitializeAsync() => _store = await CreateFreshStoreAsync();

    public async ValueTask DisposeAsync()
    {
        foreach (EventJournal journal in _journals)
        {
            await journal.DisposeAsync();
        }

        if (_store is not null)
        {
            await DropStoreAsync(_store);
        }

        GC.SuppressFinalize(this);
    }

    [Fact]
    public async Task Appended_events_read_back_in_sequence_order_with_their_metadata()
    {
        EventJournal journal = await OpenAsync();
        long o1 = await journal.AppendAsync(new EventWrite("rollout-1", 1, new RolloutGenerated("p1", 3, 0.5)));
        long[] more = await journal.AppendAtomicAsync(
        [
            new EventWrite("rollout-1", 2, new RolloutGenerated("p2", 3, 1.0)),
            new EventWrite("rollout-1", 3, new PolicyUpdated(4, "ckpt-4")),
        ]);
        await journal.AppendAsync(new EventWrite("other", 1, new PolicyUpdated(1, "x")));

        List<EventEnvelope> events = await ToListAsync(journal.CurrentEventsByPersistenceId("rollout-1"));

        Assert.Equal([1L, 2L, 3L], events.Select(e => e.SequenceNumber));
        Assert.Equal([o1, more[0], more[1]], events.Select(e => e.Ordering));
        Assert.True(o1 < more[0] && more[0] < more[1]);
        Assert.Equal(new RolloutGenerated("p1", 3, 0.5), events[0].Event);
        Assert.Equal(new PolicyUpdated(4, "ckpt-4"), events[2].Event);
        Assert.Equal("PolicyUpdated.v1", events[2].Manifest);
        Assert.All(events, e => Assert.Equal(journal.WriterUuid, e.WriterUuid));
        Assert.All(events, e => Assert.Equal(_time.GetUtcNow(), e.Created));
        Assert.Equal(3, await journal.HighestSequenceNumberAsync("rollout-1"));
        Assert.Equal(0, await journal.HighestSequenceNumberAsync("nobody"));

        List<EventEnvelope> slice = await ToListAsync(journal.CurrentEventsByPersistenceId("rollout-1", 2, 2));
        Assert.Equal([2L], slice.Select(e => e.SequenceNumber));
    }

    [Fact]
    public async Task A_taken_sequence_number_fails_with_a_concurrency_error_naming_the_stream()
    {
        EventJournal journal = await OpenAsync();
        await journal.AppendAsync(new EventWrite("learner", 1, new PolicyUpdated(1, "a")));

        JournalConcurrencyException error = await Assert.ThrowsAsync<JournalConcurrencyException>(
            () => journal.AppendAsync(new EventWrite("learner", 1, new PolicyUpdated(1, "b"))));

        Assert.Equal("learner", error.PersistenceId);
        Assert.Equal(1, error.FromSequenceNumber);
        Assert.Contains("'learner'", error.Message, StringComparison.Ordinal);
        List<EventEnvelope> events = await ToListAsync(journal.CurrentEventsByPersistenceId("learner"));
        Assert.Equal(new PolicyUpdated(1, "a"), Assert.Single(events).Event);
    }

    [Fact]
    public async Task A_conflict_inside_a_batch_fails_only_the_conflicting_write()
    {
        EventJournal journal = await OpenAsync();
        await journal.AppendAsync(new EventWrite("a", 1, new PolicyUpdated(1, "a1")));

        Task<long> good;
        Task<long[]> conflicting;
        Task<long> other;
        await using (await journal.HoldWriterAsync())
        {
            good = journal.AppendAsync(new EventWrite("a", 2, new PolicyUpdated(2, "a2")));
            conflicting = journal.AppendAtomicAsync([new EventWrite("a", 1, new PolicyUpdated(9, "dup")), new EventWrite("a", 3, new PolicyUpdated(3, "x"))]);
            other = journal.AppendAsync(new EventWrite("b", 1, new PolicyUpdated(1, "b1")));
        }

        await good;
        await other;
        JournalConcurrencyException error = await Assert.ThrowsAsync<JournalConcurrencyException>(() => conflicting);
        Assert.Equal(("a", 1L, 3L), (error.PersistenceId, error.FromSequenceNumber, error.ToSequenceNumber));
        Assert.Equal([1L, 2L], (await ToListAsync(journal.CurrentEventsByPersistenceId("a"))).Select(e => e.SequenceNumber));
        Assert.Single(await ToListAsync(journal.CurrentEventsByPersistenceId("b")));
    }

    [Fact]
    public async Task Queued_writes_are_committed_in_batches_of_at_most_one_hundred_and_atomic_writes_are_never_split()
    {
        EventJournal journal = await OpenAsync();
        var singles = new List<Task<long>>();
        await using (await journal.HoldWriterAsync())
        {
            for (int i = 1; i <= 250; i++)
            {
                singles.Add(journal.AppendAsync(new EventWrite($"p{i % 7}", (i / 7) + 1, new RolloutGenerated($"q{i}", 1, i))));
            }
        }

        long[] orderings = await Task.WhenAll(singles);
        Assert.Equal(new JournalWriterStatistics(3, 250, 100), journal.Statistics);
        Assert.Equal(250, orderings.Distinct().Count());

        Task<long[]> first;
        Task<long[]> second;
        await using (await journal.HoldWriterAsync())
        {
            first = journal.AppendAtomicAsync([.. Enumerable.Range(1, 60).Select(s => new EventWrite("atomic-1", s, new PolicyUpdated(s, "c")))]);
            second = journal.AppendAtomicAsync([.. Enumerable.Range(1, 60).Select(s => new EventWrite("atomic-2", s, new PolicyUpdated(s, "c")))]);
        }

        await Task.WhenAll(first, second);
        Assert.Equal(new JournalWriterStatistics(5, 370, 100), journal.Statistics);
    }

    [Fact]
    public async Task Many_concurrent_writers_each_see_their_own_events_committed_in_order()
    {
        EventJournal journal = await OpenAsync();
        const int writers = 16;
        const int eventsEach = 40;
        long[][] perWriter = await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            var orderings = new long[eventsEach];
            for (int s = 1; s <= eventsEach; s++)
            {
                orderings[s - 1] = await journal.AppendAsync(new EventWrite($"writer-{w}", s, new RolloutGenerated($"w{w}s{s}", w, s), ["all"]));
            }

            return orderings;
        })));

        Assert.All(perWriter, orderings => Assert.True(orderings.SequenceEqual(orderings.Order())));
        Assert.Equal(writers * eventsEach, perWriter.SelectMany(o => o).Distinct().Count());
        for (int w = 0; w < writers; w++)
        {
            List<EventEnvelope> events = await ToListAsync(journal.CurrentEventsByPersistenceId($"writer-{w}"));
            Assert.Equal(Enumerable.Range(1, eventsEach).Select(s => (long)s), events.Select(e => e.SequenceNumber));
            Assert.Equal(perWriter[w], events.Select(e => e.Ordering));
        }

        List<EventEnvelope> tagged = await ToListAsync(journal.CurrentEventsByTag("all"));
        Assert.Equal(perWriter.SelectMany(o => o).Order(), tagged.Select(e => e.Ordering));
    }

    [Fact]
    public async Task Tag_queries_return_exactly_the_tagged_events_in_ordering_order_after_the_offset()
    {
        EventJournal journal = await OpenAsync();
        long a1 = await journal.AppendAsync(new EventWrite("s", 1, new PolicyUpdated(1, "a1"), ["a"]));
        long b1 = await journal.AppendAsync(new EventWrite("s", 2, new PolicyUpdated(2, "b1"), ["b"]));
        await journal.AppendAsync(new EventWrite("s", 3, new PolicyUpdated(3, "none")));
        long ab = await journal.AppendAsync(new EventWrite("t", 1, new PolicyUpdated(4, "ab"), ["a", "b", "a"]));

        Assert.Equal([a1, ab], (await ToListAsync(journal.CurrentEventsByTag("a"))).Select(e => e.Ordering));
        Assert.Equal([b1, ab], (await ToListAsync(journal.CurrentEventsByTag("b"))).Select(e => e.Ordering));
        Assert.Equal([ab], (await ToListAsync(journal.CurrentEventsByTag("a", offset: a1))).Select(e => e.Ordering));
        Assert.Empty(await ToListAsync(journal.CurrentEventsByTag("c")));
        Assert.Equal(4, (await ToListAsync(journal.CurrentAllEvents())).Count);
    }

    [Fact]
    public async Task Live_queries_deliver_own_commits_at_once_and_other_writers_commits_at_the_next_poll()
    {
        EventJournal journal = await OpenAsync();
        EventJournal otherProcess = await OpenAsync();
        await using IAsyncEnumerator<EventEnvelope> byId = journal.EventsByPersistenceId("learner").GetAsyncEnumerator();
        await using IAsyncEnumerator<EventEnvelope> byTag = journal.EventsByTag("policy").GetAsyncEnumerator();

        Task<bool> nextById = await StartIdleAsync(byId);
        Task<bool> nextByTag = await StartIdleAsync(byTag);
        await journal.AppendAsync(new EventWrite("learner", 1, new PolicyUpdated(1, "c1"), ["policy"]));
        Assert.Equal(1, (await CurrentAsync(byId, nextById)).SequenceNumber);
        Assert.Equal(new PolicyUpdated(1, "c1"), (await CurrentAsync(byTag, nextByTag)).Event);

        nextById = await StartIdleAsync(byId);
        nextByTag = await StartIdleAsync(byTag);
        await otherProcess.AppendAsync(new EventWrite("learner", 2, new PolicyUpdated(2, "c2"), ["policy"]));
        Assert.False(nextById.IsCompleted);
        _time.Advance(s_poll);
        Assert.Equal(2, (await CurrentAsync(byId, nextById)).SequenceNumber);
        Assert.Equal(new PolicyUpdated(2, "c2"), (await CurrentAsync(byTag, nextByTag)).Event);

        // The notification hook wakes live queries without waiting for the poll.
        nextById = await StartIdleAsync(byId);
        await otherProcess.AppendAsync(new EventWrite("learner", 3, new PolicyUpdated(3, "c3")));
        journal.NotifyChanged();
        Assert.Equal(3, (await CurrentAsync(byId, nextById)).SequenceNumber);
    }

    [Fact]
    public async Task Live_tag_query_holds_back_at_a_gap_until_it_fills_then_delivers_in_ordering_order()
    {
        EventJournal journal = await OpenAsync();
        long first = await journal.AppendAsync(new EventWrite("s", 1, new PolicyUpdated(1, "first"), ["t"]));
        await using IAsyncEnumerator<EventEnvelope> live = journal.EventsByTag("t").GetAsyncEnumerator();
        Assert.Equal(first, (await CurrentAsync(live, live.MoveNextAsync().AsTask())).Ordering);

        Task<bool> next = await StartIdleAsync(live);
        await InsertAsync(journal, first + 2, "late", 2, "t");
        await PollAndWaitIdleAsync();
        Assert.False(next.IsCompleted, "the query must not pass the gap at ordering first + 1");

        // The transaction holding first + 1 commits late; the query delivers it before first + 2.
        await InsertAsync(journal, first + 1, "late", 1, "t");
        _time.Advance(s_poll);
        Assert.Equal(first + 1, (await CurrentAsync(live, next)).Ordering);
        Assert.Equal(first + 2, (await CurrentAsync(live, live.MoveNextAsync().AsTask())).Ordering);
    }

    [Fact]
    public async Task Live_tag_query_moves_past_a_gap_once_it_is_older_than_the_gap_timeout()
    {
        EventJournal journal = await OpenAsync();
        long first = await journal.AppendAsync(new EventWrite("s", 1, new PolicyUpdated(1, "first"), ["t"]));
        await using IAsyncEnumerator<EventEnvelope> live = journal.EventsByTag("t").GetAsyncEnumerator();
        Assert.Equal(first, (await CurrentAsync(live, live.MoveNextAsync().AsTask())).Ordering);

        Task<bool> next = await StartIdleAsync(live);
        await InsertAsync(journal, first + 2, "s", 3, "t");
        await PollAndWaitIdleAsync();
        Assert.False(next.IsCompleted);
        int timers = _time.TimersCreated;
        _time.Advance(s_gapTimeout - (2 * s_poll));
        await WaitIdleAfterAsync(timers);
        Assert.False(next.IsCompleted, "the gap is not yet older than the timeout");

        _time.Advance(s_poll);
        Assert.Equal(first + 2, (await CurrentAsync(live, next)).Ordering);

        // A row filling the abandoned gap now is behind the query's offset; the query goes on from first + 2.
        await InsertAsync(journal, first + 1, "s", 2, "t");
        await InsertAsync(journal, first + 3, "s", 4, "t");
        next = live.MoveNextAsync().AsTask();
        _time.Advance(s_poll);
        Assert.Equal(first + 3, (await CurrentAsync(live, next)).Ordering);
    }

    [Fact]
    public async Task Current_tag_query_waits_for_a_fresh_gap_below_the_end_it_saw()
    {
        EventJournal journal = await OpenAsync();
        long first = await journal.AppendAsync(new EventWrite("s", 1, new PolicyUpdated(1, "first"), ["t"]));
        await InsertAsync(journal, first + 2, "s", 3, "t");

        int timers = _time.TimersCreated;
        Task<List<EventEnvelope>> current = ToListAsync(journal.CurrentEventsByTag("t"));
        await _time.WaitForTimersCreatedAsync(timers + 1);
        Assert.False(current.IsCompleted);

        await InsertAsync(journal, first + 1, "s", 2, "t");
        _time.Advance(s_poll);
        Assert.Equal([first, first + 1, first + 2], (await current.WaitAsync(TimeSpan.FromSeconds(30))).Select(e => e.Ordering));
    }

    [Fact]
    public async Task Snapshots_load_the_latest_at_or_below_the_criteria()
    {
        EventJournal journal = await OpenAsync();
        await journal.SaveSnapshotAsync("learner", 5, new CounterSnapshot(5, ["a"]));
        await journal.SaveSnapshotAsync("learner", 10, new CounterSnapshot(10, ["a", "b"]));
        await journal.SaveSnapshotAsync("other", 20, new CounterSnapshot(20, []));

        SnapshotEnvelope? latest = await journal.LoadSnapshotAsync("learner");
        Assert.NotNull(latest);
        Assert.Equal(10, latest.SequenceNumber);
        Assert.Equal(new[] { "a", "b" }, ((CounterSnapshot)latest.Snapshot).Seen);
        Assert.Equal("CounterSnapshot.v1", latest.Manifest);
        Assert.Equal(_time.GetUtcNow(), latest.Created);
        Assert.Equal(5, (await journal.LoadSnapshotAsync("learner", 9))!.SequenceNumber);
        Assert.Null(await journal.LoadSnapshotAsync("learner", 4));
        Assert.Null(await journal.LoadSnapshotAsync("nobody"));

        await journal.SaveSnapshotAsync("learner", 10, new CounterSnapshot(11, ["replaced"]));
        Assert.Equal(11, ((CounterSnapshot)(await journal.LoadSnapshotAsync("learner"))!.Snapshot).Total);
    }

    [Theory]
    [InlineData(100)] // exactly one page (the query page size): the next, empty page ends it
    [InlineData(250)]
    public async Task A_current_query_by_persistence_id_pages_to_the_end_of_its_stream(int count)
    {
        EventJournal journal = await OpenAsync();
        await journal.AppendAtomicAsync([.. Enumerable.Range(1, count).Select(s => new EventWrite("long", s, new PolicyUpdated(s, "c")))]);
        await journal.AppendAsync(new EventWrite("other", 1, new PolicyUpdated(0, "c")));

        List<EventEnvelope> events = await ToListAsync(journal.CurrentEventsByPersistenceId("long", 2));

        Assert.Equal(Enumerable.Range(2, count - 1).Select(s => (long)s), events.Select(e => e.SequenceNumber));
        Assert.Empty(await ToListAsync(journal.CurrentEventsByPersistenceId("long", count + 1)));
    }

    [Fact]
    public async Task Deleting_snapshots_up_to_a_sequence_number_keeps_the_later_ones_and_other_streams()
    {
        EventJournal journal = await OpenAsync();
        await journal.SaveSnapshotAsync("learner", 5, new CounterSnapshot(5, []));
        await journal.SaveSnapshotAsync("learner", 10, new CounterSnapshot(10, []));
        await journal.SaveSnapshotAsync("other", 3, new CounterSnapshot(3, []));

        await journal.DeleteSnapshotsToAsync("learner", 9);

        Assert.Null(await journal.LoadSnapshotAsync("learner", 9));
        Assert.Equal(10, (await journal.LoadSnapshotAsync("learner"))!.SequenceNumber);
        Assert.Equal(3, (await journal.LoadSnapshotAsync("other"))!.SequenceNumber);
        await journal.DeleteSnapshotsToAsync("learner", 10);
        Assert.Null(await journal.LoadSnapshotAsync("learner"));
    }

    [Fact]
    public async Task Deleted_events_are_hidden_but_keep_the_highest_sequence_number()
    {
        EventJournal journal = await OpenAsync();
        for (int s = 1; s <= 4; s++)
        {
            await journal.AppendAsync(new EventWrite("s", s, new PolicyUpdated(s, "c"), ["t"]));
        }

        await journal.DeleteEventsToAsync("s", 4);
        await journal.AppendAsync(new EventWrite("s", 5, new PolicyUpdated(5, "c"), ["t"]));

        Assert.Equal([5L], (await ToListAsync(journal.CurrentEventsByPersistenceId("s"))).Select(e => e.SequenceNumber));
        Assert.Equal([5L], (await ToListAsync(journal.CurrentEventsByTag("t"))).Select(e => e.SequenceNumber));
        Assert.Equal(5, await journal.HighestSequenceNumberAsync("s"));
    }

    [Fact]
    public async Task Migrations_are_recorded_once_even_with_concurrent_starters()
    {
        EventJournal[] starters = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => OpenAsync()));
        await starters[0].AppendAsync(new EventWrite("s", 1, new PolicyUpdated(1, "kept")));
        EventJournal again = await OpenAsync();

        IReadOnlyList<AppliedMigration> versions = await again.SchemaVersionsAsync();
        AppliedMigration v1 = Assert.Single(versions);
        Assert.Equal(1, v1.Version);
        Assert.False(string.IsNullOrWhiteSpace(v1.Description));
        Assert.Equal(_time.GetUtcNow(), v1.AppliedAt);
        Assert.Single(await ToListAsync(again.CurrentEventsByPersistenceId("s")));
    }

    [Fact]
    public async Task A_corrupt_row_fails_the_read_with_its_ordering_and_persistence_id()
    {
        EventJournal journal = await OpenAsync();
        long good = await journal.AppendAsync(new EventWrite("run-7", 1, new PolicyUpdated(1, "ok")));
        await InsertRawEventAsync(Store, good + 1, "run-7", 2, _time.GetUtcNow(), "PolicyUpdated.v1", Encoding.UTF8.GetBytes("{\"Version\": tru"), null);

        JournalCorruptionException error = await Assert.ThrowsAsync<JournalCorruptionException>(
            () => ToListAsync(journal.CurrentEventsByPersistenceId("run-7")));

        Assert.Equal(good + 1, error.Ordering);
        Assert.Equal("run-7", error.PersistenceId);
        Assert.Contains($"ordering {good + 1}", error.Message, StringComparison.Ordinal);
        Assert.Contains("'run-7'", error.Message, StringComparison.Ordinal);

        await InsertRawEventAsync(Store, good + 2, "run-8", 1, _time.GetUtcNow(), "NoSuchEvent.v1", [1, 2, 3], null);
        error = await Assert.ThrowsAsync<JournalCorruptionException>(() => ToListAsync(journal.CurrentAllEvents(offset: good + 1)));
        Assert.Equal((good + 2, "run-8"), (error.Ordering, error.PersistenceId));
    }

    [Fact]
    public async Task An_unreachable_database_fails_loudly_naming_it_and_earlier_commits_stay_intact()
    {
        EventJournal journal = await OpenAsync();
        for (int s = 1; s <= 3; s++)
        {
            await journal.AppendAsync(new EventWrite("kept", s, new PolicyUpdated(s, "c")));
        }

        JournalUnavailableException error = await Assert.ThrowsAsync<JournalUnavailableException>(
            () => JournalFactory.CreateAsync(Provider, UnreachableConnectionString, TestRegistries.Create(), Options()));

        Assert.Contains(error.Target, error.Message, StringComparison.Ordinal);
        Assert.Contains("unreachable", error.Message, StringComparison.Ordinal);
        if (UnreachableSecret is { } secret)
        {
            Assert.DoesNotContain(secret, error.ToString(), StringComparison.Ordinal);
        }

        Assert.Equal([1L, 2L, 3L], (await ToListAsync(journal.CurrentEventsByPersistenceId("kept"))).Select(e => e.SequenceNumber));
    }

    [Fact]
    public async Task Events_written_at_an_old_schema_version_are_upcast_when_read()
    {
        EventJournal oldBuild = await OpenAsync(TestRegistries.CreateV1());
        await oldBuild.AppendAsync(new EventWrite("r", 1, new RewardAssignedV1("p9", 0.25)));
        EventJournal newBuild = await OpenAsync(TestRegistries.CreateV2());
        await newBuild.AppendAsync(new EventWrite("r", 2, new RewardAssigned("p10", 1, "points")));

        List<EventEnvelope> events = await ToListAsync(newBuild.CurrentEventsByPersistenceId("r"));

        Assert.Equal(["RewardAssigned.v1", "RewardAssigned.v2"], events.Select(e => e.Manifest));
        Assert.Equal(new RewardAssigned("p9", 0.25, "points"), events[0].Event);
        Assert.Equal(new RewardAssigned("p10", 1, "points"), events[1].Event);
    }

    protected JournalOptions Options() => new()
    {
        TimeProvider = _time,
        PollInterval = s_poll,
        GapTimeout = s_gapTimeout,
        QueueCapacity = 1000,
        QueryPageSize = 100,
    };

    private async Task<EventJournal> OpenAsync(EventSerializerRegistry? serializers = null)
    {
        EventJournal journal = await JournalFactory.CreateAsync(Provider, Store, serializers ?? TestRegistries.Create(), Options());
        lock (_journals)
        {
            _journals.Add(journal);
        }

        return journal;
    }

    private Task InsertAsync(EventJournal journal, long ordering, string persistenceId, long sequenceNumber, string tag)
    {
        (string manifest, byte[] payload) = journal.Serializers.Serialize(new PolicyUpdated((int)ordering, "raw"));
        return InsertRawEventAsync(Store, ordering, persistenceId, sequenceNumber, _time.GetUtcNow(), manifest, payload, tag);
    }

    /// <summary>Starts the next read and returns once the query has polled, found nothing, and gone idle.</summary>
    private async Task<Task<bool>> StartIdleAsync(IAsyncEnumerator<EventEnvelope> enumerator)
    {
        int timers = _time.TimersCreated;
        Task<bool> next = enumerator.MoveNextAsync().AsTask();
        await Task.WhenAny(next, _time.WaitForTimersCreatedAsync(timers + 1));
        return next;
    }

    /// <summary>Lets one poll interval pass and returns once the idle query has polled again and gone back to sleep.</summary>
    private async Task PollAndWaitIdleAsync()
    {
        int timers = _time.TimersCreated;
        _time.Advance(s_poll);
        await WaitIdleAfterAsync(timers);
    }

    private Task WaitIdleAfterAsync(int timers) => _time.WaitForTimersCreatedAsync(timers + 1);

    private static async Task<EventEnvelope> CurrentAsync(IAsyncEnumerator<EventEnvelope> enumerator, Task<bool> next)
    {
        Assert.True(await next.WaitAsync(TimeSpan.FromSeconds(30)), "the live query ended");
        return enumerator.Current;
    }

    private static async Task<List<EventEnvelope>> ToListAsync(IAsyncEnumerable<EventEnvelope> source)
    {
        var result = new List<EventEnvelope>();
        await foreach (EventEnvelope envelope in source)
        {
            result.Add(envelope);
        }

        return result;
    }
}
