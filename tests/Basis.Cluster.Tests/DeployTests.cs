using Basis.Hocon;

namespace Basis.Cluster.Tests;

/// <summary>
/// deploy/ configures nodes two ways (docs/cluster.md): HOCON layers passed with --config, and
/// BASIS_* environment variables that the layers substitute. Every key either way must exist
/// in hocon/reference.conf, so a renamed setting cannot silently stop reaching the cluster.
/// </summary>
public sealed class DeployTests
{
    private static readonly string s_root = BasisProcess.RepositoryRoot;

    /// <summary>Every environment variable resolves to a marker naming it, so each key fed by one stays visible.</summary>
    private static readonly HoconLoadSettings s_markers = new() { EnvironmentVariables = name => $"<env:{name}>" };

    private static string Repo(string relative) => Path.Combine(s_root, relative.Replace('/', Path.DirectorySeparatorChar));

    private static HashSet<string> Paths(HoconObject root, string prefix = "")
    {
        var paths = new HashSet<string>(StringComparer.Ordinal);
        foreach ((string key, HoconValue value) in root)
        {
            string path = prefix.Length == 0 ? key : $"{prefix}.{key}";
            paths.Add(path);
            if (value is HoconObject child)
            {
                paths.UnionWith(Paths(child, path));
            }
        }

        return paths;
    }

    private static IEnumerable<(string Path, string Text)> Leaves(HoconObject root, string prefix = "")
    {
        foreach ((string key, HoconValue value) in root)
        {
            string path = prefix.Length == 0 ? key : $"{prefix}.{key}";
            if (value is HoconObject child)
            {
                foreach ((string, string) leaf in Leaves(child, path))
                {
                    yield return leaf;
                }
            }
            else
            {
                yield return (path, value.ToString() ?? string.Empty);
            }
        }
    }

    private static HashSet<string> ReferenceKeys() => Paths(HoconConfig.ParseFile(Repo("hocon/reference.conf"), s_markers).Root);

    private static List<object?> Yaml(string relative) => MiniYaml.ParseDocuments(File.ReadAllText(Repo(relative))).ToList();

    private static Dictionary<string, object?> Map(object? value) => Assert.IsType<Dictionary<string, object?>>(value);

    private static List<object?> List(object? value) => Assert.IsType<List<object?>>(value);

    private static IEnumerable<Dictionary<string, object?>> KubernetesDocuments() =>
        Directory.GetFiles(Repo("deploy/k8s"), "*.yaml").Order(StringComparer.Ordinal).SelectMany(f => MiniYaml.ParseDocuments(File.ReadAllText(f))).Select(Map);

    private static IEnumerable<Dictionary<string, object?>> Containers(Dictionary<string, object?> workload) =>
        List(Map(Map(Map(workload["spec"])["template"])["spec"])["containers"]).Select(Map);

    private static Dictionary<string, Dictionary<string, object?>> ComposeServices() =>
        Map(Map(Yaml("deploy/docker-compose.yml").Single())["services"]).ToDictionary(s => s.Key, s => Map(s.Value));

    /// <summary>(where, name) of every environment variable a deploy file sets for a Basis node.</summary>
    private static IEnumerable<(string Where, string Name)> EnvironmentSet()
    {
        foreach ((string service, Dictionary<string, object?> definition) in ComposeServices())
        {
            if (definition.TryGetValue("environment", out object? environment))
            {
                foreach (string name in Map(environment).Keys)
                {
                    yield return ($"docker-compose.yml service {service}", name);
                }
            }
        }

        foreach (Dictionary<string, object?> document in KubernetesDocuments().Where(d => d["kind"] is "Deployment" or "StatefulSet"))
        {
            foreach (Dictionary<string, object?> container in Containers(document))
            {
                if (container.TryGetValue("env", out object? env))
                {
                    foreach (Dictionary<string, object?> variable in List(env).Select(Map))
                    {
                        yield return ($"k8s {document["kind"]} {Map(document["metadata"])["name"]}", (string)variable["name"]!);
                    }
                }
            }
        }

        foreach (string line in File.ReadLines(Repo("deploy/Dockerfile")).Where(l => l.StartsWith("ENV ", StringComparison.Ordinal)))
        {
            yield return ("Dockerfile", line[4..].Split('=', ' ')[0]);
        }
    }

    /// <summary>The HOCON layers the deploy files pass after hocon/cluster.conf.</summary>
    private static readonly string[] s_layerFiles = ["deploy/basis-cluster.conf", "deploy/compose.conf", "deploy/kubernetes.conf"];

    /// <summary>Every HOCON layer a deploy file passes: the files under deploy/ and the ConfigMap's copies.</summary>
    private static IEnumerable<(string Where, string Text)> HoconLayers()
    {
        foreach (string file in s_layerFiles)
        {
            yield return (file, File.ReadAllText(Repo(file)));
        }

        foreach (Dictionary<string, object?> map in KubernetesDocuments().Where(d => d["kind"] is "ConfigMap"))
        {
            foreach ((string key, object? value) in Map(map["data"]).Where(d => d.Key.EndsWith(".conf", StringComparison.Ordinal)))
            {
                yield return ($"k8s ConfigMap {Map(map["metadata"])["name"]} {key}", (string)value!);
            }
        }
    }

    [Fact]
    public void Every_key_the_deploy_layers_set_exists_in_reference_conf()
    {
        HashSet<string> reference = ReferenceKeys();
        var layers = HoconLayers().ToList();
        Assert.Equal(5, layers.Count);
        foreach ((string where, string text) in layers)
        {
            HashSet<string> keys = Paths(HoconConfig.Parse(text, where, s_markers).Root);
            Assert.NotEmpty(keys);
            Assert.All(keys, key => Assert.True(reference.Contains(key), $"{where} sets {key}, which hocon/reference.conf does not have"));
        }

        // The ConfigMap holds copies of the files: the same keys with the same values.
        foreach (string file in new[] { "deploy/basis-cluster.conf", "deploy/kubernetes.conf" })
        {
            (string where, string text) copy = layers.Single(l => l.Where.EndsWith(" " + Path.GetFileName(file), StringComparison.Ordinal));
            Assert.Equal(
                Leaves(HoconConfig.Parse(File.ReadAllText(Repo(file)), file, s_markers).Root).Order(),
                Leaves(HoconConfig.Parse(copy.text, copy.where, s_markers).Root).Order());
        }
    }

    [Fact]
    public void Every_basis_environment_variable_the_deploy_files_set_feeds_a_key_of_reference_conf()
    {
        HashSet<string> reference = ReferenceKeys();
        List<(string Path, string Text)> leaves = s_layerFiles
            .Select(layer => HoconConfig.LoadFiles([Repo("hocon/reference.conf"), Repo("hocon/cluster.conf"), Repo(layer)], s_markers))
            .SelectMany(resolved => Leaves(resolved.Root))
            .ToList();
        var variables = EnvironmentSet().Where(v => v.Name.StartsWith("BASIS_", StringComparison.Ordinal)).ToList();

        Assert.Contains(variables, v => v.Name == "BASIS_CLUSTER_CERT");
        Assert.Contains(variables, v => v.Name == "BASIS_PG");
        foreach ((string where, string name) in variables.Where(v => v.Name != Hosting.ClusterActorSystem.PasswordVariable))
        {
            var fed = leaves.Where(l => l.Text.Contains($"<env:{name}>", StringComparison.Ordinal)).Select(l => l.Path).Distinct().ToList();
            Assert.True(fed.Count > 0, $"{where} sets {name}, but no configuration layer the nodes load substitutes it");
            Assert.All(fed, key => Assert.True(reference.Contains(key), $"{name} feeds {key}, which hocon/reference.conf does not have"));
        }

        // The certificate's password is the one variable the nodes read themselves: it never enters the configuration tree.
        Assert.DoesNotContain(leaves, l => l.Text.Contains($"<env:{Hosting.ClusterActorSystem.PasswordVariable}>", StringComparison.Ordinal));

        // Only the database, the image's own variables and ours: nothing else is set for a node.
        Assert.All(EnvironmentSet().Where(v => !v.Name.StartsWith("BASIS_", StringComparison.Ordinal)), v => Assert.True(
            v.Name.StartsWith("POSTGRES_", StringComparison.Ordinal) || v.Name == "PGDATA",
            $"{v.Where} sets {v.Name}: use a BASIS_* variable that hocon/cluster.conf substitutes, or a HOCON layer"));
    }

    [Fact]
    public void Compose_runs_postgres_one_learner_and_two_workers_on_layers_that_exist()
    {
        Dictionary<string, Dictionary<string, object?>> services = ComposeServices();
        Assert.Equal(["learner", "postgres", "worker-1", "worker-2"], services.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("train", List(services["learner"]["command"])[0]);
        Assert.All(new[] { "worker-1", "worker-2" }, w => Assert.Equal("worker", List(services[w]["command"])[0]));
        IEnumerable<List<object?>> commands = services.Values.Where(s => s.ContainsKey("command")).Select(s => List(s["command"]))
            .Concat(KubernetesDocuments().Where(d => d["kind"] is "Deployment" or "StatefulSet").SelectMany(Containers).Where(c => c.ContainsKey("args")).Select(c => List(c["args"])));
        foreach (List<object?> command in commands)
        {
            for (int i = 0; i + 1 < command.Count; i++)
            {
                if ((string?)command[i] == "--config")
                {
                    Assert.True(File.Exists(Repo((string)command[i + 1]!)), $"a deploy command loads {command[i + 1]}, which does not exist");
                }
            }
        }
    }

    [Fact]
    public void Kubernetes_runs_the_learner_as_a_stateful_set_and_rollout_nodes_with_one_slot_per_gpu_found_by_cluster_bootstrap()
    {
        var documents = KubernetesDocuments().ToList();
        Dictionary<string, object?> learner = documents.Single(d => d["kind"] is "StatefulSet" && (string?)Map(d["metadata"])["name"] == "basis-learner");
        Assert.Equal("1", Map(learner["spec"])["replicas"]);
        Assert.Equal("train", List(Containers(learner).Single()["args"])[0]);
        Assert.Contains(documents, d => d["kind"] is "StatefulSet" && (string?)Map(d["metadata"])["name"] == "basis-postgres");

        Dictionary<string, object?> rollout = documents.Single(d => d["kind"] is "Deployment");
        Dictionary<string, object?> worker = Containers(rollout).Single();
        string gpus = (string)Map(Map(worker["resources"])["limits"])["nvidia.com/gpu"]!;
        string slots = (string)List(worker["env"]).Select(Map).Single(e => (string?)e["name"] == "BASIS_SLOTS")["value"]!;
        Assert.Equal("worker", List(worker["args"])[0]);
        Assert.Equal(gpus, slots);

        // Cluster Bootstrap lists pods by the selector of deploy/kubernetes.conf; both workloads carry that label,
        // run as the service account that may list pods, and load the layer.
        HoconConfig kubernetes = HoconConfig.LoadFiles([Repo("hocon/reference.conf"), Repo("hocon/cluster.conf"), Repo("deploy/kubernetes.conf")], s_markers);
        Assert.Equal("bootstrap", kubernetes.GetString("basis.cluster.join"));
        Assert.Equal("kubernetes-api", kubernetes.GetString("akka.discovery.method"));
        string service = kubernetes.GetString("akka.management.cluster.bootstrap.contact-point-discovery.service-name");
        string[] selector = kubernetes.GetString("akka.discovery.kubernetes-api.pod-label-selector").Replace("{0}", service, StringComparison.Ordinal).Split('=');
        Dictionary<string, object?> account = documents.Single(d => d["kind"] is "ServiceAccount");
        Assert.Contains(documents, d => d["kind"] is "Role" && List(Map(List(d["rules"]).Single())["verbs"]).Contains("list"));
        foreach (Dictionary<string, object?> workload in new[] { learner, rollout })
        {
            Dictionary<string, object?> template = Map(Map(workload["spec"])["template"]);
            Assert.Equal(selector[1], Map(Map(template["metadata"])["labels"])[selector[0]]);
            Assert.Equal(Map(account["metadata"])["name"], Map(template["spec"])["serviceAccountName"]);
            Assert.Contains("deploy/kubernetes.conf", List(Containers(workload).Single()["args"]));
        }
    }

    [Fact]
    public void The_yaml_reader_reads_nested_sequences_literals_and_flow_lists()
    {
        const string text = """
            # comment
            a:
              b: "x # not a comment"
              list:
                - name: one
                  value: "1"
                - plain
              flow: ["p", q]
              text: |
                line 1
                  line 2
            c: {}
            ---
            d: e
            """;

        IReadOnlyList<object?> docs = MiniYaml.ParseDocuments(text);
        Dictionary<string, object?> a = Map(Map(docs[0])["a"]);
        Assert.Equal("x # not a comment", a["b"]);
        Assert.Equal("1", Map(List(a["list"])[0])["value"]);
        Assert.Equal("plain", List(a["list"])[1]);
        Assert.Equal(["p", "q"], List(a["flow"]));
        Assert.Equal("line 1\n  line 2\n", a["text"]);
        Assert.Empty(Map(Map(docs[0])["c"]));
        Assert.Equal("e", Map(docs[1])["d"]);
        Assert.Throws<FormatException>(() => MiniYaml.ParseDocuments("a: {b: c}"));
    }
}
