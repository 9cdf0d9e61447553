using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Basis.Training.Journal;

/// <summary>
/// Before Akka.Persistence.Sql opens a database: refuses one that holds a journal of the earlier
/// home-made format (its tables would otherwise be half-shadowed by Akka's), names an unreachable
/// PostgreSQL before any actor starts, and puts a SQLite file the run writes in WAL mode.
/// </summary>
internal static class JournalPreflight
{
    // The earlier format kept its own migration table and a journal whose event column was "payload".
    private const string SqliteProbe = """
        SELECT EXISTS(SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version')
            OR EXISTS(SELECT 1 FROM pragma_table_info('journal') WHERE name = 'payload')
        """;

    private const string PostgresProbe = """
        SELECT EXISTS(SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'schema_version')
            OR EXISTS(SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'journal' AND column_name = 'payload')
        """;

    /// <exception cref="LegacyJournalException">The database holds the earlier format.</exception>
    /// <exception cref="JournalUnavailableException">PostgreSQL cannot be reached.</exception>
    public static async Task CheckAsync(JournalTarget target, bool forWriting, CancellationToken cancellationToken)
    {
        if (!target.IsPostgres && forWriting)
        {
            await UseWriteAheadLogAsync(target, cancellationToken).ConfigureAwait(false);
        }

        if (!target.IsPostgres && !File.Exists(target.SqlitePath))
        {
            return;
        }

        try
        {
            await using DbConnection connection = target.IsPostgres
                ? new NpgsqlConnection(target.ConnectionString)
                : new SqliteConnection(new SqliteConnectionStringBuilder(target.ConnectionString) { Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using DbCommand probe = connection.CreateCommand();
            probe.CommandText = target.IsPostgres ? PostgresProbe : SqliteProbe;
            object? legacy = await probe.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
            if (Convert.ToBoolean(legacy, System.Globalization.CultureInfo.InvariantCulture))
            {
                throw new LegacyJournalException(target);
            }
        }
        catch (Exception e) when (e is NpgsqlException or SqliteException or TimeoutException)
        {
            throw new JournalUnavailableException(target, e);
        }
    }

    // In WAL mode readers (replay, the dashboard's live feed) never block the run's writes, nor they
    // the readers; a commit is still durable (synchronous = FULL, Microsoft.Data.Sqlite's default).
    // The mode is stored in the file, so it is set once, before Akka.Persistence.Sql creates its tables.
    private static async Task UseWriteAheadLogAsync(JournalTarget target, CancellationToken cancellationToken)
    {
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(target.SqlitePath)!);
            await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder(target.ConnectionString) { Pooling = false }.ToString());
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using SqliteCommand wal = connection.CreateCommand();
            wal.CommandText = "PRAGMA journal_mode = WAL";
            await wal.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (SqliteException e)
        {
            throw new JournalUnavailableException(target, e);
        }
    }
}
