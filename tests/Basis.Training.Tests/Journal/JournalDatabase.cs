using System.Data.Common;
using Basis.Training.Journal;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Basis.Training.Tests.Journal;

/// <summary>A throwaway database for one test: a SQLite file in a temporary folder, or a fresh schema of tests/run's PostgreSQL.</summary>
public sealed class JournalDatabase : IDisposable
{
    private readonly string? _folder;
    private readonly string? _server;
    private readonly string? _schema;

    private JournalDatabase(JournalTarget target, string? folder, string? server, string? schema)
    {
        Target = target;
        _folder = folder;
        _server = server;
        _schema = schema;
    }

    public JournalTarget Target { get; }

    public static JournalDatabase Sqlite()
    {
        string folder = Directory.CreateTempSubdirectory("basis-journal-").FullName;
        return new JournalDatabase(JournalTarget.ForRunFolder(folder), folder, null, null);
    }

    public static JournalDatabase Postgres()
    {
        string server = Environment.GetEnvironmentVariable("BASIS_TEST_POSTGRES") is { Length: > 0 } given
            ? given
            : throw new InvalidOperationException("BASIS_TEST_POSTGRES is not set; tests/run starts a PostgreSQL server and exports it (or: source tests/scripts/postgres.sh; pg_test_start).");
        string schema = $"basis_journal_{Guid.NewGuid():N}";
        Execute(server, $"CREATE SCHEMA {schema}");
        string connection = new NpgsqlConnectionStringBuilder(server) { SearchPath = schema }.ConnectionString;
        return new JournalDatabase(JournalTarget.Postgres(connection), null, server, schema);
    }

    /// <summary>Runs SQL of the test's own against the journal's tables (to corrupt a row, or plant an old schema).</summary>
    public void Execute(string sql)
    {
        using DbConnection connection = Target.IsPostgres ? new NpgsqlConnection(Target.ConnectionString) : new SqliteConnection(Target.ConnectionString);
        connection.Open();
        using DbCommand command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    public long Count(string sql)
    {
        using DbConnection connection = Target.IsPostgres ? new NpgsqlConnection(Target.ConnectionString) : new SqliteConnection(Target.ConnectionString);
        connection.Open();
        using DbCommand command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    public void Dispose()
    {
        if (_folder is not null)
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(_folder, recursive: true);
        }
        else
        {
            NpgsqlConnection.ClearAllPools();
            Execute(_server!, $"DROP SCHEMA {_schema} CASCADE");
        }
    }

    private static void Execute(string connectionString, string sql)
    {
        using var connection = new NpgsqlConnection(connectionString);
        connection.Open();
        using var command = new NpgsqlCommand(sql, connection);
        command.ExecuteNonQuery();
    }
}
