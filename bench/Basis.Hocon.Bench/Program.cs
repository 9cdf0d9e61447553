using BenchmarkDotNet.Running;

// `akka-parser`: Akka.NET's HOCON parser against the equivalence sets and ours (docs/configuration.md); else BenchmarkDotNet.
return args is ["akka-parser", ..]
    ? Basis.Hocon.Bench.AkkaParserComparison.Run()
    : RunBenchmarks(args);

static int RunBenchmarks(string[] args)
{
    BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    return 0;
}
