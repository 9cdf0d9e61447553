using System.Text.RegularExpressions;

namespace Basis.Hocon.Tests;

public sealed partial class ReferenceConfTests
{
    private static string Reference => Path.Combine(TestPaths.HoconDirectory, "reference.conf");

    [Theory]
    [InlineData("local.conf")]
    [InlineData("ci.conf")]
    [InlineData("cluster.conf")]
    [InlineData("async.conf")]
    public void Each_profile_resolves_on_top_of_reference_and_sets_only_known_keys(string profile)
    {
        string path = Path.Combine(TestPaths.HoconDirectory, profile);
        HoconLoadSettings settings = Hocon.Settings(("BASIS_PG", "Host=db;Username=basis"), ("BASIS_CLUSTER_SECRET", "s3cret"));

        HoconConfig reference = HoconConfig.ParseFile(Reference, settings);
        HoconConfig layered = HoconConfig.LoadFiles([Reference, path], settings);
        HoconConfig alone = HoconConfig.LoadFiles([path], settings);

        foreach (string key in LeafKeys(alone.Root, ""))
        {
            Assert.True(reference.HasPath(key), $"{profile} sets '{key}', which is not in reference.conf");
        }

        Assert.Equal(LeafKeys(reference.Root, "").Order(), LeafKeys(layered.Root, "").Where(reference.HasPath).Order());
    }

    [Fact]
    public void Cluster_profile_reads_its_connection_and_secret_from_the_environment()
    {
        HoconConfig config = HoconConfig.LoadFiles(
            [Reference, Path.Combine(TestPaths.HoconDirectory, "cluster.conf")],
            Hocon.Settings(("BASIS_PG", "Host=db;Username=basis"), ("BASIS_CLUSTER_SECRET", "s3cret"), ("BASIS_ROLE", "rollout")));

        Assert.Equal("postgres", config.GetString("basis.journal.provider"));
        Assert.Equal("Host=db;Username=basis", config.GetString("basis.journal.connection-string"));
        Assert.Equal("Host=db;Username=basis", config.GetString("basis.cluster.connection-string"));
        Assert.Equal("s3cret", config.GetString("basis.cluster.secret"));
        Assert.Equal("rollout", config.GetString("basis.cluster.role"));
        Assert.Equal("runs/cluster", config.GetString("basis.run.run-dir"));
    }

    [Fact]
    public void Cluster_profile_without_a_database_names_the_missing_variable()
    {
        string cluster = Path.Combine(TestPaths.HoconDirectory, "cluster.conf");

        HoconException error = Assert.Throws<HoconException>(() => HoconConfig.LoadFiles([Reference, cluster], Hocon.Settings()));

        Assert.Contains("unresolved substitution ${BASIS_PG} in 'basis.journal.connection-string'", error.Message);
        Assert.StartsWith(cluster + ":", error.Message);
    }

    [Fact]
    public void Defaults_are_typed_and_derived_paths_follow_the_run_folder()
    {
        HoconConfig config = HoconConfig.LoadFiles([Reference, Path.Combine(TestPaths.HoconDirectory, "local.conf")], Hocon.Settings());

        Assert.Equal("Data Source=runs/local/journal.db", config.GetString("basis.journal.connection-string"));
        Assert.Equal(config.GetInt64("basis.run.seed"), config.GetInt64("basis.task.seed"));
        Assert.Equal(TimeSpan.FromMinutes(1), config.GetDuration("basis.graph.supervision.restart-window"));
        Assert.Equal(TimeSpan.FromMilliseconds(100), config.GetDuration("basis.graph.supervision.backoff-min"));
        Assert.Equal(1L << 20, config.GetBytes("basis.cluster.weights.chunk-size"));
        Assert.False(config.HasPath("basis.cluster.secret"));
        Assert.Equal("sqlite", config.GetString("basis.journal.provider"));
    }

    [Fact]
    public void Every_setting_in_reference_conf_has_a_comment()
    {
        string[] lines = File.ReadAllLines(Reference);
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].Trim();
            if (SettingLine().IsMatch(line))
            {
                Assert.True(line.Contains('#') || lines[i - 1].Trim().StartsWith('#'), $"reference.conf line {i + 1} has no comment: {line}");
            }
        }
    }

    private static IEnumerable<string> LeafKeys(HoconObject obj, string prefix)
    {
        foreach (var (key, value) in obj)
        {
            string path = prefix + key;
            if (value is HoconObject { Count: > 0 } child)
            {
                foreach (string leaf in LeafKeys(child, path + "."))
                {
                    yield return leaf;
                }
            }
            else
            {
                yield return path;
            }
        }
    }

    [GeneratedRegex(@"^[a-z][a-z0-9-]*\s*=")]
    private static partial Regex SettingLine();
}
