using System.Text;

namespace Basis.Rollouts.OpenAi;

/// <summary>Where and how <see cref="OpenAiCompletionsBackend"/> talks to an OpenAI-compatible server.</summary>
/// <param name="Endpoint">The server's base URL, e.g. <c>http://localhost:8000</c>; a trailing <c>/v1</c> is accepted.</param>
/// <param name="Model">The served model name (vLLM: the name given to <c>vllm serve</c>, or <c>--served-model-name</c>).</param>
public sealed record OpenAiCompletionsOptions(Uri Endpoint, string Model)
{
    /// <summary>At most this many HTTP requests are outstanding; further prompts wait (backpressure).</summary>
    public int MaxInFlight { get; init; } = 32;

    /// <summary>Limit for one attempt, from sending the request to reading the whole response.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Retries after the first attempt for 429, 5xx, timeouts and connection failures; 0 disables retrying.</summary>
    public int MaxRetries { get; init; } = 4;

    /// <summary>Delay before the first retry; each further retry doubles it.</summary>
    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Cap on any retry delay, including one asked for by a Retry-After header.</summary>
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Randomize retry delays so many clients do not retry in lockstep. Tests turn it off.</summary>
    public bool RetryJitter { get; init; } = true;

    /// <summary>Sent as <c>Authorization: Bearer</c>; never written to exceptions or <see cref="ToString"/>.</summary>
    public string? ApiKey { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (Endpoint is null || !Endpoint.IsAbsoluteUri || (Endpoint.Scheme != Uri.UriSchemeHttp && Endpoint.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException($"OpenAI backend: Endpoint must be an absolute http(s) URL (got '{Endpoint}').", nameof(Endpoint));
        }

        // Credentials in the URL would end up in every error message that names the endpoint.
        if (!string.IsNullOrEmpty(Endpoint.UserInfo))
        {
            throw new ArgumentException("OpenAI backend: Endpoint must not contain credentials; set ApiKey instead.", nameof(Endpoint));
        }

        if (string.IsNullOrWhiteSpace(Model))
        {
            throw new ArgumentException("OpenAI backend: Model must name the served model.", nameof(Model));
        }

        if (MaxInFlight < 1)
        {
            throw new ArgumentException($"OpenAI backend: MaxInFlight must be at least 1 (got {MaxInFlight}).", nameof(MaxInFlight));
        }

        if (RequestTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException($"OpenAI backend: RequestTimeout must be positive (got {RequestTimeout}).", nameof(RequestTimeout));
        }

        if (MaxRetries < 0)
        {
            throw new ArgumentException($"OpenAI backend: MaxRetries must be 0 or more (got {MaxRetries}).", nameof(MaxRetries));
        }

        if (RetryBaseDelay < TimeSpan.Zero || MaxRetryDelay < RetryBaseDelay)
        {
            throw new ArgumentException(
                $"OpenAI backend: need 0 <= RetryBaseDelay <= MaxRetryDelay (got {RetryBaseDelay} and {MaxRetryDelay}).", nameof(RetryBaseDelay));
        }
    }

    // The compiler-generated ToString would print the API key.
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append($"Endpoint = {Endpoint}, Model = {Model}, MaxInFlight = {MaxInFlight}, RequestTimeout = {RequestTimeout}, ");
        builder.Append($"MaxRetries = {MaxRetries}, RetryBaseDelay = {RetryBaseDelay}, MaxRetryDelay = {MaxRetryDelay}, RetryJitter = {RetryJitter}, ");
        builder.Append($"ApiKey = {(ApiKey is null ? "null" : "***")}");
        return true;
    }
}
