using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;

namespace Basis.Persistence.Bench;

/// <summary>
/// Batched appends: 10,000 appends in flight from 100 streams, as the training graph's stages produce them;
/// the writer drains the queue in batches of up to 100. One operation = one event.
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 2, iterationCount: 9)]
[MedianColumn]
public class JournalAppendBenchmarks
{
    private const int EventsPerInvoke = 10_000;
    private const int Streams = 100;

    private BenchStore _store = null!;
    private EventJournal _journal = null!;
    private int _round;

    [Params("sqlite", "postgresql")]
    public string Provider { get; set; } = "sqlite";

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _store = await BenchStore.CreateAsync(Provider);
        _journal = await _store.OpenAsync();
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _journal.DisposeAsync();
        await _store.DisposeAsync();
    }

    [Benchmark(OperationsPerInvoke = EventsPerInvoke)]
    public async Task AppendBatched()
    {
        int round = Interlocked.Increment(ref _round);
        var appends = new Task<long>[EventsPerInvoke];
        for (int i = 0; i < EventsPerInvoke; i++)
        {
            var write = new EventWrite($"r{round}-s{i % Streams}", (i / Streams) + 1, BenchStore.Event(i), (i & 7) == 0 ? s_tags : null);
            appends[i] = _journal.AppendAsync(write);
        }

        await Task.WhenAll(appends);
    }

    private static readonly string[] s_tags = ["policy"];
}

/// <summary>Replay: reading back one stream of 100,000 events and deserializing every one. One operation = one event.</summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 2, iterationCount: 9)]
[MedianColumn]
public class JournalReplayBenchmarks
{
    private const int Events = 100_000;

    private BenchStore _store = null!;
    private EventJournal _journal = null!;

    [Params("sqlite", "postgresql")]
    public string Provider { get; set; } = "sqlite";

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _store = await BenchStore.CreateAsync(Provider);
        _journal = await _store.OpenAsync();
        for (int start = 0; start < Events; start += 100)
        {
            await _journal.AppendAtomicAsync([.. Enumerable.Range(start, 100).Select(i => new EventWrite("learner", i + 1, BenchStore.Event(i)))]);
        }
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _journal.DisposeAsync();
        await _store.DisposeAsync();
    }

    [Benchmark(OperationsPerInvoke = Events)]
    public async Task<long> ReplayByPersistenceId()
    {
        long sum = 0;
        await foreach (EventEnvelope envelope in _journal.CurrentEventsByPersistenceId("learner"))
        {
            sum += ((RolloutGenerated)envelope.Event).Tokens;
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = Events)]
    public async Task<long> ReplayAllEvents()
    {
        long count = 0;
        await foreach (EventEnvelope envelope in _journal.CurrentAllEvents())
        {
            count += envelope.SequenceNumber;
        }

        return count;
    }
}
