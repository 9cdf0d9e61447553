using System.Numerics;
using Akka.Streams;
using Akka.Streams.Supervision;

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

    /// <summary>Input buffer of every async island of the graph (generators, verifiers, aggregator), in chunks; a power of two, as Akka.Streams requires.</summary>
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

    /// <summary>Backoff and restart budget of a crashing generator (Akka's RestartFlow settings).</summary>
    public RestartSettings GeneratorRestart { get; init; } = RestartSettings.Create(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(5), 0.2).WithMaxRestarts(5, TimeSpan.FromMinutes(1));

    /// <summary>How a throwing verifier is judged: Resume or Restart quarantine the rollout with the reason, Stop fails the run.</summary>
    public Decider VerifierDecider { get; init; } = Deciders.ResumingDecider;

    /// <summary>Akka dispatcher of the generator islands (hocon/reference.conf: a thread of its own per generator).</summary>
    public string GeneratorDispatcher { get; init; } = "akka.actor.basis-generator-dispatcher";

    /// <summary>Akka dispatcher of the learner actor.</summary>
    public string LearnerDispatcher { get; init; } = "akka.actor.basis-learner-dispatcher";

    public int SlotsPerStep => PromptsPerStep * RolloutsPerPrompt;

    /// <summary>Chunks of one step (chunks never span steps).</summary>
    public int ChunksPerStep => (SlotsPerStep + ChunkSize - 1) / ChunkSize;

    /// <summary>
    /// The step window in force: <see cref="StepsInFlight"/>, or enough steps to fill every island of the graph
    /// (<see cref="ChunksInIslands"/>) plus the step the learner holds and the one queued for it, so that the window binds only when
    /// rollouts arrive out of order.
    /// </summary>
    public int EffectiveStepsInFlight
    {
        get
        {
            if (StepsInFlight > 0)
            {
                return StepsInFlight;
            }

            // + 2: the step the learner holds and the one waiting in its sink's one-element buffer.
            return ((ChunksInIslands + ChunksPerStep - 1) / ChunksPerStep) + 2;
        }
    }

    /// <summary>
    /// The most chunks the graph's islands can hold between the source and the learner: two in the source's island
    /// (the enumerator's next chunk and one pending at the balance), per generator what <see cref="GeneratorHolds"/>
    /// says plus one finished at the merge, per verifier its buffer plus one verifying and one finished, and the
    /// aggregator's buffer plus the chunk in hand.
    /// </summary>
    public int ChunksInIslands => 2 + (Generators * (GeneratorHolds(EdgeBuffer) + 1)) + (Verifiers * (EdgeBuffer + 2)) + EdgeBuffer + 1;

    /// <summary>
    /// Chunks a generator lane can hold: its island's input buffer, one in the hands of RestartFlow's outer stage,
    /// one at the boundary into the running incarnation (a sub-stream), one waiting for weights, one sampling and one
    /// at the incarnation's output boundary. A crash loses what the incarnation holds, which its successor redoes.
    /// </summary>
    public static int GeneratorHolds(int edgeBuffer) => edgeBuffer + 5;

    public void Validate()
    {
        Require(Steps > 0, "steps", Steps, "must be positive");
        Require(FirstStep >= 0, "first-step", FirstStep, "must not be negative");
        Require(PromptsPerStep > 0, "batch-size", PromptsPerStep, "must be positive");
        Require(RolloutsPerPrompt > 0, "rollouts-per-prompt", RolloutsPerPrompt, "must be positive");
        Require(ChunkSize > 0, "chunk-size", ChunkSize, "must be positive");
        Require(Generators > 0, "generators", Generators, "must be positive");
        Require(Verifiers > 0, "verifiers", Verifiers, "must be positive");
        Require(EdgeBuffer > 0 && BitOperations.IsPow2(EdgeBuffer), "queue-bound", EdgeBuffer, "must be a power of two (1, 2, 4, 8, ...): it is an Akka.Streams input buffer");
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
