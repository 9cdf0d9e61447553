using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Basis.Testing;

namespace Basis.Cli.Tests;

/// <summary>
/// A deterministic OpenAI-compatible <c>/v1/completions</c> server on 127.0.0.1 for the CLI's eval and mse-bench tests.
/// Each prompt it knows has a gold answer and a success probability p: choice j of a request with seed s is correct when
/// a hash of (prompt, s, j) falls below p. It records every request and how many correct choices it sent per prompt.
/// </summary>
internal sealed class EvalFakeCompletionsServer : LoopbackHttpServer
{
    private readonly Dictionary<string, (string Gold, double P)> _prompts;
    private readonly Lock _gate = new();
    private readonly List<JsonElement> _requests = [];
    private readonly Dictionary<string, int> _correct = new(StringComparer.Ordinal);

    private EvalFakeCompletionsServer(Dictionary<string, (string Gold, double P)> prompts)
    {
        _prompts = prompts;
        Listen();
    }

    /// <summary>When set, every request is answered with this status and no completions.</summary>
    public int? FailWithStatus { get; set; }

    public IReadOnlyList<JsonElement> Requests
    {
        get
        {
            lock (_gate)
            {
                return [.. _requests];
            }
        }
    }

    /// <summary>Correct choices sent so far for the prompt text.</summary>
    public int CorrectSent(string prompt)
    {
        lock (_gate)
        {
            return _correct.GetValueOrDefault(prompt);
        }
    }

    /// <param name="prompts">Prompt text as the server receives it, mapped to its gold answer and success probability.</param>
    public static EvalFakeCompletionsServer Start(Dictionary<string, (string Gold, double P)> prompts) => new(prompts);

    protected override void Handle(HttpListenerContext context)
    {
        using HttpListenerResponse response = context.Response;
        if (context.Request.Url?.AbsolutePath != "/v1/completions")
        {
            response.StatusCode = 404;
            return;
        }

        using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
        using JsonDocument document = JsonDocument.Parse(reader.ReadToEnd());
        JsonElement body = document.RootElement.Clone();
        lock (_gate)
        {
            _requests.Add(body);
        }

        string payload;
        if (FailWithStatus is int status)
        {
            response.StatusCode = status;
            payload = "{\"error\":{\"message\":\"fake failure\"}}";
        }
        else
        {
            payload = Complete(body);
        }

        byte[] bytes = Encoding.UTF8.GetBytes(payload);
        response.ContentType = "application/json";
        response.ContentLength64 = bytes.Length;
        response.OutputStream.Write(bytes);
    }

    private string Complete(JsonElement body)
    {
        string prompt = body.GetProperty("prompt").GetString()!;
        int n = body.GetProperty("n").GetInt32();
        long seed = body.GetProperty("seed").GetInt64();
        (string gold, double p) = _prompts.TryGetValue(prompt, out var known) ? known : ("0", 0.0);
        var choices = new JsonArray();
        int correct = 0;
        for (int j = 0; j < n; j++)
        {
            double u = (StableHash.Of($"{prompt}|{seed}|{j}") >> 11) * (1.0 / (1UL << 53));
            bool right = u < p;
            correct += right ? 1 : 0;
            choices.Add(new JsonObject
            {
                ["index"] = j,
                ["text"] = right ? $" So the answer is #### {gold}" : " I think #### 999999",
                ["finish_reason"] = "stop",
            });
        }

        lock (_gate)
        {
            _correct[prompt] = _correct.GetValueOrDefault(prompt) + correct;
        }

        return new JsonObject { ["object"] = "text_completion", ["model"] = body.GetProperty("model").GetString(), ["choices"] = choices }.ToJsonString();
    }
}
