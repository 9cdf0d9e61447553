using Basis.Model;
using Basis.Model.Sampling;
using Basis.Rollouts;
using Basis.Training.Policy;

namespace Basis.Cli.Evaluation;

/// <summary>
/// The built-in transformer behind <see cref="IRolloutBackend"/>, so <c>basis eval</c> and <c>basis mse-bench</c> treat
/// it like a served model. One call samples all its requests' completions in one batched decode.
/// </summary>
/// <remarks>
/// Completion k of a seeded request uses row seed DeriveSeed(seed, k), so it does not depend on the rest of the batch.
/// Log-probabilities are the untempered policy's (what the learner recomputes). The policy stops at its end-of-sequence
/// token; stop strings are rejected rather than silently ignored.
/// </remarks>
internal sealed class BuiltInRolloutBackend : IRolloutBackend
{
    private readonly TransformerModel _model;
    private readonly PolicyText _text;
    private readonly Lock _gate = new();
    private long _unseededCalls;

    public BuiltInRolloutBackend(TransformerModel model, PolicyText text, string policyVersion)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(text);
        _model = model;
        _text = text;
        PolicyVersion = policyVersion;
    }

    public string Name => "builtin";

    public string PolicyVersion { get; }

    public Task<IReadOnlyList<RolloutResult>> GenerateAsync(IReadOnlyList<RolloutRequest> requests, CancellationToken cancellationToken)
    {
        RolloutRequestValidator.Validate(requests);
        foreach (RolloutRequest request in requests)
        {
            if (request.Sampling.Stop.Count > 0)
            {
                throw new ArgumentException($"Rollout request for prompt '{request.PromptId}': the built-in policy stops at its end-of-sequence token; Sampling.Stop is not supported.", nameof(requests));
            }
        }

        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<IReadOnlyList<RolloutResult>>(cancellationToken);
        }

        return Task.Run(() => Generate(requests), cancellationToken);
    }

    private IReadOnlyList<RolloutResult> Generate(IReadOnlyList<RolloutRequest> requests)
    {
        // Requests with different sampling settings are decoded in separate batches.
        var results = new RolloutResult[requests.Count];
        foreach (IGrouping<SamplingKey, int> group in Enumerable.Range(0, requests.Count).GroupBy(i => SamplingKey.Of(requests[i].Sampling)))
        {
            int[] members = [.. group];
            var prompts = new List<IReadOnlyList<int>>();
            var seeds = new List<ulong>();
            foreach (int i in members)
            {
                RolloutRequest request = requests[i];
                int[] encoded = _text.EncodePrompt(request.Prompt);
                ulong seed = request.Sampling.Seed is long s ? unchecked((ulong)s) : 0x5EED_0000_0000_0000UL + (ulong)Interlocked.Increment(ref _unseededCalls);
                for (int k = 0; k < request.N; k++)
                {
                    prompts.Add(encoded);
                    seeds.Add(DeterministicRandom.DeriveSeed(seed, (ulong)k));
                }
            }

            SamplingKey key = group.Key;
            var options = new SamplingOptions(key.Temperature, key.TopK, key.TopP, key.MaxTokens, _text.StopTokens);
            IReadOnlyList<SampledSequence> sampled;
            lock (_gate)
            {
                // The model's scratch buffers are not shared-safe; one decode at a time uses every kernel thread anyway.
                sampled = Sampler.Generate(_model, prompts, options, seeds);
            }

            int row = 0;
            foreach (int i in members)
            {
                RolloutRequest request = requests[i];
                var completions = new RolloutCompletion[request.N];
                for (int k = 0; k < request.N; k++)
                {
                    completions[k] = ToCompletion(sampled[row++], request.Sampling.Logprobs);
                }

                results[i] = new RolloutResult(request.PromptId, PolicyVersion, completions);
            }
        }

        return results;
    }

    private RolloutCompletion ToCompletion(SampledSequence sequence, bool logprobs)
    {
        string text = _text.DecodeCompletion(sequence.Tokens);
        Rollouts.FinishReason finish = sequence.Finish == Model.Sampling.FinishReason.Stop ? Rollouts.FinishReason.Stop : Rollouts.FinishReason.Length;
        if (!logprobs)
        {
            return new RolloutCompletion(text, [], [], finish);
        }

        var tokens = new string[sequence.Tokens.Length];
        var values = new double[sequence.Tokens.Length];
        for (int t = 0; t < tokens.Length; t++)
        {
            tokens[t] = _text.Tokenizer.Decode([sequence.Tokens[t]], keepSpecial: true);
            values[t] = sequence.PolicyLogp[t];
        }

        return new RolloutCompletion(text, tokens, values, finish);
    }

    private readonly record struct SamplingKey(float Temperature, int TopK, float TopP, int MaxTokens)
    {
        public static SamplingKey Of(SamplingSettings s) => new((float)s.Temperature, s.TopK ?? 0, (float)s.TopP, s.MaxTokens);
    }
}
