using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Basis.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Basis.Rollouts.Tests;

/// <summary>What the fake server answers to one request.</summary>
internal abstract record FakeReply
{
    /// <summary>A well-formed, deterministic completions response (see <see cref="FakeOpenAiServer.Complete"/>).</summary>
    public static FakeReply Ok { get; } = new OkReply();

    /// <summary>An HTTP error, optionally with a Retry-After header value.</summary>
    public static FakeReply Error(int status, string body = "{\"error\":{\"message\":\"fake failure\"}}", string? retryAfter = null) =>
        new ErrorReply(status, body, retryAfter);

    /// <summary>HTTP 200 with this exact body (malformed JSON, missing fields...).</summary>
    public static FakeReply Raw(string body) => new RawReply(body);

    /// <summary>A well-formed response edited before it is sent (wrong choice count, missing logprobs...).</summary>
    public static FakeReply Edited(Action<JsonObject> edit) => new EditedReply(edit);

    /// <summary>Waits for <paramref name="release"/> (or the client giving up), then answers <paramref name="then"/>.</summary>
    public static FakeReply Held(Task release, FakeReply? then = null) => new HeldReply(release, then ?? Ok);

    internal sealed record OkReply : FakeReply;

    internal sealed record ErrorReply(int Status, string Body, string? RetryAfter) : FakeReply;

    internal sealed record RawReply(string Body) : FakeReply;

    internal sealed record EditedReply(Action<JsonObject> Edit) : FakeReply;

    internal sealed record HeldReply(Task Release, FakeReply Then) : FakeReply;
}

/// <summary>One request the fake server received.</summary>
internal sealed record FakeRequest(int Number, JsonElement Body, string? Authorization);

/// <summary>
/// An OpenAI-compatible <c>/v1/completions</c> server on 127.0.0.1 with a free port. Replies come from
/// <see cref="Enqueue"/> (first), then <see cref="Responder"/>, then <see cref="FakeReply.Ok"/>. It counts requests
/// in flight so tests can check the client's bound, and never sleeps: slow replies wait for a test-controlled task.
/// </summary>
internal sealed class FakeOpenAiServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Lock _gate = new();
    private readonly Queue<FakeReply> _queue = new();
    private readonly List<FakeRequest> _requests = [];
    private readonly List<(Func<bool> Condition, TaskCompletionSource Done)> _waiters = [];
    private readonly CancellationTokenSource _shutdown = new();
    private int _inFlight;

    private FakeOpenAiServer(WebApplication app)
    {
        _app = app;
    }

    public Uri Endpoint { get; private set; } = null!;

    /// <summary>Chooses a reply when the queue is empty; null means <see cref="FakeReply.Ok"/>.</summary>
    public Func<FakeRequest, FakeReply>? Responder { get; set; }

    public int InFlight
    {
        get
        {
            lock (_gate)
            {
                return _inFlight;
            }
        }
    }

    public int MaxInFlight { get; private set; }

    public IReadOnlyList<FakeRequest> Requests
    {
        get
        {
            lock (_gate)
            {
                return [.. _requests];
            }
        }
    }

    public static async Task<FakeOpenAiServer> StartAsync(CancellationToken cancellationToken)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        WebApplication app = builder.Build();
        var server = new FakeOpenAiServer(app);
        app.Run(server.HandleAsync);
        await app.StartAsync(cancellationToken);
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        server.Endpoint = new Uri(address);
        return server;
    }

    public void Enqueue(params FakeReply[] replies)
    {
        lock (_gate)
        {
            foreach (FakeReply reply in replies)
            {
                _queue.Enqueue(reply);
            }
        }
    }

    /// <summary>Completes when <paramref name="condition"/> holds, re-checked whenever a request arrives or finishes.</summary>
    public Task WaitUntilAsync(Func<FakeOpenAiServer, bool> condition, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (condition(this))
            {
                return Task.CompletedTask;
            }

            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((() => condition(this), done));
            return done.Task.WaitAsync(cancellationToken);
        }
    }

    /// <summary>
    /// The deterministic answer to a request: choice i of a prompt with a given seed always has the same tokens,
    /// between 1 and 6 of them (capped by max_tokens). Without a seed the request number stands in for it.
    /// </summary>
    public static JsonObject Complete(FakeRequest request)
    {
        JsonElement body = request.Body;
        string prompt = body.GetProperty("prompt").GetString()!;
        int n = body.TryGetProperty("n", out JsonElement nValue) ? nValue.GetInt32() : 1;
        int maxTokens = body.TryGetProperty("max_tokens", out JsonElement max) ? max.GetInt32() : 16;
        long seed = body.TryGetProperty("seed", out JsonElement seedValue) ? seedValue.GetInt64() : request.Number;
        bool logprobs = body.TryGetProperty("logprobs", out JsonElement lp) && lp.ValueKind == JsonValueKind.Number;

        var choices = new JsonArray();
        for (int i = 0; i < n; i++)
        {
            ulong state = StableHash.Of($"{prompt}|{seed}|{i}");
            int wanted = 1 + (int)(state % 6);
            int count = Math.Min(wanted, maxTokens);
            var tokens = new JsonArray();
            var tokenLogprobs = new JsonArray();
            string text = string.Empty;
            for (int t = 0; t < count; t++)
            {
                state = StableHash.Of($"{state}:{t}");
                string token = $" w{state % 50}";
                text += token;
                tokens.Add(token);
                tokenLogprobs.Add(-(double)((state >> 8) % 4000) / 1000.0 - 0.001);
            }

            var choice = new JsonObject
            {
                ["index"] = i,
                ["text"] = text,
                ["finish_reason"] = count < wanted ? "length" : "stop",
                ["logprobs"] = logprobs ? new JsonObject { ["tokens"] = tokens, ["token_logprobs"] = tokenLogprobs } : null,
            };
            choices.Add(choice);
        }

        return new JsonObject
        {
            ["id"] = $"cmpl-{request.Number}",
            ["object"] = "text_completion",
            ["model"] = body.GetProperty("model").GetString(),
            ["choices"] = choices,
        };
    }

    public async ValueTask DisposeAsync()
    {
        // Held replies end first, so stopping does not wait for a release that will never come.
        await _shutdown.CancelAsync();
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
        _shutdown.Dispose();
    }

    private async Task HandleAsync(HttpContext context)
    {
        if (context.Request.Path != "/v1/completions" || context.Request.Method != HttpMethods.Post)
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        using JsonDocument document = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
        FakeRequest request;
        FakeReply reply;
        lock (_gate)
        {
            request = new FakeRequest(_requests.Count + 1, document.RootElement.Clone(), context.Request.Headers.Authorization.FirstOrDefault());
            _requests.Add(request);
            reply = _queue.Count > 0 ? _queue.Dequeue() : Responder?.Invoke(request) ?? FakeReply.Ok;
            _inFlight++;
            MaxInFlight = Math.Max(MaxInFlight, _inFlight);
            ReleaseWaiters();
        }

        bool counted = true;
        using var abandoned = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _shutdown.Token);
        try
        {
            while (reply is FakeReply.HeldReply held)
            {
                await held.Release.WaitAsync(abandoned.Token);
                reply = held.Then;
            }

            // Leave the in-flight count before the client can see the reply, or its next request could overlap.
            LeaveInFlight(ref counted);
            await WriteAsync(context, request, reply);
        }
        catch (OperationCanceledException) when (abandoned.IsCancellationRequested)
        {
            // The client gave up or the server is stopping; nothing to answer.
        }
        finally
        {
            LeaveInFlight(ref counted);
        }
    }

    private static async Task WriteAsync(HttpContext context, FakeRequest request, FakeReply reply)
    {
        (int status, string body) = reply switch
        {
            FakeReply.OkReply => (200, Complete(request).ToJsonString()),
            FakeReply.ErrorReply error => (error.Status, error.Body),
            FakeReply.RawReply raw => (200, raw.Body),
            FakeReply.EditedReply edited => (200, Edit(Complete(request), edited.Edit)),
            _ => throw new InvalidOperationException($"Unhandled reply {reply}."),
        };

        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        if (reply is FakeReply.ErrorReply { RetryAfter: { } retryAfter })
        {
            context.Response.Headers.RetryAfter = retryAfter;
        }

        await context.Response.WriteAsync(body, context.RequestAborted);
    }

    private static string Edit(JsonObject response, Action<JsonObject> edit)
    {
        edit(response);
        return response.ToJsonString();
    }

    private void LeaveInFlight(ref bool counted)
    {
        if (!counted)
        {
            return;
        }

        counted = false;
        lock (_gate)
        {
            _inFlight--;
            ReleaseWaiters();
        }
    }

    private void ReleaseWaiters()
    {
        for (int i = _waiters.Count - 1; i >= 0; i--)
        {
            if (_waiters[i].Condition())
            {
                _waiters[i].Done.TrySetResult();
                _waiters.RemoveAt(i);
            }
        }
    }
}
