using Npgsql;

namespace Basis.Cluster;

/// <summary>
/// One dedicated connection that LISTENs on a channel and pulses a <see cref="Signal"/> for every
/// NOTIFY. Waiters also poll on a timeout, so a lost connection only slows wake-ups until it is back.
/// </summary>
internal sealed class NotificationListener : IAsyncDisposable
{
    private readonly ClusterDatabase _database;
    private readonly string _channel;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly TaskCompletionSource _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public NotificationListener(ClusterDatabase database, string channel)
    {
        _database = database;
        _channel = channel;
        _loop = Task.Run(() => RunAsync(_stop.Token));
    }

    public Signal Signal { get; } = new();

    /// <summary>Completes once the first LISTEN is in place (or the listener gave up trying).</summary>
    public Task Listening => _listening.Task;

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await using NpgsqlConnection connection = await _database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
                connection.Notification += (_, _) => Signal.Pulse();
                // LISTEN takes no parameters; the channel is one of ClusterSchema's constants, never input.
                await using (var listen = new NpgsqlCommand($"LISTEN {_channel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                _listening.TrySetResult();

                // Anything that happened while not listening is picked up by the waiters' next look.
                Signal.Pulse();
                while (true)
                {
                    await connection.WaitAsync(cancellationToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (ClusterDatabase.IsUnavailable(e) || e is InvalidOperationException)
            {
                _listening.TrySetResult();
                Signal.Pulse();
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }
}
