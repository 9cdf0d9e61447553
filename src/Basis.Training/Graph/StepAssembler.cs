namespace Basis.Training.Graph;

/// <summary>
/// Windows single rollouts into steps. Rollouts arrive in any order from any generator; a step is
/// released when all its slots are in, and steps are released in step order, so the learner's
/// input does not depend on which generator was fastest.
/// </summary>
public sealed class StepAssembler
{
    private static readonly (long Step, VerifiedRollout[] Rollouts)[] s_none = [];

    private readonly int _slotsPerStep;
    private readonly Dictionary<long, OpenStep> _open = new();
    private OpenStep? _last;
    private long _nextStep;

    public StepAssembler(int slotsPerStep, long firstStep = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(slotsPerStep);
        _slotsPerStep = slotsPerStep;
        _nextStep = firstStep;
    }

    /// <summary>Rollouts held back waiting for the rest of their step (bounded by the graph's step window).</summary>
    public int Pending
    {
        get
        {
            int pending = 0;
            foreach (OpenStep open in _open.Values)
            {
                pending += open.Filled;
            }

            return pending;
        }
    }

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

        // Rollouts come in chunks of one step, so the previous rollout's step is nearly always this one's.
        OpenStep? open = _last is { } last && last.Step == work.Step ? last : null;
        if (open is null)
        {
            if (!_open.TryGetValue(work.Step, out open))
            {
                open = new OpenStep(work.Step, _slotsPerStep);
                _open.Add(work.Step, open);
            }

            _last = open;
        }

        if (open.Rollouts[work.Slot] is not null)
        {
            throw new InvalidOperationException($"step {work.Step} slot {work.Slot} received twice.");
        }

        open.Rollouts[work.Slot] = rollout;
        open.Filled++;

        // Only completing the next step can release anything: later complete steps wait behind it.
        if (work.Step != _nextStep || open.Filled != _slotsPerStep)
        {
            return s_none;
        }

        var released = new List<(long, VerifiedRollout[])>(1);
        while (_open.TryGetValue(_nextStep, out OpenStep? complete) && complete.Filled == _slotsPerStep)
        {
            _open.Remove(_nextStep);
            if (ReferenceEquals(_last, complete))
            {
                _last = null;
            }

            released.Add((_nextStep, complete.Rollouts));
            _nextStep++;
        }

        return released;
    }

    private sealed class OpenStep(long step, int slots)
    {
        public long Step { get; } = step;

        /// <summary>Filled slot by slot; handed to the learner as is once every slot is in.</summary>
        public VerifiedRollout[] Rollouts { get; } = new VerifiedRollout[slots];

        public int Filled { get; set; }
    }
}
