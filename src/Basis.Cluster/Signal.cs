namespace Basis.Cluster;

/// <summary>
/// A wake-up that every waiter sees: <see cref="Pulse"/> completes the current generation's task. A
/// waiter takes <see cref="Next"/> before it looks for work, so a pulse between looking and waiting
/// is never lost.
/// </summary>
internal sealed class Signal
{
    private TaskCompletionSource _current = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Next => Volatile.Read(ref _current).Task;

    public void Pulse()
    {
        var fresh = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Interlocked.Exchange(ref _current, fresh).TrySetResult();
    }

    /// <summary>Waits for <paramref name="next"/> or <paramref name="timeout"/>, whichever comes first.</summary>
    public static async Task WaitAsync(Task next, TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        using var delay = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Task timer = Task.Delay(timeout, time, delay.Token);
        await Task.WhenAny(next, timer).ConfigureAwait(false);
        delay.Cancel();
        cancellationToken.ThrowIfCancellationRequested();
    }
}
