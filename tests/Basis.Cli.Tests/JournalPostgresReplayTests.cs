using Npgsql;
using Xunit;

namespace Basis.Cli.Tests;

/// <summary>A run journaled in PostgreSQL: <c>basis replay RUN</c> finds the journal through the folder's config.json and verifies it.</summary>
public sealed class JournalPostgresReplayTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("basis-pg-replay-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task ReplayVerifiesAPostgresRunNamedByItsFolder()
    {
        string server = Environment.GetEnvironmentVariable("BASIS_TEST_POSTGRES") is { Length: > 0 } given
            ? given
            : throw new InvalidOperationException("BASIS_TEST_POSTGRES is not set; tests/run starts a PostgreSQL server and exports it.");
        string schema = $"basis_replay_{Guid.NewGuid():N}";
        await ExecuteAsync(server, $"CREATE SCHEMA {schema}");
        try
        {
            string connection = new NpgsqlConnectionStringBuilder(server) { SearchPath = schema }.ConnectionString;
            string config = Path.Combine(_directory, "pg.conf");
            File.WriteAllText(config, $"basis.journal {{ provider = postgres, connection-string = \"{connection}\" }}\n");
            string run = Path.Combine(_directory, "run");
            (int trained, string trainOutput, string trainError) = Cli.Run("train", "--config", Cli.Profile("ci.conf"), "--config", config, "--run-dir", run);
            Assert.True(trained == 0, trainError + trainOutput);
            Assert.False(File.Exists(Path.Combine(run, "journal.db")));

            (int exitCode, string output, string error) = Cli.Run("replay", run, "--verify");

            Assert.True(exitCode == 0, error + output);
            Assert.Contains($"(search path {schema})", output, StringComparison.Ordinal);
            Assert.Contains("verify: 3 batches, 24 advantages recomputed, all bit-identical", output, StringComparison.Ordinal);
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await ExecuteAsync(server, $"DROP SCHEMA {schema} CASCADE");
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
