using System.Globalization;
using System.Text;
using System.Text.Json;
using Basis.Estimators;

namespace Basis.Training.Journal;

/// <summary>What a verification pass found.</summary>
public sealed record ReplayVerification(int Batches, int Rollouts, IReadOnlyList<string> Mismatches)
{
    public bool Identical => Mismatches.Count == 0;
}

/// <summary>
/// Streams a run's journal: recomputes every formed batch's advantages from the persisted rewards and
/// offline counts with a fresh estimator (fed the batches in step order, as in training), and exports
/// the rollouts as a flat file.
/// </summary>
public static class JournalReplay
{
    private const int MaxReportedMismatches = 20;

    public static async Task<ReplayVerification> VerifyAsync(JournalQuery journal, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(journal);
        RunStarted started = await ReadRunStartedAsync(journal, cancellationToken).ConfigureAwait(false);
        IAdvantageEstimator estimator = EstimatorCatalog.Create(started.Estimator);
        var mismatches = new List<string>();
        int batches = 0;
        int rollouts = 0;
        await foreach (JournalEvent envelope in journal.CurrentEventsByPersistenceId(TrainingJournal.AggregatorId, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (envelope.Event is not BatchFormed formed)
            {
                continue;
            }

            batches++;
            var scored = new List<ScoredRollout>();
            var index = new List<int>();
            for (int i = 0; i < formed.Slots.Length; i++)
            {
                if (formed.Quarantined[i])
                {
                    if (formed.Advantages[i] != 0)
                    {
                        Report(mismatches, $"step {formed.Step} slot {formed.Slots[i]}: quarantined rollout has advantage {formed.Advantages[i]}");
                    }

                    continue;
                }

                OfflineCounts? offline = formed.OfflineSamples[i] >= 0 ? new OfflineCounts(formed.OfflineSuccesses[i], formed.OfflineSamples[i]) : null;
                scored.Add(new ScoredRollout(formed.PromptIds[i], formed.GroupIndices[i], formed.Rewards[i], Offline: offline));
                index.Add(i);
            }

            AdvantageResult result = estimator.Estimate(new RolloutBatch(formed.Step, scored));
            for (int k = 0; k < index.Count; k++)
            {
                int i = index[k];
                rollouts++;
                RolloutEstimate recomputed = result.Rollouts[k];
                if (BitConverter.DoubleToInt64Bits(recomputed.Advantage) != BitConverter.DoubleToInt64Bits(formed.Advantages[i])
                    || BitConverter.DoubleToInt64Bits(recomputed.Baseline) != BitConverter.DoubleToInt64Bits(formed.Baselines[i]))
                {
                    Report(mismatches, string.Create(CultureInfo.InvariantCulture, $"step {formed.Step} slot {formed.Slots[i]} (ordering {envelope.Ordering}): persisted advantage {formed.Advantages[i]:R}, baseline {formed.Baselines[i]:R}; recomputed {recomputed.Advantage:R}, {recomputed.Baseline:R}"));
                }
            }
        }

        return new ReplayVerification(batches, rollouts, mismatches);
    }

    /// <summary>One CSV row per rollout of every formed batch.</summary>
    public static async Task<int> ExportCsvAsync(JournalQuery journal, TextWriter output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(journal);
        ArgumentNullException.ThrowIfNull(output);
        await output.WriteLineAsync("step,slot,prompt_id,group_index,reward,quarantined,offline_successes,offline_samples,baseline,advantage,beta,active_set").ConfigureAwait(false);
        int rows = 0;
        await foreach (JournalEvent envelope in journal.CurrentEventsByPersistenceId(TrainingJournal.AggregatorId, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (envelope.Event is not BatchFormed b)
            {
                continue;
            }

            for (int i = 0; i < b.Slots.Length; i++)
            {
                var line = new StringBuilder();
                line.Append(CultureInfo.InvariantCulture, $"{b.Step},{b.Slots[i]},{Csv(b.PromptIds[i])},{b.GroupIndices[i]},{b.Rewards[i]:R},{(b.Quarantined[i] ? 1 : 0)},");
                line.Append(CultureInfo.InvariantCulture, $"{b.OfflineSuccesses[i]},{b.OfflineSamples[i]},{b.Baselines[i]:R},{b.Advantages[i]:R},{b.Beta?.ToString("R", CultureInfo.InvariantCulture)},{b.ActiveSetSize}");
                await output.WriteLineAsync(line.ToString()).ConfigureAwait(false);
                rows++;
            }
        }

        return rows;
    }

    /// <summary>Every event of the journal in ordering, one JSON object per line.</summary>
    public static async Task<int> ExportJsonLinesAsync(JournalQuery journal, TextWriter output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(journal);
        ArgumentNullException.ThrowIfNull(output);
        var options = new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
        int rows = 0;
        await foreach (JournalEvent envelope in journal.CurrentAllEvents(cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            string payload = JsonSerializer.Serialize(envelope.Event, envelope.Event.GetType(), options);
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{{\"ordering\":{envelope.Ordering},\"persistence_id\":{JsonSerializer.Serialize(envelope.PersistenceId)},\"sequence_number\":{envelope.SequenceNumber},\"manifest\":{JsonSerializer.Serialize(envelope.Manifest)},\"event\":{payload}}}")).ConfigureAwait(false);
            rows++;
        }

        return rows;
    }

    private static async Task<RunStarted> ReadRunStartedAsync(JournalQuery journal, CancellationToken cancellationToken)
    {
        await foreach (JournalEvent envelope in journal.CurrentEventsByPersistenceId(TrainingJournal.LearnerId, 1, 1, cancellationToken).ConfigureAwait(false))
        {
            if (envelope.Event is RunStarted started)
            {
                return started;
            }
        }

        throw new InvalidOperationException($"the journal at {journal.Target.Describe()} has no RunStarted event: not a training run's journal.");
    }

    private static void Report(List<string> mismatches, string message)
    {
        if (mismatches.Count < MaxReportedMismatches)
        {
            mismatches.Add(message);
        }
        else if (mismatches.Count == MaxReportedMismatches)
        {
            mismatches.Add("(further mismatches not listed)");
        }
    }

    private static string Csv(string value) =>
        value.Contains(',', StringComparison.Ordinal) || value.Contains('"', StringComparison.Ordinal) ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;
}
