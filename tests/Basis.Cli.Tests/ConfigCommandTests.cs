using System.Text.Json;
using Xunit;

namespace Basis.Cli.Tests;

/// <summary>
/// <c>basis config render</c> end to end through the real command tree. hocon/reference.conf is found by walking up from
/// the test's base directory to the repository.
/// </summary>
public sealed class ConfigCommandTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("basis-config-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Render_without_files_prints_reference_defaults_as_json()
    {
        (int exitCode, string output, string error) = Cli.Run("config", "render");

        Assert.Equal(0, exitCode);
        Assert.Equal("", error);
        using JsonDocument json = JsonDocument.Parse(output);
        JsonElement basis = json.RootElement.GetProperty("basis");
        Assert.Equal("sqlite", basis.GetProperty("journal").GetProperty("provider").GetString());
        Assert.Equal(JsonValueKind.Number, basis.GetProperty("train").GetProperty("batch-size").ValueKind);
        Assert.Contains("\n  \"basis\": {", output.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void Later_files_override_earlier_ones_and_substitutions_see_all_layers()
    {
        string first = Write("first.conf", "basis.train.steps = 7\nbasis.run.run-dir = /first");
        string second = Write("second.conf", "basis.run.run-dir = /second\nbasis.train.note = ${basis.train.steps}\" steps\"");

        (int exitCode, string output, string error) = Cli.Run("config", "render", "--config", first, "--config", second);

        Assert.True(exitCode == 0, error);
        using JsonDocument json = JsonDocument.Parse(output);
        JsonElement basis = json.RootElement.GetProperty("basis");
        Assert.Equal(7, basis.GetProperty("train").GetProperty("steps").GetInt32());
        Assert.Equal("7 steps", basis.GetProperty("train").GetProperty("note").GetString());
        Assert.Equal("/second", basis.GetProperty("run").GetProperty("run-dir").GetString());
        Assert.Equal("Data Source=/second/journal.db", basis.GetProperty("journal").GetProperty("connection-string").GetString());
    }

    [Fact]
    public void A_bad_file_prints_file_line_column_to_stderr_and_exits_1()
    {
        string bad = Write("bad.conf", "basis {\n  train.steps = [1, 2\n}");

        (int exitCode, string output, string error) = Cli.Run("config", "render", "--config", bad);

        Assert.Equal(1, exitCode);
        Assert.Equal("", output);
        Assert.StartsWith($"basis config render: {bad}:3:1: ", error);
    }

    [Fact]
    public void A_missing_file_is_named()
    {
        string missing = Path.Combine(_directory, "nope.conf");

        (int exitCode, _, string error) = Cli.Run("config", "render", "--config", missing);

        Assert.Equal(1, exitCode);
        Assert.Contains($"{missing}: configuration file not found", error);
    }

    [Theory]
    [InlineData("config")]
    [InlineData("config", "render")]
    public void Help_describes_the_command(params string[] path)
    {
        (int exitCode, string output, _) = Cli.Run([.. path, "--help"]);

        Assert.Equal(0, exitCode);
        Assert.Contains(path.Length == 1 ? "render" : "--config", output);
    }

    private string Write(string name, string content)
    {
        string path = Path.Combine(_directory, name);
        File.WriteAllText(path, content);
        return path;
    }
}
