using System.Globalization;
using Basis.Estimators;
using Basis.Tasks;
using Basis.Tasks.Verification;
using Basis.Training.Graph;

namespace Basis.Training.Bench;

/// <summary>
/// The training graph with nothing behind it: a worker that wraps each work item in a canned
/// rollout, a verifier that says "correct", the cheap "reinforce" estimator, and a learner that
/// only counts. What is left is the graph's own cost per rollout.
/// </summary>
internal static class NoOpGraph
{
    private static readonly TaskPrompt[] s_prompts = Enumerable.Range(0, 4096)
        .Select(i => new TaskPrompt($"p{i}", $"{i}+0=", i.ToString(CultureInfo.InvariantCulture), "bench", TrivialVerifier.VerifierName))
        .ToArray();

    private static readonly VerifierRegistry s_verifiers = CreateVerifiers();

    public static TrainingGraphOptions Options(int steps) => new()
    {
        Steps = steps,
        PromptsPerStep = 1024,
        ChunkSize = 256,
        Generators = 2,
        Verifiers = 2,
        EdgeBuffer = 4,
        Seed = 1,
    };

    public static TrainingGraph Create(int steps, CountingLearner learner) =>
        new(s_prompts, null, EstimatorCatalog.Create("reinforce"), s_verifiers, _ => new CannedWorker(), learner, Options(steps), (_, _) => ValueTask.CompletedTask);

    private static VerifierRegistry CreateVerifiers()
    {
        var registry = new VerifierRegistry();
        registry.Register(new TrivialVerifier());
        return registry;
    }

    private sealed class TrivialVerifier : IVerifier
    {
        public const string VerifierName = "trivial";

        public string Name => VerifierName;

        public VerificationResult Verify(string completion, string gold) => VerificationResult.Correct(null);
    }

    /// <summary>One rollout per work item, sharing its token arrays: the allocation any worker must make.</summary>
    private sealed class CannedWorker : IRolloutWorker
    {
        private static readonly int[] s_prompt = [1, 2, 3];
        private static readonly int[] s_completion = [4, 5];
        private static readonly float[] s_logp = [-0.1f, -0.2f];

        public ValueTask<IReadOnlyList<Rollout>> GenerateAsync(WorkChunk chunk, CancellationToken cancellationToken)
        {
            var rollouts = new Rollout[chunk.Items.Count];
            for (int i = 0; i < rollouts.Length; i++)
            {
                rollouts[i] = new Rollout(chunk.Items[i], "1", s_prompt, s_completion, s_logp, 0);
            }

            return ValueTask.FromResult<IReadOnlyList<Rollout>>(rollouts);
        }
    }
}

/// <summary>A learner that does nothing but count what reaches it.</summary>
internal sealed class CountingLearner : IPolicyLearner
{
    public long Version { get; private set; }

    public long Rollouts { get; private set; }

    public LearnerSummary Update(TrainingBatch batch)
    {
        Version++;
        Rollouts += batch.Rollouts.Count;
        return new LearnerSummary(Version, 0, 0, 0, 0, 0, batch.Rollouts.Count, 0);
    }
}
