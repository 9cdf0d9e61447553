using System.Threading.Channels;

namespace Basis.Streaming.Tests;

/// <summary>A hang guard for awaits on deterministic signals; it never decides a result.</summary>
internal static class Guard
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    public static CancellationToken Token => TestContext.Current.CancellationToken;

    public static Task Within(this Task task) => task.WaitAsync(Timeout);

    public static Task<T> Within<T>(this Task<T> task) => task.WaitAsync(Timeout);
}

/// <summary>
/// A source the test feeds by hand. It is the stage's input edge itself, so <see cref="SendAsync"/> completes
/// exactly when the downstream stage has taken the element.
/// </summary>
internal sealed class SourceProbe<T> : ChannelReader<T>
{
    private readonly object _gate = new();
    private readonly Queue<(T Item, TaskCompletionSource Taken)> _items = new();
    private TaskCompletionSource<bool>? _waiter;
    private bool _completed;
    private Exception? _error;

    public Source<T> Source => Streaming.Source.FromReader(this);

    public int Taken { get; private set; }

    public Task SendAsync(T item)
    {
        var taken = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        TaskCompletionSource<bool>? waiter;
        lock (_gate)
        {
            _items.Enqueue((item, taken));
            waiter = _waiter;
            _waiter = null;
        }

        waiter?.TrySetResult(true);
        return taken.Task;
    }

    public void Complete(Exception? error = null)
    {
        TaskCompletionSource<bool>? waiter;
        lock (_gate)
        {
            _completed = true;
            _error = error;
            waiter = _waiter;
            _waiter = null;
        }

        if (error is null)
        {
            waiter?.TrySetResult(false);
        }
        else
        {
            waiter?.TrySetException(error);
        }
    }

    public override bool TryRead(out T item)
    {
        TaskCompletionSource taken;
        lock (_gate)
        {
            if (!_items.TryDequeue(out var entry))
            {
                item = default!;
                return false;
            }

            Taken++;
            (item, taken) = entry;
        }

        taken.TrySetResult();
        return true;
    }

    public override ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (_items.Count > 0)
            {
                return new ValueTask<bool>(true);
            }

            if (_completed)
            {
                return _error is null ? new ValueTask<bool>(false) : ValueTask.FromException<bool>(_error);
            }

            _waiter ??= new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            return new ValueTask<bool>(_waiter.Task.WaitAsync(cancellationToken));
        }
    }
}

/// <summary>A sink that takes only what the test requests, and hands each element to the test.</summary>
internal sealed class SinkProbe<T>
{
    private readonly SemaphoreSlim _demand = new(0);
    private readonly Channel<T> _received = Channel.CreateUnbounded<T>();

    public SinkProbe()
    {
        Sink = Streaming.Sink.FromReader<T>(ConsumeAsync).Named("probe");
    }

    public Sink<T> Sink { get; }

    public long Requested { get; private set; }

    public void Request(int count)
    {
        Requested += count;
        _demand.Release(count);
    }

    public async Task<T> ExpectNextAsync()
    {
        if (!await _received.Reader.WaitToReadAsync().AsTask().Within())
        {
            throw new InvalidOperationException("The stream completed; an element was expected.");
        }

        _received.Reader.TryRead(out T? item);
        return item!;
    }

    public async Task<T> RequestNextAsync()
    {
        Request(1);
        return await ExpectNextAsync();
    }

    /// <summary>Completes when the upstream completed and everything received has been read by the test.</summary>
    public async Task ExpectCompleteAsync()
    {
        if (await _received.Reader.WaitToReadAsync().AsTask().Within())
        {
            _received.Reader.TryRead(out T? unexpected);
            throw new InvalidOperationException($"Expected completion but got {unexpected}.");
        }
    }

    private async Task ConsumeAsync(ChannelReader<T> input, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                // Completion is noticed without demand; an element is taken only once requested.
                if (!await input.WaitToReadAsync(cancellationToken))
                {
                    return;
                }

                await _demand.WaitAsync(cancellationToken);
                input.TryRead(out T? item);
                _received.Writer.TryWrite(item!);
            }
        }
        finally
        {
            _received.Writer.TryComplete();
        }
    }
}
