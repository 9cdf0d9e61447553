using System.Threading.Channels;

namespace Basis.Streaming.Stages;

internal static class GroupingStages
{
    public static ChannelReader<IReadOnlyList<T>> Grouped<T>(GraphContext graph, ChannelReader<T> input, StageAttributes attributes, int size)
    {
        StageMetrics metrics = graph.AddStage(attributes, "grouped", "flow", attributes.BufferSize);
        OutputEdge<IReadOnlyList<T>> output = graph.CreateEdge<IReadOnlyList<T>>(metrics);
        graph.Schedule(metrics, async token =>
        {
            var group = new List<T>(size);
            while (await input.WaitToReadAsync(token).ConfigureAwait(false))
            {
                while (input.TryRead(out T? item))
                {
                    metrics.RecordIn();
                    group.Add(item);
                    if (group.Count == size)
                    {
                        await output.WriteAsync(group, token).ConfigureAwait(false);
                        group = new List<T>(size);
                    }
                }
            }

            if (group.Count > 0)
            {
                await output.WriteAsync(group, token).ConfigureAwait(false);
            }
        }, output.Complete);
        return output.Reader;
    }

    /// <summary>
    /// Akka's groupedWithin: a fixed-delay timer of period <paramref name="window"/> emits the group gathered so far;
    /// a group that reaches <paramref name="size"/> is emitted at once and the timer restarts; a tick with nothing
    /// gathered emits nothing; completion flushes the partial group.
    /// </summary>
    public static ChannelReader<IReadOnlyList<T>> GroupedWithin<T>(
        GraphContext graph, ChannelReader<T> input, StageAttributes attributes, int size, TimeSpan window, TimeProvider? timeProvider)
    {
        StageMetrics metrics = graph.AddStage(attributes, "groupedWithin", "flow", attributes.BufferSize);
        OutputEdge<IReadOnlyList<T>> output = graph.CreateEdge<IReadOnlyList<T>>(metrics);
        TimeProvider time = timeProvider ?? graph.Time;
        graph.Schedule(metrics, async token =>
        {
            var tick = new TickSignal();
            using ITimer timer = time.CreateTimer(static state => ((TickSignal)state!).Set(), tick, window, window);
            var group = new List<T>(size);
            Task<bool>? waitForInput = null;
            while (true)
            {
                while (input.TryRead(out T? item))
                {
                    metrics.RecordIn();
                    group.Add(item);
                    if (group.Count == size)
                    {
                        // Restart the window before emitting, so the next group gets a full window.
                        timer.Change(window, window);
                        tick.Clear();
                        await output.WriteAsync(group, token).ConfigureAwait(false);
                        group = new List<T>(size);
                    }
                }

                if (tick.TryConsume() && group.Count > 0)
                {
                    timer.Change(window, window);
                    await output.WriteAsync(group, token).ConfigureAwait(false);
                    group = new List<T>(size);
                    continue;
                }

                waitForInput ??= input.WaitToReadAsync(token).AsTask();
                if (!waitForInput.IsCompleted)
                {
                    await Task.WhenAny(waitForInput, tick.WaitAsync()).ConfigureAwait(false);
                }

                if (waitForInput.IsCompleted)
                {
                    bool more = await waitForInput.ConfigureAwait(false);
                    waitForInput = null;
                    if (!more)
                    {
                        break;
                    }
                }
            }

            if (group.Count > 0)
            {
                await output.WriteAsync(group, token).ConfigureAwait(false);
            }
        }, output.Complete);
        return output.Reader;
    }

    /// <summary>Timer ticks handed from the timer's thread to the stage loop without a lock.</summary>
    private sealed class TickSignal
    {
        private int _pending;
        private TaskCompletionSource _signal = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Set()
        {
            Volatile.Write(ref _pending, 1);
            Volatile.Read(ref _signal).TrySetResult();
        }

        public Task WaitAsync() => Volatile.Read(ref _signal).Task;

        // Renew the signal before reading the flag: a tick racing with us either is seen here or completes the new signal.
        public bool TryConsume()
        {
            Renew();
            return Interlocked.Exchange(ref _pending, 0) == 1;
        }

        public void Clear() => TryConsume();

        private void Renew()
        {
            if (_signal.Task.IsCompleted)
            {
                Volatile.Write(ref _signal, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            }
        }
    }
}
