using Microsoft.Data.Sqlite;
using Npgsql;

namespace Basis.Training.Journal;

/// <summary>The database a run's journal lives in: the run folder's SQLite file, or a PostgreSQL database.</summary>
public sealed record JournalTarget
{
    private JournalTarget(bool postgres, string connectionString)
    {
        IsPostgres = postgres;
        ConnectionString = connectionString;
    }

    public bool IsPostgres { get; }

    /// <summary>A Microsoft.Data.Sqlite or Npgsql connection string.</summary>
    public string ConnectionString { get; }

    /// <summary>The linq2db provider Akka.Persistence.Sql talks through.</summary>
    public string ProviderName => IsPostgres ? "PostgreSQL.15" : "SQLite.MS";

    /// <summary>The SQLite file's path (null for PostgreSQL).</summary>
    public string? SqlitePath => IsPostgres ? null : new SqliteConnectionStringBuilder(ConnectionString).DataSource;

    /// <summary>The run folder's own journal: <c>journal.db</c>.</summary>
    public static JournalTarget ForRunFolder(string runFolder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(runFolder);
        return Sqlite(Path.Combine(Path.GetFullPath(runFolder), "journal.db"));
    }

    public static JournalTarget Sqlite(string path) =>
        new(false, new SqliteConnectionStringBuilder { DataSource = path }.ToString());

    public static JournalTarget Postgres(string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        _ = new NpgsqlConnectionStringBuilder(connectionString); // a malformed string fails here, naming the bad key
        return new(true, connectionString);
    }

    /// <summary>From <c>basis.journal</c>: sqlite (the run folder's file; the connection string is ignored) or postgres.</summary>
    /// <exception cref="ArgumentException">An unknown provider, or postgres without a connection string.</exception>
    public static JournalTarget From(string provider, string? connectionString, string runFolder) => provider.Trim().ToLowerInvariant() switch
    {
        "sqlite" => ForRunFolder(runFolder),
        "postgres" or "postgresql" or "npgsql" => Postgres(connectionString is { Length: > 0 }
            ? connectionString
            : throw new ArgumentException("basis.journal.connection-string is required when basis.journal.provider is postgres.")),
        _ => throw new ArgumentException($"unknown journal provider '{provider}'; expected sqlite or postgres."),
    };

    /// <summary>What to name in messages: the file, or postgresql://user@host:port/database (search path) without the password.</summary>
    public string Describe()
    {
        if (!IsPostgres)
        {
            return SqlitePath!;
        }

        var builder = new NpgsqlConnectionStringBuilder(ConnectionString);
        string target = $"postgresql://{builder.Username ?? "(default user)"}@{builder.Host}:{builder.Port}/{builder.Database ?? "(default database)"}";
        return string.IsNullOrEmpty(builder.SearchPath) ? target : $"{target} (search path {builder.SearchPath})";
    }

    public override string ToString() => Describe();

    /// <summary>
    /// Closes this process's idle pooled connections to the database, once nothing in the process uses it:
    /// the last SQLite connection to close folds the write-ahead log back into the file, so the run folder
    /// is settled when the journal is disposed rather than whenever a pool is collected.
    /// </summary>
    public void ReleasePooledConnections()
    {
        if (IsPostgres)
        {
            using var connection = new NpgsqlConnection(ConnectionString);
            NpgsqlConnection.ClearPool(connection);
        }
        else
        {
            using var connection = new SqliteConnection(ConnectionString);
            SqliteConnection.ClearPool(connection);
        }
    }
}
