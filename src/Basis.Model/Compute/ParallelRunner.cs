namespace Basis.Model.Compute;

/// <summary>Runs independent work items on at most <c>threads</c> threads; one thread means the caller's thread only.</summary>
internal static class ParallelRunner
{
    public static void For(int threads, int count, Action<int> body)
    {
        if (threads <= 1 || count <= 1)
        {
            for (var i = 0; i < count; i++)
            {
                body(i);
            }

            return;
        }

        // The thread pool, whatever scheduler the caller runs under: Parallel.For defaults to TaskScheduler.Current,
        // and under an actor's scheduler (Akka runs ReceiveAsync handlers on one that executes serially) the helpers
        // would queue behind the caller and the product would run on one thread.
        Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = threads, TaskScheduler = TaskScheduler.Default }, body);
    }

    /// <summary>Splits <paramref name="count"/> rows into contiguous chunks, one or a few per thread.</summary>
    public static void ForChunks(int threads, int count, Action<int, int> body)
    {
        if (threads <= 1 || count < 64)
        {
            body(0, count);
            return;
        }

        var chunks = Math.Min(count, threads * 4);
        For(threads, chunks, c =>
        {
            var start = (int)((long)count * c / chunks);
            var end = (int)((long)count * (c + 1) / chunks);
            body(start, end);
        });
    }
}
