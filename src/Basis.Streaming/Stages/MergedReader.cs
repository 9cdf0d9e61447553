using System.Threading.Channels;

namespace Basis.Streaming.Stages;

/// <summary>
/// Reads several edges as one (Balance's fan-in): round robin over the edges that have elements, completed when all are.
/// </summary>
internal sealed class MergedReader<T> : ChannelReader<T>
{
    private readonly ChannelReader<T>[] _inputs;
    private readonly bool[] _completed;
    private readonly Task<bool>?[] _waits;
    private readonly object _gate = new();
    private int _next;

    public MergedReader(ChannelReader<T>[] inputs)
    {
        _inputs = inputs;
        _completed = new bool[inputs.Length];
        _waits = new Task<bool>?[inputs.Length];
        Completion = Task.WhenAll(inputs.Select(i => i.Completion));
    }

    public override Task Completion { get; }

    public override bool CanCount => _inputs.All(i => i.CanCount);

    public override int Count => _inputs.Sum(i => i.Count);

    public override bool TryRead(out T item)
    {
        int start = _next;
        for (int k = 0; k < _inputs.Length; k++)
        {
            int index = (start + k) % _inputs.Length;
            if (_inputs[index].TryRead(out item!))
            {
                _next = index + 1 == _inputs.Length ? 0 : index + 1;
                return true;
            }
        }

        item = default!;
        return false;
    }

    public override async ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            Task<bool>[] pending;
            lock (_gate)
            {
                var open = new List<Task<bool>>(_inputs.Length);
                for (int i = 0; i < _inputs.Length; i++)
                {
                    if (_completed[i])
                    {
                        continue;
                    }

                    // One outstanding wait per input, reused until it fires, so repeated waits do not pile up.
                    if (_waits[i] is null || _waits[i]!.IsCompleted)
                    {
                        ValueTask<bool> wait = _inputs[i].WaitToReadAsync(cancellationToken);
                        if (wait.IsCompletedSuccessfully)
                        {
                            if (wait.Result)
                            {
                                return true;
                            }

                            _completed[i] = true;
                            continue;
                        }

                        _waits[i] = wait.AsTask();
                    }

                    open.Add(_waits[i]!);
                }

                if (open.Count == 0)
                {
                    return false;
                }

                pending = [.. open];
            }

            // A woken wait is only a hint: its task completes after the channel signalled, possibly after the element
            // was already read. The next pass asks the inputs again, so true always means an element is there.
            Task<bool> first = await Task.WhenAny(pending).ConfigureAwait(false);

            // As in PreferredReader: readers of a Balance share these waits, and one resumed inline on the completing
            // thread would run its stage before the others woke.
            await Task.Yield();
            cancellationToken.ThrowIfCancellationRequested();
            await first.ConfigureAwait(false);
        }
    }
}
