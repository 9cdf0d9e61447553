using System.Threading.Channels;

namespace Basis.Streaming;

/// <summary>Settings of an <see cref="Actor{TMessage}"/>.</summary>
public sealed record ActorOptions
{
    public string Name { get; init; } = "actor";

    /// <summary>Bounded mailbox: <see cref="Actor{TMessage}.TellAsync"/> waits when it is full.</summary>
    public int MailboxCapacity { get; init; } = 64;

    public SupervisionStrategy Supervision { get; init; } = SupervisionStrategy.Stop;

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}

/// <summary>Where an actor answers an ask; completing it twice is ignored.</summary>
public sealed class Reply<T>
{
    private readonly TaskCompletionSource<T> _result = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Send(T value) => _result.TrySetResult(value);

    public void Fail(Exception exception) => _result.TrySetException(exception);

    internal Task<T> Task => _result.Task;
}

/// <summary>The exception an ask gets when the actor stopped before answering it.</summary>
public sealed class ActorStoppedException(string actor, Exception? reason)
    : Exception(reason is null ? $"Actor '{actor}' has stopped." : $"Actor '{actor}' has stopped: {reason.Message}", reason);

/// <summary>
/// An actor: private state behind a single-reader bounded mailbox, one message at a time. A failing handler is
/// supervised like a stage: Resume skips the message, Restart waits the backoff and calls <see cref="OnRestart"/>
/// (reset your state there), Stop ends the actor and fails every pending ask.
/// </summary>
public abstract class Actor<TMessage> : IAsyncDisposable
{
    private readonly Channel<Envelope> _mailbox;
    private readonly ActorOptions _options;
    private readonly StageMetrics _metrics;
    private readonly StageSupervisor _supervisor;
    private readonly Lazy<Task> _loop;

    protected Actor(ActorOptions? options = null)
    {
        _options = options ?? new ActorOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.MailboxCapacity, 1);
        _mailbox = Channel.CreateBounded<Envelope>(new BoundedChannelOptions(_options.MailboxCapacity) { SingleReader = true });
        _metrics = new StageMetrics(_options.Name, "actor", _options.TimeProvider, _options.MailboxCapacity);
        _metrics.AttachQueue(() => _mailbox.Reader.Count);
        _supervisor = new StageSupervisor(_options.Name, _options.Supervision, _options.TimeProvider, _metrics);
        _loop = new Lazy<Task>(() => Task.Run(RunAsync));
    }

    public string Name => _options.Name;

    /// <summary>Completes when the actor has stopped; faults with <see cref="StageFailedException"/> if it failed.</summary>
    public Task Completion => _loop.Value;

    public StageMetricsSnapshot Metrics => _metrics.Snapshot();

    /// <summary>Queues a message without waiting; false when the mailbox is full or closed.</summary>
    public bool TryTell(TMessage message)
    {
        _ = _loop.Value;
        return _mailbox.Writer.TryWrite(new Envelope(message, null));
    }

    public async ValueTask TellAsync(TMessage message, CancellationToken cancellationToken = default)
    {
        _ = _loop.Value;
        try
        {
            await _mailbox.Writer.WriteAsync(new Envelope(message, null), cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException exception)
        {
            throw new ActorStoppedException(Name, exception.InnerException);
        }
    }

    /// <summary>Sends the message built around a fresh <see cref="Reply{T}"/> and awaits the answer.</summary>
    public async Task<TReply> AskAsync<TReply>(Func<Reply<TReply>, TMessage> createMessage, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(createMessage);
        _ = _loop.Value;
        var reply = new Reply<TReply>();
        try
        {
            await _mailbox.Writer.WriteAsync(new Envelope(createMessage(reply), reply.Fail), cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException exception)
        {
            throw new ActorStoppedException(Name, exception.InnerException);
        }

        return await reply.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops taking messages; those already queued are still handled, then <see cref="Completion"/> completes.</summary>
    public void Stop() => _mailbox.Writer.TryComplete();

    public async ValueTask DisposeAsync()
    {
        Stop();
        await _loop.Value.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        GC.SuppressFinalize(this);
    }

    protected abstract ValueTask ReceiveAsync(TMessage message, CancellationToken cancellationToken);

    /// <summary>Called on restart, after the backoff: reset the actor's state here.</summary>
    protected virtual void OnRestart(Exception reason)
    {
    }

    private async Task RunAsync()
    {
        _metrics.MarkStarted();
        // Messages are never abandoned half-way: an actor stops by draining its mailbox.
        CancellationToken token = CancellationToken.None;
        try
        {
            while (await _mailbox.Reader.WaitToReadAsync(token).ConfigureAwait(false))
            {
                while (_mailbox.Reader.TryRead(out Envelope envelope))
                {
                    _metrics.RecordIn();
                    long start = _options.TimeProvider.GetTimestamp();
                    try
                    {
                        await ReceiveAsync(envelope.Message, token).ConfigureAwait(false);
                        _metrics.RecordBusySince(start);
                        _metrics.RecordOut();
                    }
                    catch (Exception exception)
                    {
                        _metrics.RecordBusySince(start);
                        // The asker learns about the failure instead of waiting for an answer that will not come.
                        envelope.Fail?.Invoke(exception);
                        if (await _supervisor.HandleAsync(envelope.Message, exception, token).ConfigureAwait(false) == SupervisionDirective.Restart)
                        {
                            OnRestart(exception);
                        }
                    }
                }
            }

            _metrics.MarkStopped(StageStatus.Completed);
        }
        catch (Exception exception)
        {
            _metrics.MarkStopped(StageStatus.Failed);
            _mailbox.Writer.TryComplete(exception);
            while (_mailbox.Reader.TryRead(out Envelope pending))
            {
                pending.Fail?.Invoke(new ActorStoppedException(Name, exception));
            }

            throw;
        }
    }

    private readonly record struct Envelope(TMessage Message, Action<Exception>? Fail);
}
