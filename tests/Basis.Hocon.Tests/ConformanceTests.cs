using System.Text.Json;

namespace Basis.Hocon.Tests;

public sealed class ConformanceTests
{
    private static readonly HoconLoadSettings s_noEnvironment = new() { EnvironmentVariables = _ => null };

    /// <summary>Every top-level .conf/.json file of every equivNN folder; new folders are picked up automatically.</summary>
    public static TheoryData<string, string> EquivalenceFiles()
    {
        var data = new TheoryData<string, string>();
        foreach (string folder in Directory.GetDirectories(TestPaths.ConformanceDirectory, "equiv*").Order(StringComparer.Ordinal))
        {
            foreach (string file in Directory.GetFiles(folder).Order(StringComparer.Ordinal))
            {
                string name = Path.GetFileName(file);
                if (name != "original.json" && (name.EndsWith(".conf", StringComparison.Ordinal) || name.EndsWith(".json", StringComparison.Ordinal)))
                {
                    data.Add(Path.GetFileName(folder), name);
                }
            }
        }

        return data;
    }

    [Fact]
    public void Every_equivalence_folder_has_files_to_check()
    {
        string[] folders = Directory.GetDirectories(TestPaths.ConformanceDirectory, "equiv*");
        Assert.NotEmpty(folders);
        foreach (string folder in folders)
        {
            Assert.True(File.Exists(Path.Combine(folder, "original.json")), $"{folder} has no original.json");
            Assert.Contains(EquivalenceFiles(), row => row.Data.Item1 == Path.GetFileName(folder));
        }
    }

    [Theory]
    [MemberData(nameof(EquivalenceFiles))]
    public void File_resolves_to_the_same_tree_as_original_json(string folder, string file)
    {
        string directory = Path.Combine(TestPaths.ConformanceDirectory, folder);
        using JsonDocument expected = JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, "original.json")));

        HoconConfig actual = HoconConfig.ParseFile(Path.Combine(directory, file), s_noEnvironment);

        JsonTree.AssertEquivalent(expected.RootElement, actual.Root);
    }

    [Fact]
    public void Akka_reference_parses_with_its_values()
    {
        HoconConfig config = HoconConfig.ParseFile(Path.Combine(TestPaths.ConformanceDirectory, "akka-reference-test04.conf"), s_noEnvironment);

        Assert.Equal("2.0-SNAPSHOT", config.GetString("akka.version"));
        Assert.Empty(config.GetStringList("akka.enabled-modules"));
        Assert.Equal(["akka.event.Logging$DefaultLogger"], config.GetStringList("akka.event-handlers"));
        Assert.Equal(8, config.GetInt32("akka.event-handler-dispatcher.max-pool-size"));
        Assert.True(config.GetBoolean("akka.event-handler-dispatcher.allow-core-timeout"));
        Assert.Equal(3, config.GetInt32("akka.actor.deployment.\"/app/service-ping\".nr-of-instances"));
        Assert.Equal(["wallace:2552", "gromit:2552"], config.GetStringList("akka.actor.deployment.\"/app/service-ping\".remote.nodes"));
        Assert.Equal(8.0, config.GetDouble("akka.actor.default-dispatcher.core-pool-size-factor"));
        Assert.Equal(9223372036854775807L, config.GetInt64("akka.actor.mailbox.file-based.max-journal-size-absolute"));
        Assert.Equal(3000, config.GetInt32("akka.actor.mailbox.mongodb.timeout.read"));
        Assert.Equal("mongodb://localhost/akka.mailbox", config.GetString("akka.actor.mailbox.mongodb.uri"));
        Assert.False(config.GetBoolean("akka.remote.client.buffering.retry-message-send-on-failure"));
        Assert.Equal("1.0", config.GetString("akka.test.timefactor"));
        Assert.Equal(2552, config.GetInt32("akka.remote.server.port"));
        Assert.Equal(new HoconOrigin(Path.Combine(TestPaths.ConformanceDirectory, "akka-reference-test04.conf"), 16, 13), config.GetOrigin("akka.version"));
    }
}
