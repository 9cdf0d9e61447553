namespace Basis.Model;

/// <summary>
/// A padded batch [B, T] of input ids and target ids. <see cref="AttentionMask"/> marks real tokens (padding is
/// never attended to; positions count real tokens only, so left and right padding give the same result);
/// <see cref="LossMask"/> marks the positions whose target log-probability is scored.
/// </summary>
public sealed class TokenBatch
{
    public TokenBatch(int batchSize, int seqLen, int[] inputIds, int[] targetIds, bool[] attentionMask, bool[] lossMask)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(seqLen);
        var n = batchSize * seqLen;
        Check(inputIds, n, nameof(inputIds));
        Check(targetIds, n, nameof(targetIds));
        Check(attentionMask, n, nameof(attentionMask));
        Check(lossMask, n, nameof(lossMask));
        for (var i = 0; i < n; i++)
        {
            if (lossMask[i] && !attentionMask[i])
            {
                throw new ArgumentException($"Position {i} (row {i / seqLen}, column {i % seqLen}) is scored by the loss mask but is padding in the attention mask.", nameof(lossMask));
            }
        }

        BatchSize = batchSize;
        SeqLen = seqLen;
        InputIds = inputIds;
        TargetIds = targetIds;
        AttentionMask = attentionMask;
        LossMask = lossMask;
    }

    public int BatchSize { get; }

    public int SeqLen { get; }

    public int TokenCount => BatchSize * SeqLen;

    public int[] InputIds { get; }

    public int[] TargetIds { get; }

    public bool[] AttentionMask { get; }

    public bool[] LossMask { get; }

    /// <summary>Number of positions the loss mask scores.</summary>
    public int ScoredCount => LossMask.Count(m => m);

    /// <summary>
    /// Builds a right-padded next-token batch from whole sequences: inputs are s[0..n−1), targets s[1..n);
    /// the target s[j] is scored when j ≥ <paramref name="scoreFrom"/>[row] (e.g. the prompt length, to score only the completion).
    /// </summary>
    public static TokenBatch FromSequences(IReadOnlyList<IReadOnlyList<int>> sequences, IReadOnlyList<int> scoreFrom, int padId)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        ArgumentNullException.ThrowIfNull(scoreFrom);
        if (sequences.Count == 0)
        {
            throw new ArgumentException("A batch needs at least one sequence.", nameof(sequences));
        }

        if (scoreFrom.Count != sequences.Count)
        {
            throw new ArgumentException($"scoreFrom has {scoreFrom.Count} entries for {sequences.Count} sequences.", nameof(scoreFrom));
        }

        var t = 1;
        for (var r = 0; r < sequences.Count; r++)
        {
            if (sequences[r].Count < 2)
            {
                throw new ArgumentException($"Sequence {r} has {sequences[r].Count} tokens; next-token scoring needs at least 2.", nameof(sequences));
            }

            t = Math.Max(t, sequences[r].Count - 1);
        }

        var b = sequences.Count;
        var inputs = new int[b * t];
        var targets = new int[b * t];
        var attention = new bool[b * t];
        var loss = new bool[b * t];
        Array.Fill(inputs, padId);
        Array.Fill(targets, padId);
        for (var r = 0; r < b; r++)
        {
            var s = sequences[r];
            for (var j = 0; j < s.Count - 1; j++)
            {
                var i = r * t + j;
                inputs[i] = s[j];
                targets[i] = s[j + 1];
                attention[i] = true;
                loss[i] = j + 1 >= scoreFrom[r];
            }
        }

        return new TokenBatch(b, t, inputs, targets, attention, loss);
    }

    private static void Check<T>(T[] array, int n, string name)
    {
        ArgumentNullException.ThrowIfNull(array, name);
        if (array.Length != n)
        {
            throw new ArgumentException($"{name} has {array.Length} entries; a batch of this shape needs {n}.", name);
        }
    }
}
