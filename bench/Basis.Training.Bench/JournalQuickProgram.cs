using System.Diagnostics;
using System.Globalization;
using Basis.Training.Journal;

namespace Basis.Training.Bench;

/// <summary>One pass of the journal benchmarks' work on each database, timed with a stopwatch: for a quick check while developing.</summary>
internal static class JournalQuickProgram
{
    public static async Task<int> RunAsync(string[] args)
    {
        if (Environment.GetEnvironmentVariable("H17_TRACE") is not null)
        {
            LinqToDB.Data.DataConnection.TurnTraceSwitchOn();
            LinqToDB.Data.DataConnection.WriteTraceLine = (message, category, level) => { if (message is not null && message.Contains("tags", StringComparison.Ordinal)) { Console.WriteLine(message); } };
        }

        int steps = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 40;
        foreach (string provider in Environment.GetEnvironmentVariable("BASIS_TEST_POSTGRES") is { Length: > 0 } ? new[] { "sqlite", "postgres" } : ["sqlite"])
        {
            using JournalBenchStore store = JournalBenchStore.Create(provider);
            await using TrainingJournal journal = await store.OpenAsync();
            await journal.StartAsync(JournalBenchStore.Started, CancellationToken.None);
            var clock = Stopwatch.StartNew();
            TimeSpan cpu = Process.GetCurrentProcess().TotalProcessorTime;
            for (long step = 0; step < steps; step++)
            {
                await journal.AppendAsync(TrainingJournal.AggregatorId, JournalBenchStore.Step(step), CancellationToken.None);
                await journal.WritePolicyUpdatedAsync(JournalBenchStore.Updated(step), CancellationToken.None);
            }

            double append = steps * JournalBenchStore.EventsPerStep / clock.Elapsed.TotalSeconds;
            double perStep = clock.Elapsed.TotalMilliseconds / steps;
            double appendCpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds / steps;
            await using var query = new JournalQuery(journal.System, store.Target, ownsSystem: false);
            double replay = 0;
            long events = 0;
            double replayCpu = 0;
            for (int round = 0; round < 4; round++)
            {
                clock.Restart();
                cpu = Process.GetCurrentProcess().TotalProcessorTime;
                events = 0;
                TimeSpan first = TimeSpan.Zero;
                await foreach (JournalEvent _ in query.CurrentEventsByPersistenceId(TrainingJournal.AggregatorId))
                {
                    if (events++ == 0)
                    {
                        first = clock.Elapsed;
                    }
                }

                replay = events / clock.Elapsed.TotalSeconds;
                replayCpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds * 1000 / events;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  replay round {round}: {replay:F0} events/s, first event after {first.TotalMilliseconds:F0} ms, total {clock.Elapsed.TotalMilliseconds:F0} ms"));
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{provider}: append {append:F0} events/s ({perStep:F1} ms per step of {JournalBenchStore.EventsPerStep} events); replay {replay:F0} events/s ({events} events)"));
        }

        return 0;
    }
}
