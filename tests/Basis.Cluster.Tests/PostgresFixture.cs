using Npgsql;

namespace Basis.Cluster.Tests;

/// <summary>
/// A throwaway database per test class on the server named by BASIS_TEST_POSTGRES (tests/run starts one);
/// each test takes its own schema in it. Without the variable the tests fail: CI always sets it.
/// </summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    public const string Variable = "BASIS_TEST_POSTGRES";

    private string? _server;
    private string? _database;

    public string ConnectionString { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        _server = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrWhiteSpace(_server))
        {
            throw new InvalidOperationException(
                $"{Variable} is not set, so the cluster tests cannot run. tests/run starts a throwaway server and exports it; "
                + $"for local development export {Variable}='Host=127.0.0.1;Port=55432;Username=postgres;Database=postgres'.");
        }

        _database = $"basis_cluster_{Guid.NewGuid():N}";
        await ExecuteAsync(_server, $"CREATE DATABASE {_database}");
        ConnectionString = new NpgsqlConnectionStringBuilder(_server) { Database = _database }.ConnectionString;
    }

    /// <summary>A fresh schema; the connection string selects it through its search path.</summary>
    public async Task<string> CreateSchemaAsync()
    {
        string schema = $"s_{Guid.NewGuid():N}";
        await ExecuteAsync(ConnectionString, $"CREATE SCHEMA {schema}");
        return new NpgsqlConnectionStringBuilder(ConnectionString) { SearchPath = schema }.ConnectionString;
    }

    public async ValueTask DisposeAsync()
    {
        if (_database is not null)
        {
            NpgsqlConnection.ClearAllPools();
            await ExecuteAsync(_server!, $"DROP DATABASE IF EXISTS {_database} WITH (FORCE)");
        }
    }

    public static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    public static async Task<T> ScalarAsync<T>(string connectionString, string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach ((string name, object value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        return (T)(await command.ExecuteScalarAsync())!;
    }
}
