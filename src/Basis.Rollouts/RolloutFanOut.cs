using System.Runtime.ExceptionServices;

namespace Basis.Rollouts;

/// <summary>Runs one task per request and returns the results in request order.</summary>
internal static class RolloutFanOut
{
    /// <summary>
    /// The first failure cancels the requests still running (their work would be thrown away) and is the one
    /// rethrown; the caller's cancellation wins over everything.
    /// </summary>
    public static async Task<IReadOnlyList<RolloutResult>> RunAsync(
        IReadOnlyList<RolloutRequest> requests,
        Func<RolloutRequest, CancellationToken, Task<RolloutResult>> generate,
        CancellationToken cancellationToken)
    {
        if (requests.Count == 0)
        {
            return [];
        }

        using var failFast = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var tasks = new Task<RolloutResult>[requests.Count];
        for (int i = 0; i < tasks.Length; i++)
        {
            tasks[i] = RunOneAsync(requests[i], generate, failFast);
        }

        try
        {
            return await Task.WhenAll(tasks).ConfigureAwait(false);
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            // Task.WhenAll reports whichever task comes first in order, possibly one we cancelled; report the cause.
            Task<RolloutResult>? failed = Array.Find(tasks, t => t.IsFaulted);
            if (failed is not null)
            {
                ExceptionDispatchInfo.Throw(failed.Exception!.InnerException!);
            }

            throw;
        }
    }

    private static async Task<RolloutResult> RunOneAsync(
        RolloutRequest request,
        Func<RolloutRequest, CancellationToken, Task<RolloutResult>> generate,
        CancellationTokenSource failFast)
    {
        try
        {
            return await generate(request, failFast.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            failFast.Cancel();
            throw;
        }
    }
}
