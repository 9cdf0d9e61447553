using System.Globalization;
using System.Text;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence.Sql;

namespace Basis.Training.Journal;

/// <summary>
/// The journal's Akka configuration, built in code from <c>basis.journal</c>: the Akka.Persistence.Sql
/// journal, read journal and snapshot store on one database, and the serializer of the run's events.
/// </summary>
public static class JournalConfig
{
    /// <summary>The <c>akka { actor.serializers, persistence }</c> settings of a journal on <paramref name="target"/>.</summary>
    public static Config For(JournalTarget target, JournalTuning? tuning = null)
    {
        ArgumentNullException.ThrowIfNull(target);
        tuning ??= new JournalTuning();
        string connection = Quote(target.ConnectionString);
        string provider = Quote(target.ProviderName);

        // SQLite has one writer at a time: more writers only queue on its lock (akka-notes §3).
        int parallelism = target.IsPostgres ? tuning.Parallelism : 1;
        // Microsoft.Data.Sqlite begins a serializable transaction IMMEDIATE (the database's one write lock),
        // so two readers, or a reader and the writer, would queue behind each other in 150 ms sleeps;
        // read-uncommitted begins a plain deferred transaction. Without a shared cache a SQLite reader
        // still sees only committed rows (WAL: the snapshot of its first read).
        // Tags go to the tag table and to the journal's csv column, and are read from the column: with
        // linq2db 6.5.1 the tag-table read joins every row to a scan of the whole tag table (GROUP_CONCAT
        // over a CASE, no index), which makes replay quadratic (measured: 1,500 against 10,000+ events/s
        // at 15,000 rows; docs/performance.md).
        string readIsolation = target.IsPostgres ? "unspecified" : "read-uncommitted";
        int gapTries = Math.Max(1, (int)Math.Ceiling(tuning.GapTimeout / tuning.PollInterval));
        var bindings = new StringBuilder();
        foreach (Type type in JournalEventSerializer.BoundTypes)
        {
            bindings.Append(CultureInfo.InvariantCulture, $"      {Quote(type.FullName + ", " + type.Assembly.GetName().Name)} = basis-journal\n");
        }

        string hocon = string.Create(CultureInfo.InvariantCulture, $$"""
            akka {
              actor {
                serializers { basis-journal = {{Quote(typeof(JournalEventSerializer).FullName + ", " + typeof(JournalEventSerializer).Assembly.GetName().Name)}} }
                serialization-bindings {
            {{bindings}}
                }
              }
              persistence {
                journal {
                  plugin = "akka.persistence.journal.sql"
                  sql {
                    connection-string = {{connection}}
                    provider-name = {{provider}}
                    parallelism = {{parallelism}}
                    batch-size = {{tuning.BatchSize}}
                    buffer-size = {{tuning.BufferSize}}
                    tag-write-mode = Both
                    read-isolation-level = {{readIsolation}}
                    auto-initialize = on
                    warn-on-auto-init-fail = off
                    circuit-breaker { call-timeout = {{Seconds(tuning.CallTimeout)}} }
                  }
                }
                query.journal.sql {
                  connection-string = {{connection}}
                  provider-name = {{provider}}
                  write-plugin = "akka.persistence.journal.sql"
                  tag-read-mode = Csv
                  read-isolation-level = {{readIsolation}}
                  refresh-interval = {{Seconds(tuning.PollInterval)}}
                  journal-sequence-retrieval {
                    query-delay = {{Seconds(tuning.PollInterval)}}
                    max-tries = {{gapTries}}
                  }
                }
                snapshot-store {
                  plugin = "akka.persistence.snapshot-store.sql"
                  sql {
                    connection-string = {{connection}}
                    provider-name = {{provider}}
                    read-isolation-level = {{readIsolation}}
                    auto-initialize = on
                    warn-on-auto-init-fail = off
                    circuit-breaker { call-timeout = {{Seconds(tuning.CallTimeout)}} }
                  }
                }
              }
            }
            """);
        return ConfigurationFactory.ParseString(hocon).WithFallback(SqlPersistence.DefaultConfiguration);
    }

    private static string Seconds(TimeSpan span) => string.Create(CultureInfo.InvariantCulture, $"{span.TotalMilliseconds:0}ms");

    private static string Quote(string value) => "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}

/// <summary>The journal settings of <c>basis.journal</c> that tune Akka.Persistence.Sql.</summary>
public sealed record JournalTuning
{
    /// <summary>Rows per database batch (<c>batch-size</c>); a step's atomic write is one batch whatever its size.</summary>
    public int BatchSize { get; init; } = 100;

    /// <summary>Concurrent writers on PostgreSQL (<c>parallelism</c>); SQLite always has one.</summary>
    public int Parallelism { get; init; } = 4;

    /// <summary>Pending rows before writes are rejected (<c>buffer-size</c>).</summary>
    public int BufferSize { get; init; } = 10_000;

    /// <summary>How often live queries poll for new rows.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>How long live queries wait for a gap in <c>ordering</c> to fill before skipping it.</summary>
    public TimeSpan GapTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>A journal or snapshot-store call slower than this fails (the circuit breaker's call timeout).</summary>
    public TimeSpan CallTimeout { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// An actor system for one journal outside a training run (the readers: replay, mse-bench --run, the dashboard,
/// and tests). A training run's own system is the one of <c>TrainingRun</c>, with <see cref="JournalConfig.For"/>
/// merged into the configuration's akka section.
/// </summary>
public static class RunActorSystem
{
    public static ActorSystem Create(JournalTarget target, JournalTuning? tuning = null, string name = "basis") =>
        ActorSystem.Create(name, Quiet.WithFallback(JournalConfig.For(target, tuning)));

    // Failures reach the user through the journal's own exceptions, one line each; Akka's logger would print stack traces.
    private static Config Quiet => ConfigurationFactory.ParseString("""
        akka {
          loglevel = OFF
          stdout-loglevel = OFF
          log-dead-letters = off
          log-dead-letters-during-shutdown = off
          log-config-on-start = off
        }
        """);
}
