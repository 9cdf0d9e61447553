using BenchmarkDotNet.Running;
using Basis.Training.Bench;

// `noop [runs] [steps]`: rollouts per second through the training graph with a no-op model.
// `async [runs] [steps]`: generator busy fraction with the built-in transformer, staleness 1 and 2.
// Anything else goes to BenchmarkDotNet (e.g. --filter '*' --job short).
return args.FirstOrDefault() switch
{
    "noop" => await NoOpProgram.RunAsync(args),
    "async" => await AsyncBusyProgram.RunAsync(args),
    _ => RunBenchmarkDotNet(args),
};

static int RunBenchmarkDotNet(string[] args)
{
    BenchmarkSwitcher.FromAssembly(typeof(NoOpGraph).Assembly).Run(args);
    return 0;
}
