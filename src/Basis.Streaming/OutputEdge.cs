using System.Threading.Channels;

namespace Basis.Streaming;

/// <summary>The bounded channel a stage writes to, with the writes counted into the stage's metrics.</summary>
internal sealed class OutputEdge<T>
{
    private const int DepthSampleInterval = 16;

    private readonly Channel<T> _channel;
    private readonly StageMetrics _metrics;
    private readonly bool _singleWriter;
    private int _writesSinceSample;

    public OutputEdge(StageMetrics metrics, bool singleWriter)
    {
        _metrics = metrics;
        _singleWriter = singleWriter;
        _channel = Channel.CreateBounded<T>(new BoundedChannelOptions(metrics.Capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleWriter = singleWriter,
            SingleReader = false,
        });
        ChannelReader<T> reader = _channel.Reader;
        metrics.AttachQueue(() => reader.Count);
    }

    public ChannelReader<T> Reader => _channel.Reader;

    public ValueTask WriteAsync(T item, CancellationToken cancellationToken)
    {
        if (TryWrite(item))
        {
            return default;
        }

        return WriteSlowAsync(item, cancellationToken);
    }

    public bool TryWrite(T item)
    {
        if (!_channel.Writer.TryWrite(item))
        {
            return false;
        }

        RecordOut();

        // Counting takes the channel's lock, so the depth is sampled; a full queue is always recorded (slow path).
        if (++_writesSinceSample == DepthSampleInterval)
        {
            _writesSinceSample = 0;
            _metrics.RecordDepth(_channel.Reader.Count);
        }

        return true;
    }

    public ValueTask<bool> WaitToWriteAsync(CancellationToken cancellationToken) => _channel.Writer.WaitToWriteAsync(cancellationToken);

    public void Complete() => _channel.Writer.TryComplete();

    private async ValueTask WriteSlowAsync(T item, CancellationToken cancellationToken)
    {
        // The edge was full: that is the deepest it can be, and the reason this stage now waits.
        _metrics.RecordDepth(_metrics.Capacity);
        await _channel.Writer.WriteAsync(item, cancellationToken).ConfigureAwait(false);
        RecordOut();
    }

    private void RecordOut()
    {
        if (_singleWriter)
        {
            _metrics.RecordOut();
        }
        else
        {
            _metrics.RecordOutConcurrent();
        }
    }
}
