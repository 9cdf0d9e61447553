using System.Threading.Channels;

namespace Basis.Streaming.Stages;

internal static class BalanceStage
{
    public static ChannelReader<TOut> Build<TIn, TOut>(
        GraphContext graph, ChannelReader<TIn> input, StageAttributes attributes, int workerCount, Func<int, Flow<TIn, TOut>> worker, BalanceOptions options)
    {
        string name = attributes.Name ?? "balance";
        var workerOutputs = new ChannelReader<TOut>[workerCount];
        if (options.Mode == BalanceMode.SharedQueue)
        {
            // Workers compete for the upstream edge itself: an idle worker takes the next element.
            for (int i = 0; i < workerCount; i++)
            {
                using (graph.Scope($"[{i}]"))
                {
                    workerOutputs[i] = worker(i).Materialize(graph, input);
                }
            }
        }
        else
        {
            var queues = new OutputEdge<TIn>[workerCount];
            var queueMetrics = new StageMetrics[workerCount];
            StageMetrics dispatcher = graph.AddStage(attributes with { Name = name }, name, "balance", 0);
            for (int i = 0; i < workerCount; i++)
            {
                queueMetrics[i] = graph.AddStage(new StageAttributes { Name = $"{name}.queue[{i}]" }, name, "queue", options.WorkerBufferSize);
                queues[i] = graph.CreateEdge<TIn>(queueMetrics[i]);
                using (graph.Scope($"[{i}]"))
                {
                    workerOutputs[i] = worker(i).Materialize(graph, queues[i].Reader);
                }
            }

            graph.Schedule(
                dispatcher,
                token => DispatchAsync(input, queues, queueMetrics, dispatcher, token),
                () =>
                {
                    for (int i = 0; i < workerCount; i++)
                    {
                        queues[i].Complete();
                        queueMetrics[i].MarkStopped(dispatcher.Status);
                    }
                });
        }

        // The merge is not a stage: the downstream reads the workers' output edges directly, saving a hop per element.
        return new MergedReader<TOut>(workerOutputs);
    }

    private static async Task DispatchAsync<TIn>(
        ChannelReader<TIn> input, OutputEdge<TIn>[] queues, StageMetrics[] queueMetrics, StageMetrics metrics, CancellationToken token)
    {
        foreach (StageMetrics queue in queueMetrics)
        {
            queue.MarkStarted();
        }

        // One outstanding wait per queue, reused until it fires, so a stuck worker cannot pile up waiters.
        var roomWaits = new Task<bool>?[queues.Length];
        int next = 0;
        while (await input.WaitToReadAsync(token).ConfigureAwait(false))
        {
            while (input.TryRead(out TIn? item))
            {
                metrics.RecordIn();
                while (true)
                {
                    // Keep feeding the current worker while its queue has room (fewer wake-ups, as Akka's Balance
                    // prefers the first output with demand), then move on; wait for any room when all are full.
                    int chosen = -1;
                    for (int k = 0; k < queues.Length && chosen < 0; k++)
                    {
                        int candidate = (next + k) % queues.Length;
                        if (queues[candidate].TryWrite(item))
                        {
                            chosen = candidate;
                        }
                    }

                    if (chosen >= 0)
                    {
                        metrics.RecordOut();
                        next = chosen;
                        break;
                    }

                    foreach (StageMetrics queue in queueMetrics)
                    {
                        queue.RecordDepth(queue.Capacity);
                    }

                    for (int i = 0; i < queues.Length; i++)
                    {
                        if (roomWaits[i] is null || roomWaits[i]!.IsCompleted)
                        {
                            roomWaits[i] = queues[i].WaitToWriteAsync(token).AsTask();
                        }
                    }

                    await Task.WhenAny(roomWaits!).ConfigureAwait(false);
                    token.ThrowIfCancellationRequested();
                }
            }
        }
    }
}
