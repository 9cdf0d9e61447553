using BenchmarkDotNet.Running;
using Basis.Model.Bench;

// "throughput --size small|medium --threads N" prints one JSON line (used by bench/compare-torch);
// anything else goes to BenchmarkDotNet (e.g. --filter '*Gemm*' --job short).
if (args.Length > 0 && args[0] == "throughput")
{
    return Throughput.Run(args[1..]);
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
