using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Xunit;

namespace Basis.Cli.Tests;

/// <summary><c>basis replay</c> on a real (tiny) training run's journal: verify, tamper detection, corruption, export.</summary>
public sealed class ReplayCommandTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("basis-replay-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public void VerifyRecomputesEveryAdvantageBitForBit()
    {
        string run = TrainTinyRun();

        (int exitCode, string output, string error) = Cli.Run("replay", run, "--verify");

        Assert.True(exitCode == 0, error);
        Assert.Contains("3 BatchFormed.v1", output);
        Assert.Contains("24 RolloutGenerated.v1", output);
        Assert.Contains("verify: 3 batches, 24 advantages recomputed, all bit-identical", output);
    }

    [Fact]
    public void ATamperedAdvantageFailsVerification()
    {
        string run = TrainTinyRun();
        Rewrite(run, "BatchFormed.v1", payload =>
        {
            JsonObject json = JsonNode.Parse(payload)!.AsObject();
            JsonArray advantages = json.First(p => p.Key.Equals("advantages", StringComparison.OrdinalIgnoreCase)).Value!.AsArray();
            advantages[0] = advantages[0]!.GetValue<double>() + 1e-9;
            return json.ToJsonString();
        });

        (int exitCode, _, string error) = Cli.Run("replay", run, "--verify");

        Assert.Equal(1, exitCode);
        Assert.Contains("verify: 1 mismatches", error);
        Assert.Contains("step 0 slot 0", error);
    }

    [Fact]
    public void ACorruptRowStopsReplayNamingItsPersistenceIdAndSequenceNumber()
    {
        string run = TrainTinyRun();
        long sequence = Rewrite(run, "RewardAssigned.v1", _ => "{not json");

        (int exitCode, _, string error) = Cli.Run("replay", run);

        Assert.Equal(1, exitCode);
        Assert.Contains($"persistence id 'aggregator' at sequence number {sequence}", error);
        Assert.DoesNotContain("   at ", error);
    }

    [Fact]
    public void AJournalOfTheEarlierHomeMadeFormatIsRefusedInOneLine()
    {
        string run = Directory.CreateDirectory(Path.Combine(_directory, "old")).FullName;
        using (var connection = new SqliteConnection($"Data Source={Path.Combine(run, "journal.db")};Pooling=False"))
        {
            connection.Open();
            using SqliteCommand create = connection.CreateCommand();
            create.CommandText = """
                CREATE TABLE schema_version (version INTEGER NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL, description TEXT NOT NULL);
                CREATE TABLE journal (ordering INTEGER PRIMARY KEY AUTOINCREMENT, persistence_id TEXT NOT NULL, sequence_number INTEGER NOT NULL,
                    created INTEGER NOT NULL, manifest TEXT NOT NULL, payload BLOB NOT NULL, writer_uuid TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0);
                INSERT INTO schema_version VALUES (1, 0, 'journal, event_tag and snapshot tables');
                """;
            create.ExecuteNonQuery();
        }

        (int exitCode, _, string error) = Cli.Run("replay", run, "--verify");

        Assert.Equal(1, exitCode);
        Assert.Contains("written by an earlier basis in its own format", error);
        Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void ExportCsvWritesOneRowPerRollout()
    {
        string run = TrainTinyRun();
        string csv = Path.Combine(_directory, "out.csv");

        (int exitCode, string output, string error) = Cli.Run("replay", run, "--export", "csv", "--out", csv);

        Assert.True(exitCode == 0, error);
        Assert.Contains("export: 24 rows", output);
        string[] lines = File.ReadAllLines(csv);
        Assert.Equal(25, lines.Length);
        Assert.StartsWith("step,slot,prompt_id,", lines[0], StringComparison.Ordinal);
    }

    [Fact]
    public void AFolderWithoutAJournalIsAClearError()
    {
        (int exitCode, _, string error) = Cli.Run("replay", _directory);

        Assert.Equal(1, exitCode);
        Assert.Contains("journal.db does not exist", error);
    }

    private string TrainTinyRun()
    {
        string run = Path.Combine(_directory, "run");
        (int exitCode, _, string error) = Cli.Run("train", "--config", Cli.Profile("ci.conf"), "--run-dir", run);
        Assert.True(exitCode == 0, error);
        return run;
    }

    /// <summary>Rewrites the message of the first event with this manifest; returns its sequence number.</summary>
    private static long Rewrite(string run, string manifest, Func<string, string> change)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(run, "journal.db")};Pooling=False");
        connection.Open();
        using SqliteCommand select = connection.CreateCommand();
        select.CommandText = "SELECT ordering, message, sequence_number FROM journal WHERE manifest = $m ORDER BY ordering LIMIT 1";
        select.Parameters.AddWithValue("$m", manifest);
        long ordering;
        long sequence;
        string payload;
        using (SqliteDataReader reader = select.ExecuteReader())
        {
            Assert.True(reader.Read(), $"no {manifest} event");
            ordering = reader.GetInt64(0);
            payload = Encoding.UTF8.GetString((byte[])reader.GetValue(1));
            sequence = reader.GetInt64(2);
        }

        using SqliteCommand update = connection.CreateCommand();
        update.CommandText = "UPDATE journal SET message = $p WHERE ordering = $o";
        update.Parameters.AddWithValue("$p", Encoding.UTF8.GetBytes(change(payload)));
        update.Parameters.AddWithValue("$o", ordering);
        Assert.Equal(1, update.ExecuteNonQuery());
        return sequence;
    }
}
