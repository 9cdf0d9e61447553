using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Basis.Persistence.Tests;

/// <summary>
/// A throwaway database for one test class on the server named by BASIS_TEST_POSTGRES (tests/run starts
/// one). Without the variable every PostgreSQL test fails: CI always sets it, so a silent pass would hide a
/// broken setup.
/// </summary>
public sealed class PostgresDatabaseFixture : IAsyncLifetime
{
    public const string Variable = "BASIS_TEST_POSTGRES";

    private string? _serverConnectionString;
    private string? _databaseName;

    public string ConnectionString { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        _serverConnectionString = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrWhiteSpace(_serverConnectionString))
        {
            throw new InvalidOperationException(
                $"{Variable} is not set, so the PostgreSQL journal tests cannot run. tests/run starts a throwaway server and exports it; "
                + $"for local development export {Variable}='Host=127.0.0.1;Port=55432;Username=postgres;Database=postgres'.");
        }

        _databaseName = $"basis_test_{Guid.NewGuid():N}";
        await ExecuteOnServerAsync($"CREATE DATABASE {_databaseName}");
        ConnectionString = new NpgsqlConnectionStringBuilder(_serverConnectionString) { Database = _databaseName }.ConnectionString;
    }

    public async ValueTask DisposeAsync()
    {
        if (_databaseName is not null)
        {
            NpgsqlConnection.ClearAllPools();
            await ExecuteOnServerAsync($"DROP DATABASE IF EXISTS {_databaseName} WITH (FORCE)");
        }
    }

    private async Task ExecuteOnServerAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(_serverConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}

/// <summary>The journal contract on PostgreSQL: each test gets its own schema in the class's throwaway database.</summary>
public sealed class PostgresJournalContractTests(PostgresDatabaseFixture database)
    : JournalContractTests, IClassFixture<PostgresDatabaseFixture>
{
    private const string Secret = "hunter2-not-a-real-password";

    private string? _schema;

    protected override string Provider => "postgresql";

    protected override string UnreachableConnectionString =>
        $"Host=127.0.0.1;Port={ClosedPort()};Username=postgres;Password={Secret};Database=basis;Timeout=5";

    protected override string? UnreachableSecret => Secret;

    protected override async Task<string> CreateFreshStoreAsync()
    {
        _schema = $"journal_{Guid.NewGuid():N}";
        await ExecuteAsync(database.ConnectionString, $"CREATE SCHEMA {_schema}");
        return new NpgsqlConnectionStringBuilder(database.ConnectionString) { SearchPath = _schema }.ConnectionString;
    }

    protected override Task DropStoreAsync(string connectionString) =>
        ExecuteAsync(database.ConnectionString, $"DROP SCHEMA IF EXISTS {_schema} CASCADE");

    protected override async Task InsertRawEventAsync(
        string connectionString, long ordering, string persistenceId, long sequenceNumber, DateTimeOffset created, string manifest, byte[] payload, string? tag)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            """
            INSERT INTO journal (ordering, persistence_id, sequence_number, created, manifest, payload, writer_uuid)
            VALUES (@ordering, @pid, @seq, @created, @manifest, @payload, @writer);
            INSERT INTO event_tag (tag, ordering) SELECT @tag, @ordering WHERE @tag::text IS NOT NULL;
            SELECT setval(pg_get_serial_sequence('journal', 'ordering'), (SELECT MAX(ordering) FROM journal));
            """,
            connection);
        command.Parameters.AddWithValue("ordering", ordering);
        command.Parameters.AddWithValue("pid", persistenceId);
        command.Parameters.AddWithValue("seq", sequenceNumber);
        command.Parameters.AddWithValue("created", created.UtcDateTime);
        command.Parameters.AddWithValue("manifest", manifest);
        command.Parameters.AddWithValue("payload", payload);
        command.Parameters.AddWithValue("writer", Guid.Empty);
        command.Parameters.AddWithValue("tag", (object?)tag ?? DBNull.Value);
        await command.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task A_database_lost_mid_run_fails_the_next_write_loudly_and_keeps_earlier_commits()
    {
        var direct = new NpgsqlConnectionStringBuilder(Store);
        await using var relay = new TcpForwarder(direct.Host!, direct.Port);
        string viaRelay = new NpgsqlConnectionStringBuilder(Store) { Host = "127.0.0.1", Port = relay.Port, Timeout = 5 }.ConnectionString;
        await using EventJournal journal = await JournalFactory.CreateAsync(Provider, viaRelay, TestRegistries.Create(), Options());
        for (int s = 1; s <= 3; s++)
        {
            await journal.AppendAsync(new EventWrite("learner", s, new PolicyUpdated(s, "c"), ["policy"]));
        }

        await relay.DisposeAsync();
        JournalUnavailableException error = await Assert.ThrowsAsync<JournalUnavailableException>(
            () => journal.AppendAsync(new EventWrite("learner", 4, new PolicyUpdated(4, "lost"))));

        Assert.Contains($"127.0.0.1:{relay.Port}/{direct.Database}", error.Message, StringComparison.Ordinal);
        await using EventJournal survivor = await JournalFactory.CreateAsync(Provider, Store, TestRegistries.Create(), Options());
        var kept = new List<long>();
        await foreach (EventEnvelope envelope in survivor.CurrentEventsByTag("policy"))
        {
            kept.Add(envelope.SequenceNumber);
        }

        Assert.Equal([1L, 2L, 3L], kept);
        Assert.Equal(3, await survivor.HighestSequenceNumberAsync("learner"));
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
