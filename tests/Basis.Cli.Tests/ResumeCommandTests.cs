using System.Text.Json;
using Microsoft.Data.Sqlite;
using Xunit;

namespace Basis.Cli.Tests;

/// <summary><c>basis train --resume RUN</c> in process: the saved configuration, a finished run, bad folders.</summary>
public sealed class ResumeCommandTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("basis-resume-cmd-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public void ResumingAFinishedRunFromItsSavedConfigurationRedoesNothing()
    {
        string run = Path.Combine(_directory, "run");
        Assert.Equal(0, Cli.Run("train", "--config", Cli.Profile("ci.conf"), "--run-dir", run).ExitCode);
        Assert.True(File.Exists(Path.Combine(run, "config.json")));
        string[] metrics = File.ReadAllLines(Path.Combine(run, "metrics.csv"));
        int events = CountEvents(run);

        (int exitCode, string output, string error) = Cli.Run("train", "--resume", run);

        Assert.True(exitCode == 0, error + output);
        Assert.Contains("[resume] resumed at step 3 of 3: snapshot after step 2, 0 later steps re-applied", output, StringComparison.Ordinal);
        Assert.DoesNotContain("[rl] step", output, StringComparison.Ordinal);
        Assert.Equal(events, CountEvents(run));
        Assert.Equal(metrics.Select(Unclocked), File.ReadAllLines(Path.Combine(run, "metrics.csv")).Select(Unclocked));
        using JsonDocument summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "summary.json")));
        Assert.Equal(3, summary.RootElement.GetProperty("steps").GetInt32());
        Assert.Equal(24, summary.RootElement.GetProperty("rollouts").GetInt64());
    }

    [Fact]
    public void ResumingAFolderThatDoesNotExistIsAClearError()
    {
        (int exitCode, _, string error) = Cli.Run("train", "--resume", Path.Combine(_directory, "nope"));

        Assert.Equal(1, exitCode);
        Assert.Contains("no such run folder", error, StringComparison.Ordinal);
    }

    /// <summary>A metrics row without its wall-clock columns (elapsed seconds, tokens per second).</summary>
    private static string Unclocked(string row)
    {
        string[] fields = row.Split(',');
        fields[2] = string.Empty;
        fields[11] = string.Empty;
        return string.Join(',', fields);
    }

    private static int CountEvents(string run)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(run, "journal.db")};Pooling=False");
        connection.Open();
        using SqliteCommand count = connection.CreateCommand();
        count.CommandText = "SELECT count(*) FROM journal";
        return Convert.ToInt32(count.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
