using System.Net;
using System.Net.Sockets;

namespace Basis.Cli.Tests;

/// <summary>
/// An <see cref="HttpListener"/> on 127.0.0.1 at a free port that hands every request to <see cref="Handle"/>
/// on the thread pool; the fake servers of the CLI tests derive from it.
/// </summary>
internal abstract class LoopbackHttpServer : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private Task? _loop;

    protected LoopbackHttpServer()
    {
        // HttpListener cannot bind port 0; borrow a free port from the OS.
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        Endpoint = $"http://127.0.0.1:{port}";
        _listener.Prefixes.Add(Endpoint + "/");
    }

    public string Endpoint { get; }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Close();
        if (_loop is not null)
        {
            try
            {
                await _loop;
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
            {
                // Stopping the listener ends the pending GetContextAsync.
            }
        }
    }

    /// <summary>Starts listening; derived constructors call it once their own state is ready.</summary>
    protected void Listen()
    {
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>Answers one request (and closes its response).</summary>
    protected abstract void Handle(HttpListenerContext context);

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            _ = Task.Run(() => Handle(context));
        }
    }
}
