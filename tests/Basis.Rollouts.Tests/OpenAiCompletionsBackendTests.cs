using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Basis.Rollouts.OpenAi;

namespace Basis.Rollouts.Tests;

public sealed class OpenAiCompletionsBackendTests : IAsyncLifetime
{
    private const string Model = "fake-model";
    private static readonly TimeSpan s_requestTimeout = TimeSpan.FromSeconds(30);

    private readonly ManualTimeProvider _time = new();
    private readonly List<OpenAiCompletionsBackend> _backends = [];
    private FakeOpenAiServer? _server;

    private static CancellationToken TestCancellation => TestContext.Current.CancellationToken;

    private FakeOpenAiServer Server => _server ?? throw new InvalidOperationException("The server starts in InitializeAsync.");

    public async ValueTask InitializeAsync() => _server = await FakeOpenAiServer.StartAsync(TestCancellation);

    public async ValueTask DisposeAsync()
    {
        _backends.ForEach(b => b.Dispose());
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    [Fact(Timeout = 20_000)]
    public async Task SendsTheSamplingSettingsAsCompletionsFields()
    {
        OpenAiCompletionsBackend backend = Create();
        var sampling = new SamplingSettings { Temperature = 0.7, TopP = 0.9, TopK = 40, MaxTokens = 12, Stop = ["\n\n", "Q:"], Seed = 99 };

        await backend.GenerateAsync([new RolloutRequest("p0", "2 + 2 =", 3, sampling)], TestCancellation);

        JsonElement body = Assert.Single(Server.Requests).Body;
        Assert.Equal(Model, body.GetProperty("model").GetString());
        Assert.Equal("2 + 2 =", body.GetProperty("prompt").GetString());
        Assert.Equal(3, body.GetProperty("n").GetInt32());
        Assert.Equal(12, body.GetProperty("max_tokens").GetInt32());
        Assert.Equal(0.7, body.GetProperty("temperature").GetDouble());
        Assert.Equal(0.9, body.GetProperty("top_p").GetDouble());
        Assert.Equal(40, body.GetProperty("top_k").GetInt32());
        Assert.Equal(["\n\n", "Q:"], body.GetProperty("stop").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(99, body.GetProperty("seed").GetInt64());
        Assert.Equal(1, body.GetProperty("logprobs").GetInt32());
    }

    [Fact(Timeout = 20_000)]
    public async Task LeavesUnsetOptionalFieldsToTheServer()
    {
        OpenAiCompletionsBackend backend = Create();

        await backend.GenerateAsync([new RolloutRequest("p0", "prompt", 1, SamplingSettings.Default with { Logprobs = false })], TestCancellation);

        JsonElement body = Assert.Single(Server.Requests).Body;
        foreach (string absent in new[] { "top_k", "stop", "seed", "logprobs" })
        {
            Assert.False(body.TryGetProperty(absent, out _), $"'{absent}' should not be sent");
        }
    }

    [Fact(Timeout = 20_000)]
    public async Task ReadsChoicesByIndexAndReportsTheServedModel()
    {
        OpenAiCompletionsBackend backend = Create();
        Server.Enqueue(FakeReply.Edited(response =>
        {
            JsonArray choices = response["choices"]!.AsArray();
            JsonNode?[] reversed = [.. choices.Reverse().Select(c => c!.DeepClone())];
            choices.Clear();
            Array.ForEach(reversed, choices.Add);
            response["model"] = "served-name";
        }));

        RolloutResult result = Assert.Single(await backend.GenerateAsync([new RolloutRequest("p0", "prompt", 3, SamplingSettings.Default with { Seed = 5 })], TestCancellation));

        JsonArray expected = FakeOpenAiServer.Complete(Assert.Single(Server.Requests))["choices"]!.AsArray();
        Assert.Equal(expected.Select(c => c!["text"]!.GetValue<string>()), result.Completions.Select(c => c.Text));
        Assert.Equal(expected[1]!["logprobs"]!["token_logprobs"]!.AsArray().Select(v => v!.GetValue<double>()), result.Completions[1].Logprobs);
        Assert.Equal("served-name", result.PolicyVersion);
    }

    [Fact(Timeout = 20_000)]
    public async Task MapsFinishReasons()
    {
        OpenAiCompletionsBackend backend = Create();
        Server.Enqueue(FakeReply.Edited(response =>
        {
            string[] reasons = ["stop", "length", "abort"];
            JsonArray choices = response["choices"]!.AsArray();
            for (int i = 0; i < choices.Count; i++)
            {
                choices[i]!["finish_reason"] = reasons[i];
            }
        }));

        RolloutResult result = Assert.Single(await backend.GenerateAsync([new RolloutRequest("p0", "prompt", 3, SamplingSettings.Default)], TestCancellation));

        Assert.Equal([FinishReason.Stop, FinishReason.Length, FinishReason.Other], result.Completions.Select(c => c.FinishReason));
    }

    [Fact(Timeout = 20_000)]
    public async Task AcceptsAnEndpointThatAlreadyEndsInV1()
    {
        OpenAiCompletionsBackend backend = Create(o => o with { Endpoint = new Uri(Server.Endpoint, "v1/") });

        IReadOnlyList<RolloutResult> results = await backend.GenerateAsync([new RolloutRequest("p0", "prompt", 1, SamplingSettings.Default)], TestCancellation);

        Assert.Single(Server.Requests);
        Assert.Single(results[0].Completions);
    }

    [Fact(Timeout = 20_000)]
    public async Task NeverExceedsMaxInFlightAndQueuesTheRest()
    {
        OpenAiCompletionsBackend backend = Create(o => o with { MaxInFlight = 3 });
        TaskCompletionSource[] gates = [.. Enumerable.Range(0, 10).Select(_ => new TaskCompletionSource())];
        Server.Enqueue([.. gates.Select(g => FakeReply.Held(g.Task))]);
        RolloutRequest[] requests = [.. Enumerable.Range(0, 10).Select(i => new RolloutRequest($"p{i}", $"prompt {i}", 1, SamplingSettings.Default))];

        Task<IReadOnlyList<RolloutResult>> call = backend.GenerateAsync(requests, TestCancellation);

        // Once seven wait for a slot, nothing else can be sent until a reply comes back.
        await Server.WaitUntilAsync(s => s.InFlight == 3 && backend.QueuedRequests == 7, TestCancellation);
        Assert.Equal(3, backend.InFlightRequests);
        for (int i = 0; i < gates.Length; i++)
        {
            gates[i].SetResult();
            int admitted = Math.Min(gates.Length, i + 4);
            await Server.WaitUntilAsync(s => s.Requests.Count == admitted, TestCancellation);
        }

        IReadOnlyList<RolloutResult> results = await call;
        Assert.Equal(requests.Select(r => r.PromptId), results.Select(r => r.PromptId));
        Assert.Equal(3, Server.MaxInFlight);
        Assert.Equal(0, backend.InFlightRequests);
        Assert.Equal(0, backend.QueuedRequests);
    }

    [Fact(Timeout = 20_000)]
    public async Task KeepsRequestOrderWhenRepliesArriveInReverse()
    {
        OpenAiCompletionsBackend backend = Create();
        Dictionary<string, TaskCompletionSource> gates = Enumerable.Range(0, 4).ToDictionary(i => $"prompt {i}", _ => new TaskCompletionSource());
        Server.Responder = request => FakeReply.Held(gates[request.Body.GetProperty("prompt").GetString()!].Task);
        RolloutRequest[] requests = [.. Enumerable.Range(0, 4).Select(i => new RolloutRequest($"p{i}", $"prompt {i}", 2, SamplingSettings.Default with { Seed = 3 }))];

        Task<IReadOnlyList<RolloutResult>> call = backend.GenerateAsync(requests, TestCancellation);
        await Server.WaitUntilAsync(s => s.InFlight == 4, TestCancellation);
        for (int i = 3; i >= 0; i--)
        {
            gates[$"prompt {i}"].SetResult();
            int inFlight = i;
            await Server.WaitUntilAsync(s => s.InFlight == inFlight, TestCancellation);
        }

        IReadOnlyList<RolloutResult> results = await call;
        Assert.Equal(requests.Select(r => r.PromptId), results.Select(r => r.PromptId));
        for (int i = 0; i < 4; i++)
        {
            FakeRequest sent = Server.Requests.Single(r => r.Body.GetProperty("prompt").GetString() == $"prompt {i}");
            JsonArray expected = FakeOpenAiServer.Complete(sent)["choices"]!.AsArray();
            Assert.Equal(expected.Select(c => c!["text"]!.GetValue<string>()), results[i].Completions.Select(c => c.Text));
        }
    }

    [Fact(Timeout = 20_000)]
    public async Task RetriesServerErrorsWithExponentialBackoff()
    {
        OpenAiCompletionsBackend backend = Create(o => o with { MaxRetries = 3 });
        Server.Enqueue(FakeReply.Error(500), FakeReply.Error(503));

        Task<IReadOnlyList<RolloutResult>> call = backend.GenerateAsync([Request("p0")], TestCancellation);
        await AdvanceWhenArmedAsync(TimeSpan.FromSeconds(1));
        await AdvanceWhenArmedAsync(TimeSpan.FromSeconds(2));

        Assert.Single((await call)[0].Completions);
        Assert.Equal(3, Server.Requests.Count);
        Assert.Equal([TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2)], _time.ArmedDueTimes.Where(d => d != s_requestTimeout));
    }

    [Theory(Timeout = 20_000)]
    [InlineData("7", 7)]
    [InlineData("3600", 10)]
    public async Task HonoursRetryAfterOnTooManyRequestsUpToMaxRetryDelay(string retryAfter, int expectedSeconds)
    {
        OpenAiCompletionsBackend backend = Create(o => o with { MaxRetryDelay = TimeSpan.FromSeconds(10) });
        Server.Enqueue(FakeReply.Error(429, retryAfter: retryAfter));

        Task<IReadOnlyList<RolloutResult>> call = backend.GenerateAsync([Request("p0")], TestCancellation);
        await AdvanceWhenArmedAsync(TimeSpan.FromSeconds(expectedSeconds));

        Assert.Single((await call)[0].Completions);
        Assert.Equal([TimeSpan.FromSeconds(expectedSeconds)], _time.ArmedDueTimes.Where(d => d != s_requestTimeout));
    }

    [Fact(Timeout = 20_000)]
    public async Task HonoursRetryAfterGivenAsADate()
    {
        OpenAiCompletionsBackend backend = Create();
        string date = (_time.GetUtcNow() + TimeSpan.FromSeconds(5)).ToString("R", CultureInfo.InvariantCulture);
        Server.Enqueue(FakeReply.Error(429, retryAfter: date));

        Task<IReadOnlyList<RolloutResult>> call = backend.GenerateAsync([Request("p0")], TestCancellation);
        await AdvanceWhenArmedAsync(TimeSpan.FromSeconds(5));

        Assert.Single((await call)[0].Completions);
    }

    [Theory(Timeout = 20_000)]
    [InlineData(400)]
    [InlineData(404)]
    [InlineData(422)]
    public async Task DoesNotRetryClientErrors(int status)
    {
        OpenAiCompletionsBackend backend = Create();
        Server.Enqueue(FakeReply.Error(status, "{\"object\":\"error\",\"message\":\"bad request field\"}"));

        RolloutBackendException error = await Assert.ThrowsAsync<RolloutBackendException>(() => backend.GenerateAsync([Request("p7")], TestCancellation));

        Assert.Equal(status, error.StatusCode);
        Assert.Equal("p7", error.PromptId);
        Assert.Contains($"HTTP {status}", error.Message);
        Assert.Contains(Server.Endpoint.GetLeftPart(UriPartial.Authority), error.Message);
        Assert.Contains("'p7'", error.Message);
        Assert.Contains("bad request field", error.Message);
        Assert.Single(Server.Requests);
    }

    [Fact(Timeout = 20_000)]
    public async Task GivesUpWhenRetriesAreExhausted()
    {
        OpenAiCompletionsBackend backend = Create(o => o with { MaxRetries = 1 });
        Server.Enqueue(FakeReply.Error(502), FakeReply.Error(502));

        Task<IReadOnlyList<RolloutResult>> call = backend.GenerateAsync([Request("p0")], TestCancellation);
        await AdvanceWhenArmedAsync(TimeSpan.FromSeconds(1));

        RolloutBackendException error = await Assert.ThrowsAsync<RolloutBackendException>(() => call);
        Assert.Equal(502, error.StatusCode);
        Assert.Contains("2 attempts", error.Message);
        Assert.Equal(2, Server.Requests.Count);
    }

    [Fact(Timeout = 20_000)]
    public async Task TimesOutASlowAttemptAndRetriesIt()
    {
        OpenAiCompletionsBackend backend = Create(o => o with { MaxRetries = 1 });
        var never = new TaskCompletionSource();
        Server.Enqueue(FakeReply.Held(never.Task));

        Task<IReadOnlyList<RolloutResult>> call = backend.GenerateAsync([Request("p0")], TestCancellation);
        await Server.WaitUntilAsync(s => s.InFlight == 1, TestCancellation);
        await AdvanceWhenArmedAsync(s_requestTimeout);
        await AdvanceWhenArmedAsync(TimeSpan.FromSeconds(1));

        Assert.Single((await call)[0].Completions);
        Assert.Equal(2, Server.Requests.Count);
    }

    [Fact(Timeout = 20_000)]
    public async Task ReportsATimeoutWhenEveryAttemptTimesOut()
    {
        OpenAiCompletionsBackend backend = Create(o => o with { MaxRetries = 0 });
        var never = new TaskCompletionSource();
        Server.Enqueue(FakeReply.Held(never.Task));

        Task<IReadOnlyList<RolloutResult>> call = backend.GenerateAsync([Request("p3")], TestCancellation);
        await Server.WaitUntilAsync(s => s.InFlight == 1, TestCancellation);
        await AdvanceWhenArmedAsync(s_requestTimeout);

        RolloutBackendException error = await Assert.ThrowsAsync<RolloutBackendException>(() => call);
        Assert.Contains("timed out", error.Message);
        Assert.Contains("'p3'", error.Message);
        Assert.Null(error.StatusCode);
    }

    [Fact(Timeout = 20_000)]
    public async Task ReportsAnUnreachableServer()
    {
        FakeOpenAiServer closed = await FakeOpenAiServer.StartAsync(TestCancellation);
        Uri endpoint = closed.Endpoint;
        await closed.DisposeAsync();
        OpenAiCompletionsBackend backend = Create(o => o with { Endpoint = endpoint, MaxRetries = 0 });

        RolloutBackendException error = await Assert.ThrowsAsync<RolloutBackendException>(() => backend.GenerateAsync([Request("p0")], TestCancellation));

        Assert.Contains("request failed (1 attempt)", error.Message);
        Assert.IsType<HttpRequestException>(error.InnerException);
    }

    [Theory(Timeout = 20_000)]
    [InlineData("not-json", "not valid completions JSON")]
    [InlineData("no-choices", "no 'choices' array")]
    [InlineData("too-few-choices", "asked for n=3 completions but 'choices' has 2")]
    [InlineData("no-logprobs", "choices[1] has no 'logprobs' although logprobs were requested")]
    [InlineData("short-logprobs", "choices[0].logprobs has")]
    [InlineData("repeated-index", "out of range or repeated")]
    [InlineData("no-finish-reason", "choices[2] has no 'finish_reason'")]
    [InlineData("null-logprob", "choices[0].logprobs.token_logprobs[0] is null")]
    [InlineData("nan-logprob", "choices[0].logprobs.token_logprobs[1] is NaN")]
    [InlineData("no-text", "choices[1] has no 'text'")]
    [InlineData("empty-body", "not valid completions JSON")]
    [InlineData("too-many-tokens", "choices[0] has 5 tokens but max_tokens was 4")]
    public async Task RejectsMalformedResponsesSayingWhatIsWrong(string malformation, string expected)
    {
        OpenAiCompletionsBackend backend = Create(o => o with { MaxRetries = 2 });
        Server.Enqueue(Malformed(malformation));

        RolloutBackendException error = await Assert.ThrowsAsync<RolloutBackendException>(
            () => backend.GenerateAsync([new RolloutRequest("gsm8k-17", "prompt", 3, SamplingSettings.Default with { MaxTokens = 4 })], TestCancellation));

        Assert.Contains(expected, error.Message);
        Assert.Contains("malformed response", error.Message);
        Assert.Contains("'gsm8k-17'", error.Message);
        Assert.Contains(new Uri(Server.Endpoint, "v1/completions").ToString(), error.Message);
        Assert.Single(Server.Requests);
    }

    [Fact(Timeout = 20_000)]
    public async Task SendsTheApiKeyButNeverShowsIt()
    {
        const string key = "sk-test-0123456789";
        OpenAiCompletionsBackend backend = Create(o => o with { ApiKey = key });
        Server.Enqueue(FakeReply.Error(401, $"{{\"error\":\"invalid key {key}\"}}"));

        RolloutBackendException error = await Assert.ThrowsAsync<RolloutBackendException>(() => backend.GenerateAsync([Request("p0")], TestCancellation));

        Assert.Equal($"Bearer {key}", Assert.Single(Server.Requests).Authorization);
        Assert.DoesNotContain(key, error.ToString());
        Assert.Contains("invalid key ***", error.Message);
        string options = new OpenAiCompletionsOptions(Server.Endpoint, Model) { ApiKey = key }.ToString();
        Assert.DoesNotContain(key, options);
        Assert.Contains("ApiKey = ***", options);
    }

    [Fact(Timeout = 20_000)]
    public async Task AFailedRequestCancelsTheOthersAndIsTheErrorReported()
    {
        OpenAiCompletionsBackend backend = Create();
        var never = new TaskCompletionSource();
        Server.Responder = request => request.Body.GetProperty("prompt").GetString() == "slow"
            ? FakeReply.Held(never.Task)
            : FakeReply.Error(400, "{\"message\":\"prompt too long\"}");
        RolloutRequest[] requests = [new("p0", "slow", 1, SamplingSettings.Default), new("p1", "fails", 1, SamplingSettings.Default)];

        RolloutBackendException error = await Assert.ThrowsAsync<RolloutBackendException>(() => backend.GenerateAsync(requests, TestCancellation));

        Assert.Equal("p1", error.PromptId);
        await Server.WaitUntilAsync(s => s.InFlight == 0, TestCancellation);
        Assert.False(never.Task.IsCompleted);
    }

    [Fact(Timeout = 20_000)]
    public async Task CancellingReleasesRequestsWaitingForASlot()
    {
        OpenAiCompletionsBackend backend = Create(o => o with { MaxInFlight = 1 });
        var never = new TaskCompletionSource();
        Server.Responder = _ => FakeReply.Held(never.Task);
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(TestCancellation);

        Task<IReadOnlyList<RolloutResult>> call = backend.GenerateAsync([Request("p0"), Request("p1"), Request("p2")], cancellation.Token);
        await Server.WaitUntilAsync(s => s.InFlight == 1 && backend.QueuedRequests == 2, TestCancellation);
        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        Assert.Equal(0, backend.QueuedRequests);
        Assert.Equal(0, backend.InFlightRequests);
        Assert.Single(Server.Requests);
    }

    [Theory]
    [InlineData("ftp://host", "Endpoint")]
    [InlineData("http://user:secret@host:8000", "Endpoint")]
    [InlineData("http://host:8000", "Model")]
    [InlineData("http://host:8000", "MaxInFlight")]
    [InlineData("http://host:8000", "RequestTimeout")]
    [InlineData("http://host:8000", "MaxRetries")]
    [InlineData("http://host:8000", "RetryBaseDelay")]
    public void RejectsInvalidOptionsNamingTheOption(string endpoint, string invalid)
    {
        var options = new OpenAiCompletionsOptions(new Uri(endpoint), invalid == "Model" ? " " : Model);
        options = invalid switch
        {
            "MaxInFlight" => options with { MaxInFlight = 0 },
            "RequestTimeout" => options with { RequestTimeout = TimeSpan.Zero },
            "MaxRetries" => options with { MaxRetries = -1 },
            "RetryBaseDelay" => options with { RetryBaseDelay = TimeSpan.FromMinutes(5) },
            _ => options,
        };

        ArgumentException error = Assert.Throws<ArgumentException>(() => new OpenAiCompletionsBackend(options));

        Assert.Equal(invalid, error.ParamName);
        Assert.Contains(invalid, error.Message);
        Assert.DoesNotContain("secret", error.Message);
    }

    private OpenAiCompletionsBackend Create(Func<OpenAiCompletionsOptions, OpenAiCompletionsOptions>? configure = null)
    {
        var options = new OpenAiCompletionsOptions(Server.Endpoint, Model)
        {
            RequestTimeout = s_requestTimeout,
            RetryBaseDelay = TimeSpan.FromSeconds(1),
            RetryJitter = false,
        };
        var backend = new OpenAiCompletionsBackend(configure?.Invoke(options) ?? options, timeProvider: _time);
        _backends.Add(backend);
        return backend;
    }

    private async Task AdvanceWhenArmedAsync(TimeSpan dueTime)
    {
        await _time.WaitForTimerAsync(dueTime, TestCancellation);
        _time.Advance(dueTime);
    }

    private static RolloutRequest Request(string promptId) => new(promptId, $"prompt for {promptId}", 1, SamplingSettings.Default);

    private static FakeReply Malformed(string malformation) => malformation switch
    {
        "not-json" => FakeReply.Raw("<html>502 Bad Gateway</html>"),
        "no-choices" => FakeReply.Raw("{\"object\":\"text_completion\"}"),
        "too-few-choices" => FakeReply.Edited(r => r["choices"]!.AsArray().RemoveAt(2)),
        "no-logprobs" => FakeReply.Edited(r => r["choices"]![1]!.AsObject().Remove("logprobs")),
        "short-logprobs" => FakeReply.Edited(r => r["choices"]![0]!["logprobs"]!["token_logprobs"]!.AsArray().Add(-0.5)),
        "repeated-index" => FakeReply.Edited(r => r["choices"]![2]!["index"] = 0),
        "no-finish-reason" => FakeReply.Edited(r => r["choices"]![2]!.AsObject().Remove("finish_reason")),
        "null-logprob" => FakeReply.Edited(r => r["choices"]![0]!["logprobs"]!["token_logprobs"]![0] = null),
        "nan-logprob" => FakeReply.Raw(
            "{\"choices\":[{\"index\":0,\"text\":\" a b\",\"finish_reason\":\"stop\",\"logprobs\":{\"tokens\":[\" a\",\" b\"],\"token_logprobs\":[-0.5,\"NaN\"]}},"
            + "{\"index\":1,\"text\":\"\",\"finish_reason\":\"stop\",\"logprobs\":{\"tokens\":[],\"token_logprobs\":[]}},"
            + "{\"index\":2,\"text\":\"\",\"finish_reason\":\"stop\",\"logprobs\":{\"tokens\":[],\"token_logprobs\":[]}}]}"),
        "no-text" => FakeReply.Edited(r => r["choices"]![1]!.AsObject().Remove("text")),
        "empty-body" => FakeReply.Raw(string.Empty),
        "too-many-tokens" => FakeReply.Edited(r =>
        {
            var logprobs = r["choices"]![0]!["logprobs"]!;
            logprobs["tokens"] = new JsonArray(" a", " b", " c", " d", " e");
            logprobs["token_logprobs"] = new JsonArray(-0.1, -0.2, -0.3, -0.4, -0.5);
        }),
        _ => throw new ArgumentOutOfRangeException(nameof(malformation), malformation, null),
    };
}
