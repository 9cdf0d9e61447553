using System.Threading.Channels;

namespace Basis.Streaming.Stages;

/// <summary>
/// Reads a source's edge, but takes from a preferred reader first whenever it has elements (work to
/// redo goes ahead of new work). Completes when the source's edge does; the preferred reader is only
/// an overtaking lane, never a reason to stay open.
/// </summary>
internal sealed class PreferredReader<T> : ChannelReader<T>
{
    private readonly ChannelReader<T> _preferred;
    private readonly ChannelReader<T> _main;
    private readonly object _gate = new();
    private Task<bool>? _preferredWait;
    private Task<bool>? _mainWait;

    public PreferredReader(ChannelReader<T> preferred, ChannelReader<T> main)
    {
        _preferred = preferred;
        _main = main;
    }

    public override Task Completion => _main.Completion;

    public override bool CanCount => _preferred.CanCount && _main.CanCount;

    public override int Count => _preferred.Count + _main.Count;

    public override bool TryRead(out T item) => _preferred.TryRead(out item!) || _main.TryRead(out item!);

    public override async ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            Task<bool> preferred;
            Task<bool> main;
            lock (_gate)
            {
                // One outstanding wait per input, shared by every reader and reused until it fires, so waits do not pile up.
                if (_preferredWait is null || _preferredWait.IsCompleted)
                {
                    ValueTask<bool> wait = _preferred.WaitToReadAsync(cancellationToken);
                    if (wait.IsCompletedSuccessfully && wait.Result)
                    {
                        return true;
                    }

                    _preferredWait = wait.AsTask();
                }

                if (_mainWait is null || _mainWait.IsCompleted)
                {
                    ValueTask<bool> wait = _main.WaitToReadAsync(cancellationToken);
                    if (wait.IsCompletedSuccessfully)
                    {
                        return wait.Result;
                    }

                    _mainWait = wait.AsTask();
                }

                preferred = _preferredWait;
                main = _mainWait;
            }

            // A woken wait is only a hint (another reader may have taken the element): the next pass asks again.
            await Task.WhenAny(preferred, main).ConfigureAwait(false);

            // Every reader sharing the wait is resumed, one after another, by the thread that completed it. A reader
            // resumed inline would run its stage there (a generator's whole sampling, then its next element) before
            // the next reader even woke, so one worker of a Balance would take every element. Hop off that thread.
            await Task.Yield();
            cancellationToken.ThrowIfCancellationRequested();
        }
    }
}
