using System.Text.Json.Serialization;
using Basis.Persistence.Serialization;
using Npgsql;

namespace Basis.Persistence.Bench;

/// <summary>A representative event: about 150 bytes of JSON, like a rollout record without its text.</summary>
public sealed record RolloutGenerated(string PromptId, int PolicyVersion, double Reward, double LogProbability, int Tokens, string Verifier);

[JsonSerializable(typeof(RolloutGenerated))]
internal sealed partial class BenchJsonContext : JsonSerializerContext;

/// <summary>A fresh journal store for one benchmark: a SQLite file in a temp folder, or a throwaway PostgreSQL database.</summary>
internal sealed class BenchStore : IAsyncDisposable
{
    private const string DevServer = "Host=127.0.0.1;Port=55432;Username=postgres;Database=postgres";

    private readonly string? _folder;
    private readonly string? _server;
    private readonly string? _database;

    private BenchStore(string provider, string connectionString, string? folder, string? server, string? database)
    {
        Provider = provider;
        ConnectionString = connectionString;
        _folder = folder;
        _server = server;
        _database = database;
    }

    public string Provider { get; }

    public string ConnectionString { get; }

    public static EventSerializerRegistry Serializers() =>
        new EventSerializerRegistry().Register("RolloutGenerated", 1, BenchJsonContext.Default.RolloutGenerated);

    public static RolloutGenerated Event(int i) => new($"gsm8k-{i:D6}", 12, i % 2, -42.125 - (i % 100), 180 + (i % 64), "exact-match");

    public static async Task<BenchStore> CreateAsync(string provider)
    {
        if (provider == "sqlite")
        {
            string folder = Path.Combine(Path.GetTempPath(), "basis-journal-bench", Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(folder);
            return new BenchStore(provider, JournalFactory.SqliteConnectionStringForRunFolder(folder), folder, null, null);
        }

        string server = Environment.GetEnvironmentVariable("BASIS_TEST_POSTGRES") is { Length: > 0 } fromEnv ? fromEnv : DevServer;
        string database = $"basis_bench_{Guid.NewGuid():N}";
        await ExecuteAsync(server, $"CREATE DATABASE {database}");
        string connectionString = new NpgsqlConnectionStringBuilder(server) { Database = database }.ConnectionString;
        return new BenchStore(provider, connectionString, null, server, database);
    }

    public Task<EventJournal> OpenAsync() => JournalFactory.CreateAsync(Provider, ConnectionString, Serializers());

    public async ValueTask DisposeAsync()
    {
        if (_folder is not null)
        {
            Directory.Delete(_folder, recursive: true);
        }

        if (_server is not null)
        {
            NpgsqlConnection.ClearAllPools();
            await ExecuteAsync(_server, $"DROP DATABASE IF EXISTS {_database} WITH (FORCE)");
        }
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
