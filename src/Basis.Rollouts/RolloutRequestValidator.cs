namespace Basis.Rollouts;

/// <summary>Rejects requests no backend can serve, before any work starts.</summary>
public static class RolloutRequestValidator
{
    public static void Validate(IReadOnlyList<RolloutRequest> requests)
    {
        ArgumentNullException.ThrowIfNull(requests);
        for (int i = 0; i < requests.Count; i++)
        {
            if (requests[i] is null)
            {
                throw new ArgumentException($"requests[{i}] is null.", nameof(requests));
            }

            Validate(requests[i]);
        }
    }

    public static void Validate(RolloutRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (string.IsNullOrEmpty(request.PromptId))
        {
            throw new ArgumentException("A rollout request needs a non-empty PromptId.", nameof(request));
        }

        if (request.Prompt is null)
        {
            Fail(request, "Prompt is null");
        }

        if (request.N < 1)
        {
            Fail(request, $"N must be at least 1 (got {request.N})");
        }

        SamplingSettings? s = request.Sampling;
        if (s is null)
        {
            Fail(request, "Sampling is null");
        }

        if (!(s.Temperature >= 0) || double.IsInfinity(s.Temperature))
        {
            Fail(request, $"Sampling.Temperature must be finite and >= 0 (got {s.Temperature})");
        }

        if (!(s.TopP > 0 && s.TopP <= 1))
        {
            Fail(request, $"Sampling.TopP must be in (0, 1] (got {s.TopP})");
        }

        if (s.TopK is < 1)
        {
            Fail(request, $"Sampling.TopK must be at least 1 or null (got {s.TopK})");
        }

        if (s.MaxTokens < 1)
        {
            Fail(request, $"Sampling.MaxTokens must be at least 1 (got {s.MaxTokens})");
        }

        if (s.Stop is null || s.Stop.Any(string.IsNullOrEmpty))
        {
            Fail(request, "Sampling.Stop must be a list of non-empty strings");
        }
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void Fail(RolloutRequest request, string problem) =>
        throw new ArgumentException($"Rollout request for prompt '{request.PromptId}': {problem}.", nameof(request));
}
