using System.Runtime.InteropServices;
using System.Threading.Channels;

namespace Basis.Streaming;

/// <summary>OS scheduling priority of a <see cref="PinnedDispatcher"/>'s thread.</summary>
public enum DispatcherPriority
{
    Normal,

    /// <summary>Runs only on cycles that threads of normal priority leave idle (Linux: nice 19).</summary>
    Low,
}

/// <summary>
/// A dedicated thread that runs the work handed to it one item at a time, as Akka's pinned dispatcher gives an actor
/// a thread of its own. With <see cref="DispatcherPriority.Low"/> its thread yields the cores to everything else:
/// where generators and the learner share the cores in async mode, low-priority generators fill the cycles the
/// learner leaves idle instead of taking cycles from it.
/// </summary>
public sealed partial class PinnedDispatcher : IDisposable
{
    private readonly Channel<WorkItem> _queue = Channel.CreateUnbounded<WorkItem>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Thread _thread;

    public PinnedDispatcher(string name, DispatcherPriority priority)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        Name = name;
        Priority = priority;
        _thread = new Thread(Run) { Name = name, IsBackground = true };
        _thread.Start();
    }

    public string Name { get; }

    public DispatcherPriority Priority { get; }

    /// <summary>Whether the thread's OS priority was lowered (false when the platform refused it, or for Normal).</summary>
    public bool PriorityApplied { get; private set; }

    /// <summary>The OS id of the dispatcher's thread on Linux (as <see cref="System.Diagnostics.ProcessThread.Id"/> reports it), once it has started; null elsewhere.</summary>
    public int? OsThreadId { get; private set; }

    /// <summary>Runs <paramref name="work"/> on the dispatcher's thread, after the items queued before it (faults with ObjectDisposedException once disposed).</summary>
    public Task<T> RunAsync<T>(Func<T> work, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(work);
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        var item = new WorkItem(
            () =>
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    done.TrySetCanceled(cancellationToken);
                    return;
                }

                try
                {
                    done.TrySetResult(work());
                }
                catch (OperationCanceledException e) when (e.CancellationToken == cancellationToken)
                {
                    done.TrySetCanceled(cancellationToken);
                }
                catch (Exception e)
                {
                    done.TrySetException(e);
                }
            });
        return _queue.Writer.TryWrite(item) ? done.Task : Task.FromException<T>(new ObjectDisposedException(Name));
    }

    /// <summary>Stops taking work; items already queued still run, and the thread ends after them.</summary>
    public void Dispose() => _queue.Writer.TryComplete();

    private void Run()
    {
        OsThreadId = OperatingSystem.IsLinux() ? GetThreadId() : null;
        PriorityApplied = Priority == DispatcherPriority.Low && TryLowerPriority();
        ChannelReader<WorkItem> reader = _queue.Reader;
        while (reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
        {
            while (reader.TryRead(out WorkItem item))
            {
                item.Run();
            }
        }
    }

    private static bool TryLowerPriority()
    {
        if (OperatingSystem.IsLinux())
        {
            // Linux keeps a nice value per thread; PRIO_PROCESS with the thread id sets this thread's alone.
            return SetPriority(0, GetThreadId(), 19) == 0;
        }

        Thread.CurrentThread.Priority = ThreadPriority.Lowest;
        return true;
    }

    [LibraryImport("libc", EntryPoint = "setpriority")]
    private static partial int SetPriority(int which, int who, int priority);

    [LibraryImport("libc", EntryPoint = "gettid")]
    private static partial int GetThreadId();

    private readonly record struct WorkItem(Action Run);
}
