using System.Diagnostics;
using System.Globalization;
using Basis.Training.Journal;

namespace Basis.Training.Bench;

/// <summary>
/// One pass of the journal benchmarks' work on each database, timed with a stopwatch, for a quick look
/// while developing: append <c>steps</c> steps of the run's event mix, then replay the aggregator stream
/// four times. The figures to quote come from BenchmarkDotNet (<c>--filter '*Journal*'</c>).
/// </summary>
internal static class JournalQuickProgram
{
    private const int ReplayRounds = 4;

    public static async Task<int> RunAsync(string[] args)
    {
        int steps = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 30;
        string[] providers = Environment.GetEnvironmentVariable("BASIS_TEST_POSTGRES") is { Length: > 0 } ? ["sqlite", "postgres"] : ["sqlite"];
        foreach (string provider in providers)
        {
            using JournalBenchStore store = JournalBenchStore.Create(provider);
            await using TrainingJournal journal = await store.OpenAsync();
            await journal.StartAsync(JournalBenchStore.Started, CancellationToken.None);
            var clock = Stopwatch.StartNew();
            for (long step = 0; step < steps; step++)
            {
                await journal.AppendAsync(TrainingJournal.AggregatorId, JournalBenchStore.Step(step), CancellationToken.None);
                await journal.WritePolicyUpdatedAsync(JournalBenchStore.Updated(step), CancellationToken.None);
            }

            double append = steps * JournalBenchStore.EventsPerStep / clock.Elapsed.TotalSeconds;
            double perStep = clock.Elapsed.TotalMilliseconds / steps;
            await using var query = new JournalQuery(journal.System, store.Target, ownsSystem: false);
            var rates = new List<double>();
            long events = 0;
            for (int round = 0; round < ReplayRounds; round++)
            {
                clock.Restart();
                events = 0;
                await foreach (JournalEvent _ in query.CurrentEventsByPersistenceId(TrainingJournal.AggregatorId))
                {
                    events++;
                }

                rates.Add(events / clock.Elapsed.TotalSeconds);
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{provider}: append {append:F0} events/s ({perStep:F1} ms per step of {JournalBenchStore.EventsPerStep} events); replay of {events} events, last of {ReplayRounds} rounds {rates[^1]:F0} events/s (best {rates.Max():F0})"));
        }

        return 0;
    }
}
