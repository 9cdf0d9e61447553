namespace Basis.Rollouts;

/// <summary>The completions produced for one <see cref="RolloutRequest"/>.</summary>
/// <param name="PromptId">The request's prompt id.</param>
/// <param name="PolicyVersion">What produced the completions: the served model's name or the built-in policy's version.</param>
/// <param name="Completions">Exactly N completions, in sample index order.</param>
public sealed record RolloutResult(string PromptId, string PolicyVersion, IReadOnlyList<RolloutCompletion> Completions);

/// <summary>One sampled completion.</summary>
/// <param name="Text">The generated text (without the prompt).</param>
/// <param name="Tokens">The generated tokens as text; empty when log-probabilities were not asked for.</param>
/// <param name="Logprobs">The sampling policy's log-probability of each token; same length as <paramref name="Tokens"/>.</param>
/// <param name="FinishReason">Why generation stopped.</param>
public sealed record RolloutCompletion(string Text, IReadOnlyList<string> Tokens, IReadOnlyList<double> Logprobs, FinishReason FinishReason);

public enum FinishReason
{
    /// <summary>End of sequence or a stop string.</summary>
    Stop,

    /// <summary>Hit the max-tokens limit: the completion is truncated.</summary>
    Length,

    /// <summary>Any other reason the server gave (for example vLLM's <c>abort</c>).</summary>
    Other,
}
