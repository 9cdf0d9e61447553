using System.Diagnostics;
using System.Globalization;

namespace Basis.Persistence.Bench;

/// <summary>
/// Appends and replays with a stopwatch and this process's CPU time. CPU time per event is the figure that
/// survives a machine loaded by other work (it excludes the PostgreSQL server's own CPU).
/// </summary>
internal static class QuickBench
{
    private const int AppendEvents = 50_000;
    private const int Streams = 100;
    private const int Repetitions = 7;

    public static async Task RunAsync(string[] providers)
    {
        Console.WriteLine($"load average before: {LoadAverage()}");
        foreach (string provider in providers)
        {
            await using BenchStore store = await BenchStore.CreateAsync(provider);
            await using EventJournal journal = await store.OpenAsync();
            var append = new List<(double Wall, double Cpu)>();
            var replay = new List<(double Wall, double Cpu)>();
            for (int round = 0; round <= Repetitions; round++)
            {
                (double wall, double cpu) = await MeasureAsync(() => AppendAsync(journal, round));
                (double replayWall, double replayCpu) = await MeasureAsync(() => ReplayAsync(journal, round));
                if (round > 0)
                {
                    // Round 0 warms up the JIT and the connection pools.
                    append.Add((AppendEvents / wall, cpu * 1e6 / AppendEvents));
                    replay.Add((AppendEvents / replayWall, replayCpu * 1e6 / AppendEvents));
                }
            }

            Print(provider, "append (batched)", append);
            Print(provider, "replay by persistence id", replay);
        }

        Console.WriteLine($"load average after: {LoadAverage()}");
    }

    /// <summary>The back end's batch write alone (serialized events, no queue): where the append time goes.</summary>
    public static async Task RunBackendAsync(string provider)
    {
        await using BenchStore store = await BenchStore.CreateAsync(provider);
        IJournalBackend backend = provider == "sqlite"
            ? new Sqlite.SqliteJournalBackend(store.ConnectionString, TimeProvider.System)
            : new Postgres.PostgresJournalBackend(store.ConnectionString, TimeProvider.System);
        await using (backend)
        {
            await backend.MigrateAsync(CancellationToken.None);
            Serialization.EventSerializerRegistry serializers = BenchStore.Serializers();
            for (int round = 0; round < 4; round++)
            {
                var batches = new List<SerializedEvent[]>();
                for (int start = 0; start < AppendEvents; start += 100)
                {
                    batches.Add([.. Enumerable.Range(start, 100).Select(i =>
                    {
                        (string manifest, byte[] payload) = serializers.Serialize(BenchStore.Event(i));
                        return new SerializedEvent($"b{round}-s{i % Streams}", (i / Streams) + 1, manifest, payload, null);
                    })]);
                }

                (double wall, double cpu) = await MeasureAsync(async () =>
                {
                    foreach (SerializedEvent[] batch in batches)
                    {
                        await backend.WriteAsync(batch, Guid.NewGuid(), 0, CancellationToken.None);
                    }
                });
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{provider} backend-only write: {AppendEvents / wall:N0} events/s, CPU {cpu * 1e6 / AppendEvents:F2} us/event"));
            }
        }
    }

    private static async Task AppendAsync(EventJournal journal, int round)
    {
        var appends = new Task<long>[AppendEvents];
        for (int i = 0; i < AppendEvents; i++)
        {
            appends[i] = journal.AppendAsync(new EventWrite($"r{round}-s{i % Streams}", (i / Streams) + 1, BenchStore.Event(i)));
        }

        await Task.WhenAll(appends);
    }

    private static async Task ReplayAsync(EventJournal journal, int round)
    {
        int read = 0;
        for (int s = 0; s < Streams; s++)
        {
            await foreach (EventEnvelope envelope in journal.CurrentEventsByPersistenceId($"r{round}-s{s}"))
            {
                read += ((RolloutGenerated)envelope.Event).Tokens > 0 ? 1 : 0;
            }
        }

        if (read != AppendEvents)
        {
            throw new InvalidOperationException($"Replayed {read} events, expected {AppendEvents}.");
        }
    }

    private static async Task<(double WallSeconds, double CpuSeconds)> MeasureAsync(Func<Task> action)
    {
        using Process self = Process.GetCurrentProcess();
        TimeSpan cpuBefore = self.TotalProcessorTime;
        long start = Stopwatch.GetTimestamp();
        await action();
        double wall = Stopwatch.GetElapsedTime(start).TotalSeconds;
        self.Refresh();
        return (wall, (self.TotalProcessorTime - cpuBefore).TotalSeconds);
    }

    private static void Print(string provider, string what, List<(double Wall, double Cpu)> samples)
    {
        double medianRate = Median(samples.Select(s => s.Wall));
        double medianCpu = Median(samples.Select(s => s.Cpu));
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"{provider,-10} {what,-26} median {medianRate,10:N0} events/s (min {samples.Min(s => s.Wall),10:N0}, max {samples.Max(s => s.Wall),10:N0})   client CPU {medianCpu,6:F2} us/event"));
    }

    private static double Median(IEnumerable<double> values)
    {
        double[] sorted = [.. values.Order()];
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
}
