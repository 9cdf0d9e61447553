namespace Basis.Rollouts;

/// <summary>
/// Produces completions for prompts from some policy: a served model (vLLM, SGLang) or the built-in one.
/// </summary>
/// <remarks>
/// Contract every implementation keeps (tests/Basis.Rollouts.Tests/RolloutBackendContract.cs checks it):
/// one result per request, in request order; exactly <see cref="RolloutRequest.N"/> completions per result;
/// each completion has as many log-probabilities as tokens; the same request with the same seed gives the same
/// completions; cancellation surfaces as <see cref="OperationCanceledException"/>. Failures that are not the
/// caller's cancellation surface as <see cref="RolloutBackendException"/>, invalid requests as
/// <see cref="ArgumentException"/>. Implementations are safe to call concurrently.
/// </remarks>
public interface IRolloutBackend
{
    /// <summary>A short name for logs and journal events, e.g. <c>openai:Qwen2.5-0.5B</c>.</summary>
    string Name { get; }

    Task<IReadOnlyList<RolloutResult>> GenerateAsync(IReadOnlyList<RolloutRequest> requests, CancellationToken cancellationToken);
}
