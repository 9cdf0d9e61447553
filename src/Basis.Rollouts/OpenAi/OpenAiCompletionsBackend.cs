using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace Basis.Rollouts.OpenAi;

/// <summary>
/// Generates rollouts through an OpenAI-compatible <c>/v1/completions</c> endpoint (vLLM, SGLang, OpenAI):
/// one HTTP request per prompt with <c>n</c> samples and token log-probabilities.
/// </summary>
/// <remarks>
/// At most <see cref="OpenAiCompletionsOptions.MaxInFlight"/> requests are outstanding across all callers; the rest
/// wait for a slot, so a slow server slows the callers instead of growing a queue. Each attempt has its own timeout;
/// 429, 5xx, timeouts and connection failures are retried with exponential backoff (a Retry-After header wins);
/// other 4xx and malformed responses fail at once.
/// </remarks>
public sealed class OpenAiCompletionsBackend : IRolloutBackend, IDisposable
{
    private readonly OpenAiCompletionsOptions _options;
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly Uri _completionsUri;
    private readonly string _endpointText;
    private readonly TimeProvider _timeProvider;
    private readonly ResiliencePipeline<HttpResponseMessage> _pipeline;
    private readonly SemaphoreSlim _slots;
    private int _queued;
    private int _inFlight;

    /// <param name="options">Endpoint, model and limits; validated here.</param>
    /// <param name="httpClient">Optional client (e.g. from IHttpClientFactory); its own Timeout should be infinite since
    /// <see cref="OpenAiCompletionsOptions.RequestTimeout"/> applies. Not disposed by this backend.</param>
    /// <param name="timeProvider">Clock for timeouts and retry delays; tests pass a manual one.</param>
    public OpenAiCompletionsBackend(OpenAiCompletionsOptions options, HttpClient? httpClient = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _ownsHttp = httpClient is null;
        _http = httpClient ?? new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        _completionsUri = CompletionsUri(options.Endpoint);
        _endpointText = _completionsUri.GetLeftPart(UriPartial.Path);
        _slots = new SemaphoreSlim(options.MaxInFlight, options.MaxInFlight);
        _pipeline = BuildPipeline(options, _timeProvider);
        Name = $"openai:{options.Model}@{options.Endpoint.GetLeftPart(UriPartial.Authority)}";
    }

    public string Name { get; }

    /// <summary>Requests sent and not yet answered.</summary>
    public int InFlightRequests => Volatile.Read(ref _inFlight);

    /// <summary>Requests waiting for an in-flight slot.</summary>
    public int QueuedRequests => Volatile.Read(ref _queued);

    public Task<IReadOnlyList<RolloutResult>> GenerateAsync(IReadOnlyList<RolloutRequest> requests, CancellationToken cancellationToken)
    {
        RolloutRequestValidator.Validate(requests);
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<IReadOnlyList<RolloutResult>>(cancellationToken);
        }

        return RolloutFanOut.RunAsync(requests, GenerateOneAsync, cancellationToken);
    }

    public void Dispose()
    {
        if (_ownsHttp)
        {
            _http.Dispose();
        }

        _slots.Dispose();
    }

    private async Task<RolloutResult> GenerateOneAsync(RolloutRequest request, CancellationToken cancellationToken)
    {
        byte[] body = JsonSerializer.SerializeToUtf8Bytes(CreateBody(request), OpenAiJsonContext.Default.CompletionRequestBody);

        Interlocked.Increment(ref _queued);
        try
        {
            await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _queued);
        }

        Interlocked.Increment(ref _inFlight);
        try
        {
            return await SendAsync(request, body, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
            _slots.Release();
        }
    }

    private async Task<RolloutResult> SendAsync(RolloutRequest request, byte[] body, CancellationToken cancellationToken)
    {
        int attempts = 0;
        HttpResponseMessage response;
        try
        {
            response = await _pipeline.ExecuteAsync(
                async ct =>
                {
                    attempts++;
                    using HttpRequestMessage message = CreateHttpRequest(body);

                    // ResponseContentRead buffers the whole body inside the attempt, so the timeout covers it.
                    return await _http.SendAsync(message, HttpCompletionOption.ResponseContentRead, ct).ConfigureAwait(false);
                },
                cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutRejectedException ex)
        {
            throw Failure(request, $"timed out: no complete response within {_options.RequestTimeout} ({Attempts(attempts)})", null, ex);
        }
        catch (HttpRequestException ex)
        {
            throw Failure(request, $"request failed ({Attempts(attempts)}): {ex.Message}", null, ex);
        }

        using (response)
        {
            byte[] content = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                int status = (int)response.StatusCode;
                throw Failure(
                    request,
                    $"HTTP {status} {response.ReasonPhrase} ({Attempts(attempts)}); body: {OpenAiResponseReader.Snippet(content)}",
                    status);
            }

            try
            {
                (string? model, RolloutCompletion[] completions) = OpenAiResponseReader.Read(content, request);
                return new RolloutResult(request.PromptId, model ?? _options.Model, completions);
            }
            catch (MalformedResponseException ex)
            {
                throw Failure(request, $"malformed response: {ex.Message}", (int)response.StatusCode);
            }
        }
    }

    private CompletionRequestBody CreateBody(RolloutRequest request)
    {
        SamplingSettings s = request.Sampling;
        return new CompletionRequestBody
        {
            Model = _options.Model,
            Prompt = request.Prompt,
            N = request.N,
            MaxTokens = s.MaxTokens,
            Temperature = s.Temperature,
            TopP = s.TopP,
            TopK = s.TopK,
            Stop = s.Stop.Count == 0 ? null : s.Stop,
            Seed = s.Seed,
            Logprobs = s.Logprobs ? 1 : null,
        };
    }

    private HttpRequestMessage CreateHttpRequest(byte[] body)
    {
        var message = new HttpRequestMessage(HttpMethod.Post, _completionsUri)
        {
            Content = new ByteArrayContent(body),
        };
        message.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        if (_options.ApiKey is not null)
        {
            message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _options.ApiKey);
        }

        return message;
    }

    private RolloutBackendException Failure(RolloutRequest request, string problem, int? statusCode, Exception? inner = null)
    {
        // A server may echo the request's headers in an error body; the key must not reach logs through us.
        if (!string.IsNullOrEmpty(_options.ApiKey))
        {
            problem = problem.Replace(_options.ApiKey, "***", StringComparison.Ordinal);
        }

        return new RolloutBackendException(_endpointText, request.PromptId, problem, statusCode, inner);
    }

    private static string Attempts(int attempts) => attempts == 1 ? "1 attempt" : $"{attempts} attempts";

    private static Uri CompletionsUri(Uri endpoint)
    {
        string path = endpoint.AbsolutePath.TrimEnd('/');
        string suffix = path.EndsWith("/v1", StringComparison.Ordinal) ? "/completions" : "/v1/completions";
        return new UriBuilder(endpoint) { Path = path + suffix, Query = string.Empty, Fragment = string.Empty }.Uri;
    }

    private static ResiliencePipeline<HttpResponseMessage> BuildPipeline(OpenAiCompletionsOptions options, TimeProvider timeProvider)
    {
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = timeProvider };
        if (options.MaxRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                ShouldHandle = static args => ValueTask.FromResult(IsTransient(args.Outcome)),
                MaxRetryAttempts = options.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                Delay = options.RetryBaseDelay,
                MaxDelay = options.MaxRetryDelay,
                UseJitter = options.RetryJitter,
                DelayGenerator = args => ValueTask.FromResult(RetryAfter(args.Outcome.Result, options.MaxRetryDelay, timeProvider)),
            });
        }

        // Added after the retry, so it is the inner strategy: each attempt gets the full timeout.
        builder.AddTimeout(options.RequestTimeout);
        return builder.Build();
    }

    private static bool IsTransient(Outcome<HttpResponseMessage> outcome) => outcome switch
    {
        { Exception: HttpRequestException or TimeoutRejectedException } => true,
        { Result: { } response } => response.StatusCode == HttpStatusCode.TooManyRequests || (int)response.StatusCode >= 500,
        _ => false,
    };

    /// <summary>The server's Retry-After (seconds or a date), capped; null lets the exponential backoff decide.</summary>
    private static TimeSpan? RetryAfter(HttpResponseMessage? response, TimeSpan max, TimeProvider timeProvider)
    {
        RetryConditionHeaderValue? header = response?.Headers.RetryAfter;
        TimeSpan? delay = header switch
        {
            { Delta: { } delta } => delta,
            { Date: { } date } => date - timeProvider.GetUtcNow(),
            _ => null,
        };

        return delay is null ? null : TimeSpan.FromTicks(Math.Clamp(delay.Value.Ticks, 0, max.Ticks));
    }
}
