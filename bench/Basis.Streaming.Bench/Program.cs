using BenchmarkDotNet.Running;
using Basis.Streaming.Bench;

if (args.Length > 0 && args[0] == "throughput")
{
    return await ThroughputProgram.RunAsync(args);
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
