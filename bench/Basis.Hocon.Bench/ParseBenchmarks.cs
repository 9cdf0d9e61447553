using BenchmarkDotNet.Attributes;
using Basis.Hocon;

namespace Basis.Hocon.Bench;

/// <summary>
/// Parse + resolve of the Akka reference file (18 KB, target: under 5 ms warm) and of Basis's own layered
/// configuration (reference.conf + local.conf, files read from disk as the CLI does).
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class ParseBenchmarks
{
    private static readonly HoconLoadSettings s_settings = new() { EnvironmentVariables = _ => null };
    private string _akkaText = "";
    private string _akkaPath = "";
    private string _reference = "";
    private string _local = "";

    [GlobalSetup]
    public void Setup()
    {
        _akkaPath = FindUpwards(Path.Combine("data", "hocon-conformance", "akka-reference-test04.conf"));
        _akkaText = File.ReadAllText(_akkaPath);
        _reference = FindUpwards(Path.Combine("hocon", "reference.conf"));
        _local = Path.Combine(Path.GetDirectoryName(_reference)!, "local.conf");
    }

    [Benchmark(Baseline = true)]
    public HoconConfig AkkaReferenceFromText() => HoconConfig.Parse(_akkaText, "akka-reference-test04.conf", s_settings);

    [Benchmark]
    public HoconConfig AkkaReferenceFromFile() => HoconConfig.ParseFile(_akkaPath, s_settings);

    [Benchmark]
    public HoconConfig BasisReferencePlusLocal() => HoconConfig.LoadFiles([_reference, _local], s_settings);

    private static string FindUpwards(string relative)
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            string candidate = Path.Combine(directory.FullName, relative);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException($"cannot find {relative} above {AppContext.BaseDirectory}");
    }
}
