using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Basis.Dashboard.Tests;

/// <summary>
/// Headless Chromium driven over the Chrome DevTools protocol: launched with --remote-debugging-port=0, its port
/// read from DevToolsActivePort, one page target spoken to as JSON over a WebSocket.
/// </summary>
internal sealed class Chromium : IAsyncDisposable
{
    private static readonly string[] s_candidates = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome", "/usr/bin/google-chrome-stable"];

    private readonly Process _process;
    private readonly string _profile;
    private readonly ClientWebSocket _socket;
    private readonly Dictionary<int, TaskCompletionSource<JsonNode>> _pending = [];
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _receiver;
    private int _nextId;

    private Chromium(Process process, string profile, ClientWebSocket socket)
    {
        _process = process;
        _profile = profile;
        _socket = socket;
        _receiver = Task.Run(ReceiveAsync);
    }

    /// <summary>$BASIS_CHROMIUM, else the usual Debian and Google paths; null when there is none.</summary>
    public static string? Find() =>
        Environment.GetEnvironmentVariable("BASIS_CHROMIUM") is { Length: > 0 } configured && File.Exists(configured)
            ? configured
            : s_candidates.FirstOrDefault(File.Exists);

    public static async Task<Chromium> LaunchAsync(string executable, int width, int height, CancellationToken cancellationToken)
    {
        string profile = Directory.CreateTempSubdirectory("basis-dashboard-chromium").FullName;
        var start = new ProcessStartInfo(executable)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        foreach (string argument in new[]
        {
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
            "--disable-extensions", "--hide-scrollbars", "--mute-audio", "--remote-debugging-port=0", $"--user-data-dir={profile}",
            $"--window-size={width},{height}", "about:blank",
        })
        {
            start.ArgumentList.Add(argument);
        }

        Process process = Process.Start(start) ?? throw new InvalidOperationException($"{executable} did not start.");
        var output = new StringBuilder();
        process.ErrorDataReceived += (_, e) =>
        {
            lock (output)
            {
                output.AppendLine(e.Data);
            }
        };
        process.OutputDataReceived += (_, e) => { };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        try
        {
            // Chromium writes its port when it listens; wait for the file (bounded by the caller's token).
            string activePort = Path.Combine(profile, "DevToolsActivePort");
            string[] lines = [];
            while (lines.Length < 2)
            {
                if (process.HasExited)
                {
                    lock (output)
                    {
                        throw new InvalidOperationException($"{executable} exited with {process.ExitCode}: {output}");
                    }
                }

                await Task.Delay(25, cancellationToken);
                lines = File.Exists(activePort) ? File.ReadAllLines(activePort) : [];
            }

            using var http = new HttpClient();
            string targets = await http.GetStringAsync(new Uri($"http://127.0.0.1:{lines[0]}/json/list"), cancellationToken);
            string page = JsonNode.Parse(targets)!.AsArray().First(t => (string?)t!["type"] == "page")!["webSocketDebuggerUrl"]!.GetValue<string>();
            var socket = new ClientWebSocket();
            socket.Options.KeepAliveInterval = TimeSpan.Zero;
            await socket.ConnectAsync(new Uri(page), cancellationToken);
            var chromium = new Chromium(process, profile, socket);
            await chromium.SendAsync("Page.enable", null, cancellationToken);
            await chromium.SendAsync("Runtime.enable", null, cancellationToken);
            await chromium.SendAsync("Emulation.setDeviceMetricsOverride", new JsonObject { ["width"] = width, ["height"] = height, ["deviceScaleFactor"] = 1, ["mobile"] = false }, cancellationToken);
            return chromium;
        }
        catch
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            process.Dispose();
            TryDelete(profile);
            throw;
        }
    }

    public Task<JsonNode> SendAsync(string method, JsonObject? parameters, CancellationToken cancellationToken)
    {
        var completion = new TaskCompletionSource<JsonNode>(TaskCreationOptions.RunContinuationsAsynchronously);
        int id;
        lock (_gate)
        {
            id = ++_nextId;
            _pending[id] = completion;
        }

        var message = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters ?? new JsonObject() };
        return SendAndWaitAsync(message, completion, cancellationToken);
    }

    public Task NavigateAsync(Uri url, CancellationToken cancellationToken) =>
        SendAsync("Page.navigate", new JsonObject { ["url"] = url.ToString() }, cancellationToken);

    public Task EmulateColorSchemeAsync(string scheme, CancellationToken cancellationToken) =>
        SendAsync("Emulation.setEmulatedMedia", new JsonObject { ["features"] = new JsonArray(new JsonObject { ["name"] = "prefers-color-scheme", ["value"] = scheme }) }, cancellationToken);

    /// <summary>Evaluates an expression in the page (awaiting it if it is a promise) and returns its value as JSON.</summary>
    public async Task<JsonNode?> EvaluateAsync(string expression, CancellationToken cancellationToken)
    {
        JsonNode result = await SendAsync("Runtime.evaluate", new JsonObject { ["expression"] = expression, ["awaitPromise"] = true, ["returnByValue"] = true }, cancellationToken);
        if (result["exceptionDetails"] is JsonNode error)
        {
            throw new InvalidOperationException($"page script failed: {error.ToJsonString()}");
        }

        return result["result"]?["value"];
    }

    /// <summary>Resolves when <paramref name="condition"/> (a JS expression) is true, re-checked on every DOM change.</summary>
    public Task<JsonNode?> WaitUntilAsync(string condition, CancellationToken cancellationToken) => EvaluateAsync(
        $$"""
        new Promise((resolve) => {
          const ok = () => { try { return ({{condition}}); } catch { return false; } };
          if (ok()) { resolve(true); return; }
          const observer = new MutationObserver(() => { if (ok()) { observer.disconnect(); resolve(true); } });
          observer.observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
        })
        """,
        cancellationToken);

    /// <summary>Makes the viewport as tall as the page, so a screenshot holds all of it and nothing below.</summary>
    public async Task FitHeightAsync(int width, CancellationToken cancellationToken)
    {
        int height = (int)(await EvaluateAsync("Math.ceil(document.body.getBoundingClientRect().height)", cancellationToken))!;
        await SendAsync("Emulation.setDeviceMetricsOverride", new JsonObject { ["width"] = width, ["height"] = height, ["deviceScaleFactor"] = 1, ["mobile"] = false }, cancellationToken);
    }

    public async Task<byte[]> ScreenshotAsync(CancellationToken cancellationToken)
    {
        JsonNode result = await SendAsync("Page.captureScreenshot", new JsonObject { ["format"] = "png" }, cancellationToken);
        return Convert.FromBase64String(result["data"]!.GetValue<string>());
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync(CancellationToken.None);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        _socket.Abort();
        await _receiver;
        _socket.Dispose();
        _process.Dispose();
        _stop.Dispose();
        TryDelete(_profile);
    }

    private static void TryDelete(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (IOException)
        {
            // Chromium's crash handler may still hold a file for a moment; the temp folder is reclaimed later.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private async Task<JsonNode> SendAndWaitAsync(JsonObject message, TaskCompletionSource<JsonNode> completion, CancellationToken cancellationToken)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(message.ToJsonString());
        await _socket.SendAsync(bytes, WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
        JsonNode response = await completion.Task.WaitAsync(cancellationToken);
        if (response["error"] is JsonNode error)
        {
            throw new InvalidOperationException($"{message["method"]} failed: {error.ToJsonString()}");
        }

        return response["result"] ?? new JsonObject();
    }

    private async Task ReceiveAsync()
    {
        var buffer = new byte[1 << 16];
        using var message = new MemoryStream();
        try
        {
            while (_socket.State == WebSocketState.Open)
            {
                WebSocketReceiveResult received = await _socket.ReceiveAsync(buffer, _stop.Token);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }

                message.Write(buffer, 0, received.Count);
                if (!received.EndOfMessage)
                {
                    continue;
                }

                JsonNode? node = JsonNode.Parse(message.GetBuffer().AsSpan(0, (int)message.Length));
                message.SetLength(0);
                // Responses carry their command's id; events (no id) are not needed by these tests.
                if (node?["id"] is JsonNode idNode)
                {
                    TaskCompletionSource<JsonNode>? waiting;
                    lock (_gate)
                    {
                        _pending.Remove(idNode.GetValue<int>(), out waiting);
                    }

                    waiting?.TrySetResult(node);
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or ObjectDisposedException)
        {
            // The browser is closing.
        }

        lock (_gate)
        {
            foreach (TaskCompletionSource<JsonNode> waiting in _pending.Values)
            {
                waiting.TrySetException(new InvalidOperationException("the browser connection closed."));
            }

            _pending.Clear();
        }
    }
}
