namespace Basis.Rollouts;

/// <summary>A backend could not produce a request's completions (server error, timeout, malformed response).</summary>
public sealed class RolloutBackendException : Exception
{
    public RolloutBackendException(string backend, string promptId, string message, int? statusCode = null, Exception? innerException = null)
        : base($"{backend}: prompt '{promptId}': {message}", innerException)
    {
        Backend = backend;
        PromptId = promptId;
        StatusCode = statusCode;
    }

    /// <summary>Which backend failed, e.g. the endpoint URL.</summary>
    public string Backend { get; }

    public string PromptId { get; }

    /// <summary>The HTTP status of the last attempt, when there was a response.</summary>
    public int? StatusCode { get; }
}
