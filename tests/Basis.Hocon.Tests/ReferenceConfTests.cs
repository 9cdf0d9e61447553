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
        HoconLoadSettings settings = Hocon.Settings(("BASIS_PG", "Host=db;Username=basis"), ("BASIS_CLUSTER_CERT", "/certs/cluster.pfx"));

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
    public void Cluster_profile_takes_its_certificate_and_address_from_the_environment_and_never_a_password()
    {
        HoconConfig config = HoconConfig.LoadFiles(
            [Reference, Path.Combine(TestPaths.HoconDirectory, "cluster.conf")],
            Hocon.Settings(("BASIS_CLUSTER_CERT", "/certs/cluster.pfx"), ("BASIS_CLUSTER_CERT_PASSWORD", "s3cret"), ("BASIS_HOST", "10.0.0.7"), ("BASIS_NODE_ID", "w-3")));

        Assert.Equal("cluster", config.GetString("akka.actor.provider"));
        Assert.True(config.GetBoolean("akka.remote.dot-netty.tcp.enable-ssl"));
        Assert.Equal("/certs/cluster.pfx", config.GetString("akka.remote.dot-netty.tcp.ssl.certificate.path"));
        Assert.Equal(string.Empty, config.GetString("akka.remote.dot-netty.tcp.ssl.certificate.password"));
        Assert.Equal("10.0.0.7", config.GetString("akka.remote.dot-netty.tcp.hostname"));
        Assert.Equal(["akka.ssl.tcp://basis@127.0.0.1:4053"], config.GetStringList("akka.cluster.seed-nodes"));
        Assert.Equal("learner", config.GetString("akka.cluster.split-brain-resolver.keep-majority.role"));
        Assert.Equal("w-3", config.GetString("basis.cluster.node-id"));
        Assert.Equal("runs/cluster", config.GetString("basis.run.run-dir"));
        Assert.DoesNotContain("s3cret", config.ToJson(), StringComparison.Ordinal);
    }

    [Fact]
    public void Defaults_are_typed_and_derived_paths_follow_the_run_folder()
    {
        HoconConfig config = HoconConfig.LoadFiles([Reference, Path.Combine(TestPaths.HoconDirectory, "local.conf")], Hocon.Settings());

        Assert.Equal("Data Source=runs/local/journal.db", config.GetString("basis.journal.connection-string"));
        Assert.Equal(config.GetInt64("basis.run.seed"), config.GetInt64("basis.task.seed"));
        Assert.Equal(TimeSpan.FromMinutes(1), config.GetDuration("basis.graph.supervision.restart-window"));
        Assert.Equal(TimeSpan.FromMilliseconds(100), config.GetDuration("basis.graph.supervision.backoff-min"));
        Assert.Equal(64L << 10, config.GetBytes("basis.cluster.weights.chunk-size"));
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
