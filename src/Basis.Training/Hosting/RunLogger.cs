using Akka.Actor;
using Akka.Event;

namespace Basis.Training.Hosting;

/// <summary>
/// Akka's log bridged to the run's own output: warnings and errors of the ActorSystem (a generator restarting, the
/// stage that failed a run) become "[akka] ..." lines on <see cref="Output"/>, the console output of
/// <c>basis train</c>, beside its "[rl] ..." lines; its error stream keeps the run's own one-line verdict.
/// Configured by <c>akka.loggers</c> in hocon/reference.conf.
/// </summary>
public sealed class RunLogger : ReceiveActor
{
    private static TextWriter s_output = TextWriter.Synchronized(Console.Error);

    public RunLogger()
    {
        Receive<InitializeLogger>(_ => Sender.Tell(new LoggerInitialized()));
        Receive<LogEvent>(Write);
    }

    /// <summary>Where Akka's log lines go (standard error until <c>basis train</c> points it at its output).</summary>
    public static TextWriter Output
    {
        get => Volatile.Read(ref s_output);
        set => Volatile.Write(ref s_output, TextWriter.Synchronized(value ?? throw new ArgumentNullException(nameof(value))));
    }

    private static void Write(LogEvent e)
    {
        string cause = e is Error { Cause: { } error } ? $" ({error.GetType().Name}: {error.Message})" : string.Empty;
        Output.WriteLine($"[akka] {e.LogLevel().ToString().Replace("Level", string.Empty, StringComparison.Ordinal).ToLowerInvariant()} {e.LogSource}: {e.Message}{cause}");
    }
}
