using Microsoft.Data.Sqlite;

namespace Basis.Persistence.Tests;

/// <summary>The journal contract on SQLite: each test gets its own journal file in a temporary run folder.</summary>
public sealed class SqliteJournalContractTests : JournalContractTests
{
    private readonly string _runFolder = Path.Combine(Path.GetTempPath(), "basis-journal-tests", Guid.NewGuid().ToString("N"));

    protected override string Provider => "sqlite";

    protected override string UnreachableConnectionString =>
        JournalFactory.SqliteConnectionStringForRunFolder(Path.Combine(_runFolder, "no-such-folder", "deeper"));

    protected override string? UnreachableSecret => null;

    protected override Task<string> CreateFreshStoreAsync()
    {
        Directory.CreateDirectory(_runFolder);
        return Task.FromResult(JournalFactory.SqliteConnectionStringForRunFolder(_runFolder));
    }

    protected override Task DropStoreAsync(string connectionString)
    {
        Directory.Delete(_runFolder, recursive: true);
        return Task.CompletedTask;
    }

    protected override async Task InsertRawEventAsync(
        string connectionString, long ordering, string persistenceId, long sequenceNumber, DateTimeOffset created, string manifest, byte[] payload, string? tag)
    {
        await using var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync();
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO journal (ordering, persistence_id, sequence_number, created, manifest, payload, writer_uuid)
            VALUES ($ordering, $pid, $seq, $created, $manifest, $payload, $writer);
            INSERT INTO event_tag (tag, ordering) SELECT $tag, $ordering WHERE $tag IS NOT NULL;
            """;
        command.Parameters.AddWithValue("$ordering", ordering);
        command.Parameters.AddWithValue("$pid", persistenceId);
        command.Parameters.AddWithValue("$seq", sequenceNumber);
        command.Parameters.AddWithValue("$created", (created - DateTimeOffset.UnixEpoch).Ticks / TimeSpan.TicksPerMicrosecond);
        command.Parameters.AddWithValue("$manifest", manifest);
        command.Parameters.AddWithValue("$payload", payload);
        command.Parameters.AddWithValue("$writer", Guid.Empty.ToString());
        command.Parameters.AddWithValue("$tag", (object?)tag ?? DBNull.Value);
        await command.ExecuteNonQueryAsync();
    }
}
