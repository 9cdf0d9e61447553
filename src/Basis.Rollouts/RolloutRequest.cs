namespace Basis.Rollouts;

/// <summary>Ask for <paramref name="N"/> sampled completions of one prompt.</summary>
/// <param name="PromptId">The caller's id for the prompt; echoed in the result and in every error.</param>
/// <param name="Prompt">The prompt text sent to the model as is.</param>
/// <param name="N">Completions wanted, at least 1.</param>
/// <param name="Sampling">How to sample.</param>
public sealed record RolloutRequest(string PromptId, string Prompt, int N, SamplingSettings Sampling);

/// <summary>Sampling parameters, named after the OpenAI completions API.</summary>
public sealed record SamplingSettings
{
    public static SamplingSettings Default { get; } = new();

    /// <summary>0 means greedy.</summary>
    public double Temperature { get; init; } = 1.0;

    /// <summary>Nucleus mass in (0, 1]; 1 disables it.</summary>
    public double TopP { get; init; } = 1.0;

    /// <summary>Keep the k most likely tokens; null disables it (and is not sent to the server).</summary>
    public int? TopK { get; init; }

    public int MaxTokens { get; init; } = 256;

    public IReadOnlyList<string> Stop { get; init; } = [];

    /// <summary>With a seed the backend returns the same completions for the same request.</summary>
    public long? Seed { get; init; }

    /// <summary>Ask for per-token log-probabilities. Without them completions carry no tokens either.</summary>
    public bool Logprobs { get; init; } = true;
}
