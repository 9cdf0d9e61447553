using System.CommandLine;
using System.Globalization;
using Basis.Training.Journal;
using Basis.Training.Run;

namespace Basis.Cli.Commands;

/// <summary><c>basis replay RUN</c>: streams a run's journal, verifies its advantages, exports it.</summary>
internal static class ReplayCommand
{
    public static Command Create()
    {
        var run = new Argument<DirectoryInfo>("RUN") { Description = "The run folder: its journal.db, or the PostgreSQL journal its config.json names." };
        var verify = new Option<bool>("--verify") { Description = "Recompute every batch's advantages from the persisted rewards and offline counts and check they are bit-identical to the persisted ones (exit 1 if not)." };
        var export = new Option<string?>("--export") { Description = "Write a flat file: csv (one row per rollout of every batch) or jsonl (every event)." };
        export.AcceptOnlyFromAmong("csv", "jsonl");
        var output = new Option<FileInfo?>("--out") { Description = "Where --export writes (default: standard output)." };
        var command = new Command(
            "replay",
            "Stream a training run's persisted event journal: counts by event type, --verify recomputes the advantages, --export writes csv or jsonl. "
            + "A corrupt row stops the replay with an error naming its persistence id and sequence number (exit 1).")
        {
            run, verify, export, output,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            TextWriter stdout = parseResult.InvocationConfiguration.Output;
            TextWriter stderr = parseResult.InvocationConfiguration.Error;
            DirectoryInfo folder = parseResult.GetValue(run)!;
            try
            {
                // A PostgreSQL run's folder names its journal in config.json (its password comes from PGPASSWORD or ~/.pgpass).
                JournalTarget database = JournalTarget.ForRunFolder(folder.FullName);
                if (RunConfigFile.TryReadExternalJournal(folder.FullName, out string external, out string externalConnection))
                {
                    database = JournalTarget.From(external, externalConnection, folder.FullName);
                }
                else if (!File.Exists(database.SqlitePath))
                {
                    stderr.WriteLine($"basis replay: {database.SqlitePath} does not exist; is {folder.FullName} a run folder?");
                    return 1;
                }

                await using JournalQuery journal = await JournalQuery.OpenAsync(database, null, cancellationToken);
                
                var counts = new SortedDictionary<string, int>(StringComparer.Ordinal);
                await foreach (JournalEvent envelope in journal.CurrentAllEvents(cancellationToken))
                {
                    counts[envelope.Manifest] = counts.GetValueOrDefault(envelope.Manifest) + 1;
                }

                stdout.WriteLine($"journal {database.Describe()}: {string.Join(", ", counts.Select(c => $"{c.Value} {c.Key}"))}");
                int status = 0;
                if (parseResult.GetValue(verify))
                {
                    ReplayVerification result = await JournalReplay.VerifyAsync(journal, cancellationToken);
                    if (result.Identical)
                    {
                        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"verify: {result.Batches} batches, {result.Rollouts} advantages recomputed, all bit-identical"));
                    }
                    else
                    {
                        stderr.WriteLine($"verify: {result.Mismatches.Count} mismatches:");
                        foreach (string mismatch in result.Mismatches)
                        {
                            stderr.WriteLine("  " + mismatch);
                        }

                        status = 1;
                    }
                }

                if (parseResult.GetValue(export) is string format)
                {
                    FileInfo? file = parseResult.GetValue(output);
                    await using TextWriter writer = file is null ? TextWriter.Synchronized(TextWriter.Null) : new StreamWriter(file.FullName);
                    TextWriter target = file is null ? stdout : writer;
                    int rows = format == "csv"
                        ? await JournalReplay.ExportCsvAsync(journal, target, cancellationToken)
                        : await JournalReplay.ExportJsonLinesAsync(journal, target, cancellationToken);
                    if (file is not null)
                    {
                        stdout.WriteLine($"export: {rows} rows written to {file.FullName}");
                    }
                }

                return status;
            }
            catch (Exception e) when (e is JournalCorruptionException or JournalUnavailableException or LegacyJournalException or InvalidOperationException or IOException or FormatException or ArgumentException)
            {
                stderr.WriteLine($"basis replay: {e.Message}");
                return 1;
            }
        });
        return command;
    }
}
