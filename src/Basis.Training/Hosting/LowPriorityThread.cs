using System.Runtime.InteropServices;

namespace Basis.Training.Hosting;

/// <summary>
/// Lowers the OS priority of the calling thread once (Linux: nice 19 for that thread alone), so a generator on its
/// own Akka PinnedDispatcher thread samples on the cycles the learner leaves idle instead of taking them from it.
/// Thread-pool threads are never lowered: they would carry the priority to unrelated work.
/// </summary>
internal static partial class LowPriorityThread
{
    [ThreadStatic]
    private static bool t_lowered;

    /// <summary>Whether the calling thread now runs at the lowest priority.</summary>
    public static bool ApplyToCurrentThread()
    {
        if (t_lowered)
        {
            return true;
        }

        if (Thread.CurrentThread.IsThreadPoolThread)
        {
            return false;
        }

        if (OperatingSystem.IsLinux())
        {
            // Linux keeps a nice value per thread; PRIO_PROCESS with the thread id sets this thread's alone.
            t_lowered = SetPriority(0, GetThreadId(), 19) == 0;
        }
        else
        {
            Thread.CurrentThread.Priority = ThreadPriority.Lowest;
            t_lowered = true;
        }

        return t_lowered;
    }

    [LibraryImport("libc", EntryPoint = "setpriority")]
    private static partial int SetPriority(int which, int who, int priority);

    [LibraryImport("libc", EntryPoint = "gettid")]
    private static partial int GetThreadId();
}
