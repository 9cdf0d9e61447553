using Basis.Rollouts;
using Basis.Tasks;
using Basis.Tasks.Verification;

namespace Basis.Cli.Evaluation;

/// <summary>
/// Samples n completions for each prompt through a rollout backend and scores them with the prompt's verifier.
/// Each prompt's request is seeded from (seed, prompt index), so a rerun against the same policy repeats itself.
/// </summary>
internal sealed class RewardSampler
{
    private readonly IRolloutBackend _backend;
    private readonly VerifierRegistry _verifiers;
    private readonly SamplingSettings _sampling;
    private readonly string _template;
    private readonly int _promptsPerCall;
    private readonly int _parallelCalls;

    /// <param name="template">Prompt text sent to the model; "{prompt}" is replaced by the task's text.</param>
    /// <param name="promptsPerCall">Prompts per <see cref="IRolloutBackend.GenerateAsync"/> call.</param>
    /// <param name="parallelCalls">Calls outstanding at once (a remote backend bounds its own in-flight requests).</param>
    public RewardSampler(IRolloutBackend backend, VerifierRegistry verifiers, SamplingSettings sampling, string template, int promptsPerCall, int parallelCalls)
    {
        _backend = backend;
        _verifiers = verifiers;
        _sampling = sampling;
        _template = template;
        _promptsPerCall = promptsPerCall;
        _parallelCalls = parallelCalls;
    }

    /// <summary>The rewards, [prompt][sample]; <paramref name="progress"/> gets the count of prompts done.</summary>
    public async Task<double[][]> SampleAsync(IReadOnlyList<TaskPrompt> prompts, int n, ulong seed, Action<int>? progress, CancellationToken cancellationToken)
    {
        foreach (TaskPrompt prompt in prompts)
        {
            if (!_verifiers.TryGet(prompt.Verifier, out _))
            {
                throw new ArgumentException($"prompt '{prompt.Id}' names the verifier '{prompt.Verifier}', which does not exist; known: {string.Join(", ", _verifiers.Names)}.");
            }
        }

        var rewards = new double[prompts.Count][];
        int done = 0;
        var chunks = Enumerable.Range(0, (prompts.Count + _promptsPerCall - 1) / _promptsPerCall);
        await Parallel.ForEachAsync(
            chunks,
            new ParallelOptions { MaxDegreeOfParallelism = _parallelCalls, CancellationToken = cancellationToken },
            async (chunk, ct) =>
            {
                int start = chunk * _promptsPerCall;
                int count = Math.Min(_promptsPerCall, prompts.Count - start);
                var requests = new RolloutRequest[count];
                for (int i = 0; i < count; i++)
                {
                    TaskPrompt prompt = prompts[start + i];
                    long requestSeed = unchecked((long)Mix(seed, (ulong)(start + i)) & long.MaxValue);
                    requests[i] = new RolloutRequest(prompt.Id, _template.Replace("{prompt}", prompt.Text, StringComparison.Ordinal), n, _sampling with { Seed = requestSeed });
                }

                IReadOnlyList<RolloutResult> results = await _backend.GenerateAsync(requests, ct).ConfigureAwait(false);
                for (int i = 0; i < count; i++)
                {
                    TaskPrompt prompt = prompts[start + i];
                    IVerifier verifier = _verifiers.Get(prompt.Verifier);
                    rewards[start + i] = results[i].Completions.Select(c => verifier.Verify(c.Text, prompt.Gold).Reward).ToArray();
                }

                progress?.Invoke(Interlocked.Add(ref done, count));
            }).ConfigureAwait(false);
        return rewards;
    }

    // SplitMix64 of (seed, index): request seeds that do not collide across prompts.
    private static ulong Mix(ulong seed, ulong index)
    {
        ulong z = seed + ((index + 1) * 0x9E37_79B9_7F4A_7C15UL);
        z = (z ^ (z >> 30)) * 0xBF58_476D_1CE4_E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D0_49BB_1331_11EBUL;
        return z ^ (z >> 31);
    }
}
