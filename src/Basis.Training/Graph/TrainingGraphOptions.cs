using Basis.Streaming;

namespace Basis.Training.Graph;

/// <summary>Shape of the training graph: batch geometry, parallelism, edge bounds and supervision.</summary>
public sealed record TrainingGraphOptions
{
    /// <summary>Steps to run, starting at <see cref="FirstStep"/>.</summary>
    public int Steps { get; init; } = 100;

    /// <summary>First step (non-zero when resuming).</summary>
    public long FirstStep { get; init; }

    /// <summary>Prompts per step (B).</summary>
    public int PromptsPerStep { get; init; } = 64;

    /// <summary>Rollouts per prompt (G); 1 for BASIS and REINFORCE-style estimators.</summary>
    public int RolloutsPerPrompt { get; init; } = 1;

    /// <summary>Work items a generator samples as one batch.</summary>
    public int ChunkSize { get; init; } = 32;

    public int Generators { get; init; } = 1;

    public int Verifiers { get; init; } = 1;

    /// <summary>Bound of every edge of the graph, in chunks.</summary>
    public int EdgeBuffer { get; init; } = 4;

    /// <summary>
    /// Most steps the prompt source may be ahead of the learner: chunks of step s are issued once the
    /// learner has finished step s - StepsInFlight. 0 derives it from the edge bounds, so that it only
    /// binds when rollouts arrive out of order (a stalled generator). With staleness k, k + 1 issues a
    /// step's work exactly when the weights it may be sampled with are published (basis train does).
    /// </summary>
    public int StepsInFlight { get; init; }

    /// <summary>Drop groups whose rewards are all equal (G &gt; 1): they carry no signal and dilute the token mean.</summary>
    public bool FilterZeroVarianceGroups { get; init; }

    public ulong Seed { get; init; } = 1;

    /// <summary>Backoff and restart budget of a crashing generator.</summary>
    public RestartSettings GeneratorRestart { get; init; } = new(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(5), 0.2, maxRestarts: 5, within: TimeSpan.FromMinutes(1));

    public int SlotsPerStep => PromptsPerStep * RolloutsPerPrompt;

    /// <summary>Chunks of one step (chunks never span steps).</summary>
    public int ChunksPerStep => (SlotsPerStep + ChunkSize - 1) / ChunkSize;

    /// <summary>
    /// The step window in force: <see cref="StepsInFlight"/>, or enough steps to fill every edge and
    /// stage hand (source, generators, verifiers, aggregator) plus the step the learner holds.
    /// </summary>
    public int EffectiveStepsInFlight
    {
        get
        {
            if (StepsInFlight > 0)
            {
                return StepsInFlight;
            }

            int chunks = (EdgeBuffer + 1) * (2 + Generators + Verifiers);
            return ((chunks + ChunksPerStep - 1) / ChunksPerStep) + 1;
        }
    }

    public void Validate()
    {
        Require(Steps > 0, "steps", Steps, "must be positive");
        Require(FirstStep >= 0, "first-step", FirstStep, "must not be negative");
        Require(PromptsPerStep > 0, "batch-size", PromptsPerStep, "must be positive");
        Require(RolloutsPerPrompt > 0, "rollouts-per-prompt", RolloutsPerPrompt, "must be positive");
        Require(ChunkSize > 0, "chunk-size", ChunkSize, "must be positive");
        Require(Generators > 0, "generators", Generators, "must be positive");
        Require(Verifiers > 0, "verifiers", Verifiers, "must be positive");
        Require(EdgeBuffer > 0, "edge-buffer", EdgeBuffer, "must be positive");
        Require(StepsInFlight >= 0, "steps-in-flight", StepsInFlight, "must not be negative");
    }

    private static void Require(bool condition, string key, object value, string rule)
    {
        if (!condition)
        {
            throw new ArgumentException($"{key} = {value}: {rule}.");
        }
    }
}
