namespace Basis.Training.Schedule;

/// <summary>
/// Which prompts each training step sees: epochs without replacement, each epoch a seeded
/// permutation of the training set, steps cut from the concatenated epochs. A pure function of
/// (prompt count, batch size, seed), so a resumed or replayed run trains the same prompts in the same order.
/// </summary>
public sealed class PromptSchedule
{
    private readonly int _promptCount;
    private readonly int _batchSize;
    private readonly ulong _seed;
    private readonly Dictionary<long, int[]> _epochs = new();

    public PromptSchedule(int promptCount, int batchSize, ulong seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(promptCount);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        _promptCount = promptCount;
        _batchSize = batchSize;
        _seed = seed;
    }

    public int BatchSize => _batchSize;

    public int PromptCount => _promptCount;

    /// <summary>Indices into the training set of the prompts of <paramref name="step"/>, in slot order.</summary>
    public int[] PromptsOf(long step)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        var prompts = new int[_batchSize];
        long position = step * _batchSize;
        for (int slot = 0; slot < _batchSize; slot++, position++)
        {
            prompts[slot] = Epoch(position / _promptCount)[(int)(position % _promptCount)];
        }

        return prompts;
    }

    private int[] Epoch(long epoch)
    {
        lock (_epochs)
        {
            if (_epochs.TryGetValue(epoch, out int[]? order))
            {
                return order;
            }

            // Only two epochs are ever live at once (a step may straddle a boundary).
            _epochs.Remove(epoch - 2);
            order = new int[_promptCount];
            for (int i = 0; i < order.Length; i++)
            {
                order[i] = i;
            }

            var random = new SeededRandom(SeededRandom.Mix(_seed, (ulong)epoch));
            for (int i = order.Length - 1; i > 0; i--)
            {
                int j = random.NextInt(i + 1);
                (order[i], order[j]) = (order[j], order[i]);
            }

            _epochs[epoch] = order;
            return order;
        }
    }
}
