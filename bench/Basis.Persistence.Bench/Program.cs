using BenchmarkDotNet.Running;
using Basis.Persistence.Bench;

// `quick [sqlite|postgresql]` prints wall-clock and CPU figures without BenchmarkDotNet's process
// machinery; anything else goes to BenchmarkDotNet (e.g. --filter '*').
if (args is ["backend", string provider])
{
    await QuickBench.RunBackendAsync(provider);
    return;
}

if (args is ["quick", ..])
{
    await QuickBench.RunAsync(args.Length > 1 ? args[1..] : ["sqlite", "postgresql"]);
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
