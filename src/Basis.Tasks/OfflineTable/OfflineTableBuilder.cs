using System.Buffers;
using Basis.Tasks.Synthetic;
using Basis.Tasks.Verification;

namespace Basis.Tasks.OfflineTable;

/// <summary>How an offline table is sampled.</summary>
public sealed record OfflineTableBuildOptions
{
    /// <summary>Completions sampled per prompt (N).</summary>
    public required int SamplesPerPrompt { get; init; }

    /// <summary>Prompts per sampler call; each finished batch is appended and flushed to the progress file.</summary>
    public int BatchSize { get; init; } = 16;

    public ulong Seed { get; init; }

    /// <summary>Resume a progress file started by a different policy instead of refusing.</summary>
    public bool AllowPolicyMismatch { get; init; }
}

/// <summary>What a build produced.</summary>
/// <param name="Table">The table: header (policy and task-set hashes) and counts for every prompt.</param>
/// <param name="ResumedPrompts">Prompts found already finished in the progress file.</param>
/// <param name="SampledPrompts">Prompts sampled by this call.</param>
public sealed record OfflineTableBuildResult(OfflineTableData Table, int ResumedPrompts, int SampledPrompts);

/// <summary>
/// Builds the offline value table: N completions per prompt from the reference policy, verified, and
/// successes/N recorded per prompt id in a resumable progress file (see <see cref="OfflineTableFile"/>).
/// Prompts are cut into fixed batches of the full prompt list and batch k is sampled with a seed derived
/// from (seed, k), so a build interrupted between batches and resumed gives the same table as one that
/// was never interrupted.
/// </summary>
public sealed class OfflineTableBuilder
{
    private readonly ICompletionSampler _sampler;
    private readonly VerifierRegistry _verifiers;

    public OfflineTableBuilder(ICompletionSampler sampler, VerifierRegistry verifiers)
    {
        ArgumentNullException.ThrowIfNull(sampler);
        ArgumentNullException.ThrowIfNull(verifiers);
        _sampler = sampler;
        _verifiers = verifiers;
    }

    public OfflineTableBuildResult Build(
        IReadOnlyList<TaskPrompt> prompts,
        string policyHash,
        string progressPath,
        OfflineTableBuildOptions options,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentException.ThrowIfNullOrEmpty(policyHash);
        ArgumentException.ThrowIfNullOrEmpty(progressPath);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.SamplesPerPrompt, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.BatchSize, 1);

        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (TaskPrompt prompt in prompts)
        {
            if (!ids.Add(prompt.Id))
            {
                throw new ArgumentException($"Prompt id '{prompt.Id}' occurs twice in the task set.", nameof(prompts));
            }

            _ = _verifiers.Get(prompt.Verifier);
        }

        var expected = new OfflineTableHeader(
            policyHash, TaskSetHash.Compute(prompts), options.SamplesPerPrompt, options.Seed, options.BatchSize, prompts.Count);
        (OfflineTableHeader header, Dictionary<string, PromptPassCount> counts, bool mismatchAllowed) =
            OpenOrCreate(progressPath, expected, ids, options.AllowPolicyMismatch);
        int resumed = counts.Count;

        using var stream = new FileStream(progressPath, FileMode.Append, FileAccess.Write, FileShare.Read);
        var buffer = new ArrayBufferWriter<byte>();
        var pending = new List<TaskPrompt>(options.BatchSize);
        for (int batchStart = 0, batch = 0; batchStart < prompts.Count; batchStart += options.BatchSize, batch++)
        {
            pending.Clear();
            for (int i = batchStart; i < Math.Min(batchStart + options.BatchSize, prompts.Count); i++)
            {
                if (!counts.ContainsKey(prompts[i].Id))
                {
                    pending.Add(prompts[i]);
                }
            }

            if (pending.Count == 0)
            {
                continue;
            }

            cancellationToken.ThrowIfCancellationRequested();
            IReadOnlyList<string> completions = _sampler.Sample(pending, options.SamplesPerPrompt, SplitMix64.Derive(options.Seed, (ulong)batch));
            if (completions.Count != pending.Count * options.SamplesPerPrompt)
            {
                throw new InvalidOperationException(
                    $"The sampler returned {completions.Count} completions for {pending.Count} prompts x {options.SamplesPerPrompt} samples.");
            }

            // A cancellation that arrives while sampling drops the batch, as a crash would.
            cancellationToken.ThrowIfCancellationRequested();
            buffer.Clear();
            for (int p = 0; p < pending.Count; p++)
            {
                PromptPassCount count = Score(pending[p], completions, p * options.SamplesPerPrompt, options.SamplesPerPrompt);
                counts.Add(pending[p].Id, count);
                OfflineTableFile.AppendEntry(buffer, pending[p].Id, count);
            }

            stream.Write(buffer.WrittenSpan);
            stream.Flush(flushToDisk: true);
        }

        return new OfflineTableBuildResult(new OfflineTableData(header, counts, mismatchAllowed), resumed, counts.Count - resumed);
    }

    private PromptPassCount Score(TaskPrompt prompt, IReadOnlyList<string> completions, int offset, int samples)
    {
        IVerifier verifier = _verifiers.Get(prompt.Verifier);
        int successes = 0;
        for (int s = 0; s < samples; s++)
        {
            if (verifier.Verify(completions[offset + s], prompt.Gold).IsCorrect)
            {
                successes++;
            }
        }

        return new PromptPassCount(successes, samples);
    }

    private static (OfflineTableHeader Header, Dictionary<string, PromptPassCount> Counts, bool MismatchAllowed) OpenOrCreate(
        string path, OfflineTableHeader expected, IReadOnlySet<string> ids, bool allowPolicyMismatch)
    {
        if (!File.Exists(path) || new FileInfo(path).Length == 0)
        {
            File.WriteAllBytes(path, OfflineTableFile.FormatHeader(expected));
            return (expected, new Dictionary<string, PromptPassCount>(StringComparer.Ordinal), false);
        }

        (OfflineTableHeader header, Dictionary<string, PromptPassCount> counts, long completeLength) = OfflineTableFile.Read(path, ids);
        bool mismatch = OfflineTableFile.CheckIdentity(path, header, expected.PolicyHash, expected.TaskSetHash, allowPolicyMismatch);
        if (header.SamplesPerPrompt != expected.SamplesPerPrompt || header.Seed != expected.Seed || header.BatchSize != expected.BatchSize)
        {
            throw new OfflineTableException(
                $"{path}: started with {header.SamplesPerPrompt} samples per prompt, seed {header.Seed}, batch size {header.BatchSize}; "
                + $"resuming needs the same, got {expected.SamplesPerPrompt}, {expected.Seed}, {expected.BatchSize}.");
        }

        // Cut off a line left half-written by an interrupted build; its prompt is sampled again.
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Write))
        {
            if (stream.Length != completeLength)
            {
                stream.SetLength(completeLength);
            }
        }

        return (header, counts, mismatch);
    }
}
