namespace Basis.Training.Graph;

/// <summary>
/// Windows single rollouts into steps. Rollouts arrive in any order from any generator; a step is
/// released when all its slots are in, and steps are released in step order, so the learner's
/// input does not depend on which generator was fastest.
/// </summary>
public sealed class StepAssembler
{
    private readonly int _slotsPerStep;
    private readonly SortedDictionary<long, VerifiedRollout?[]> _open = new();
    private readonly Dictionary<long, int> _filled = new();
    private long _nextStep;

    public StepAssembler(int slotsPerStep, long firstStep = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(slotsPerStep);
        _slotsPerStep = slotsPerStep;
        _nextStep = firstStep;
    }

    /// <summary>Rollouts held back waiting for the rest of their step (bounded by the generators' look-ahead).</summary>
    public int Pending => _filled.Values.Sum();

    public long NextStep => _nextStep;

    /// <summary>Adds a rollout; returns the steps (zero or more) that are now complete, in order.</summary>
    public IReadOnlyList<(long Step, VerifiedRollout[] Rollouts)> Add(VerifiedRollout rollout)
    {
        ArgumentNullException.ThrowIfNull(rollout);
        WorkItem work = rollout.Work;
        if (work.Step < _nextStep)
        {
            throw new InvalidOperationException($"rollout for step {work.Step} slot {work.Slot} arrived after the step was released.");
        }

        if (work.Slot < 0 || work.Slot >= _slotsPerStep)
        {
            throw new ArgumentOutOfRangeException(nameof(rollout), $"slot {work.Slot} outside [0, {_slotsPerStep}).");
        }

        if (!_open.TryGetValue(work.Step, out VerifiedRollout?[]? slots))
        {
            slots = new VerifiedRollout?[_slotsPerStep];
            _open[work.Step] = slots;
            _filled[work.Step] = 0;
        }

        if (slots[work.Slot] is not null)
        {
            throw new InvalidOperationException($"step {work.Step} slot {work.Slot} received twice.");
        }

        slots[work.Slot] = rollout;
        _filled[work.Step]++;

        List<(long, VerifiedRollout[])>? released = null;
        while (_filled.TryGetValue(_nextStep, out int count) && count == _slotsPerStep)
        {
            VerifiedRollout?[] complete = _open[_nextStep];
            _open.Remove(_nextStep);
            _filled.Remove(_nextStep);
            released ??= new();
            released.Add((_nextStep, complete.Select(r => r!).ToArray()));
            _nextStep++;
        }

        return released ?? (IReadOnlyList<(long, VerifiedRollout[])>)Array.Empty<(long, VerifiedRollout[])>();
    }
}
